import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Limit } from '../../../lib/src/rate-limit/settings.js';
import { rateLimitRefusals, type Count } from '../../../lib/src/rate-limit/store.js';
import { hashedKey, refuseOverLimit, setRateLimitHeaders, stateOf, type EndpointLimitOptions } from './rate-limit-response.js';

/**
 * POST /auth/login, counted before the password is checked:
 *  - `login` (default 5 / min) per email + client IP: guessing one account's password;
 *  - `loginPerIp` (default 30 / min) per client IP, whatever the email: password spraying, and the DoS
 *    guard proper, since every attempt costs a scrypt hash.
 * Successful and failed attempts count alike. No email reaches Redis or the logs: keys are hashes.
 */
export function loginLimit(options: EndpointLimitOptions): RequestHandler {
  const refusals = rateLimitRefusals(options.metrics);
  return async (req: Request, res: Response, next: NextFunction) => {
    const { login, loginPerIp } = options.settings();
    const body = req.body as { email?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    const ip = req.ip ?? '';
    let counts: Array<[Limit, Count]>;
    try {
      const [perAccount, perIp] = await Promise.all([
        options.counters.counter('login', login.max, login.windowSeconds).hit(hashedKey(`${email}\n${ip}`)),
        options.counters.counter('login-ip', loginPerIp.max, loginPerIp.windowSeconds).hit(hashedKey(ip)),
      ]);
      counts = [[login, perAccount], [loginPerIp, perIp]];
    } catch (error) {
      req.log.error({ err: error }, 'login attempts could not be counted; attempt allowed');
      return next();
    }
    const refused = counts.filter(([, c]) => !c.allowed);
    // Refused: the limit that frees up last; allowed: the one closest to refusing (the per-account one on a tie).
    const [limit, count] = refused.length
      ? refused.reduce((a, b) => (b[1].msBeforeReset > a[1].msBeforeReset ? b : a))
      : counts.reduce((a, b) => (b[1].remaining < a[1].remaining ? b : a));
    setRateLimitHeaders(res, stateOf(count));
    if (!refused.length) return next();

    const perIp = limit === loginPerIp;
    refusals.inc({ field: 'POST /auth/login', tier: 'anonymous' });
    const retryAfter = refuseOverLimit(req, res, limit, count, `login attempts ${perIp ? 'from this address' : 'for this account from this address'}`);
    req.log.info({ field: 'POST /auth/login', per: perIp ? 'ip' : 'email+ip', retryAfter }, 'login attempts limited');
  };
}
