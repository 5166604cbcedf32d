import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RateLimitedError } from '../../../lib/src/errors.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import type { Limit, RateLimitSettings } from '../../../lib/src/rate-limit/settings.js';
import type { Count, CounterStore } from '../../../lib/src/rate-limit/store.js';
import { formatWindow } from '../../../lib/src/rate-limit/window.js';
import { sendRateLimited, setRateLimitHeaders } from './rate-limit-response.js';

export interface LoginLimitOptions {
  counters: CounterStore;
  settings(): RateLimitSettings;
  metrics: Metrics;
}

const hashed = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 32);

/**
 * POST /auth/login, counted before the password is checked:
 *  - `login` (default 5 / min) per email + client IP: guessing one account's password;
 *  - `loginPerIp` (default 30 / min) per client IP, whatever the email: password spraying, and the DoS
 *    guard proper, since every attempt costs a scrypt hash.
 * Successful and failed attempts count alike. No email reaches Redis or the logs: keys are hashes.
 */
export function loginLimit(options: LoginLimitOptions): RequestHandler {
  const refusals = options.metrics.counter('innkeep_rate_limit_refusals_total', 'Calls refused by a rate limit (field @rateLimit, login, PMS webhooks)', ['field', 'tier']);
  return async (req: Request, res: Response, next: NextFunction) => {
    const { login, loginPerIp } = options.settings();
    const body = req.body as { email?: unknown } | undefined;
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    const ip = req.ip ?? '';
    let counts: Array<[Limit, Count]>;
    try {
      const [perAccount, perIp] = await Promise.all([
        options.counters.counter('login', login.max, login.windowSeconds).hit(hashed(`${email}\n${ip}`)),
        options.counters.counter('login-ip', loginPerIp.max, loginPerIp.windowSeconds).hit(hashed(ip)),
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
    setRateLimitHeaders(res, { limit: count.limit, remaining: count.remaining, resetSeconds: count.msBeforeReset / 1000 });
    if (!refused.length) return next();

    const retryAfter = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
    const perIp = limit === loginPerIp;
    refusals.inc({ field: 'POST /auth/login', tier: 'anonymous' });
    req.log.info({ field: 'POST /auth/login', per: perIp ? 'ip' : 'email+ip', retryAfter }, 'login attempts limited');
    const what = perIp ? 'from this address' : 'for this account from this address';
    sendRateLimited(
      req,
      res,
      new RateLimitedError(`Too many login attempts ${what}: at most ${limit.max} per ${formatWindow(limit.windowSeconds)}. Retry in ${retryAfter} s.`, retryAfter, {
        limit: limit.max,
        window: formatWindow(limit.windowSeconds),
      }),
    );
  };
}
