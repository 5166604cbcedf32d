import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RateLimitedError } from '../../../lib/src/errors.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import type { RateLimitSettings } from '../../../lib/src/rate-limit/settings.js';
import type { Count, CounterStore } from '../../../lib/src/rate-limit/store.js';
import { formatWindow } from '../../../lib/src/rate-limit/window.js';
import { sendRateLimited, setRateLimitHeaders } from './rate-limit-response.js';

export interface WebhookLimitOptions {
  counters: CounterStore;
  settings(): RateLimitSettings;
  metrics: Metrics;
}

/**
 * POST /webhooks/pms/:vendor, counted per client IP before anything else (`webhookPerIp`, default
 * 600 / min): the route is public, and every delivery — a forged one too — costs an HMAC check and an
 * audit record at pms. Past the limit: 429 RATE_LIMITED with Retry-After, and the delivery never reaches
 * pms (a real vendor retries it later, as it would after a 503). The key is a hash of the IP.
 */
export function webhookLimit(options: WebhookLimitOptions): RequestHandler {
  const refusals = options.metrics.counter('innkeep_rate_limit_refusals_total', 'Calls refused by a rate limit (field @rateLimit, login, PMS webhooks)', ['field', 'tier']);
  return async (req: Request, res: Response, next: NextFunction) => {
    const { webhookPerIp: limit } = options.settings();
    let count: Count;
    try {
      const ip = createHash('sha256')
        .update(req.ip ?? '')
        .digest('base64url')
        .slice(0, 32);
      count = await options.counters.counter('webhook-ip', limit.max, limit.windowSeconds).hit(ip);
    } catch (error) {
      req.log.error({ err: error }, 'webhook deliveries could not be counted; delivery allowed');
      return next();
    }
    setRateLimitHeaders(res, { limit: count.limit, remaining: count.remaining, resetSeconds: count.msBeforeReset / 1000 });
    if (count.allowed) return next();
    const retryAfter = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
    refusals.inc({ field: 'POST /webhooks/pms', tier: 'anonymous' });
    req.log.info({ field: 'POST /webhooks/pms', retryAfter }, 'webhook deliveries limited');
    sendRateLimited(
      req,
      res,
      new RateLimitedError(`Too many webhook deliveries from this address: at most ${limit.max} per ${formatWindow(limit.windowSeconds)}. Retry in ${retryAfter} s.`, retryAfter, {
        limit: limit.max,
        window: formatWindow(limit.windowSeconds),
      }),
    );
  };
}
