import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimitRefusals, type Count } from '../../../lib/src/rate-limit/store.js';
import { hashedKey, refuseOverLimit, setRateLimitHeaders, stateOf, type EndpointLimitOptions } from './rate-limit-response.js';

/**
 * POST /webhooks/pms/:vendor, counted per client IP before anything else (`webhookPerIp`, default
 * 600 / min): the route is public, and every delivery — a forged one too — costs an HMAC check and an
 * audit record at pms. Past the limit: 429 RATE_LIMITED with Retry-After, and the delivery never reaches
 * pms (a real vendor retries it later, as it would after a 503). The key is a hash of the IP.
 */
export function webhookLimit(options: EndpointLimitOptions): RequestHandler {
  const refusals = rateLimitRefusals(options.metrics);
  return async (req: Request, res: Response, next: NextFunction) => {
    const { webhookPerIp: limit } = options.settings();
    let count: Count;
    try {
      count = await options.counters.counter('webhook-ip', limit.max, limit.windowSeconds).hit(hashedKey(req.ip ?? ''));
    } catch (error) {
      req.log.error({ err: error }, 'webhook deliveries could not be counted; delivery allowed');
      return next();
    }
    setRateLimitHeaders(res, stateOf(count));
    if (count.allowed) return next();
    refusals.inc({ field: 'POST /webhooks/pms', tier: 'anonymous' });
    const retryAfter = refuseOverLimit(req, res, limit, count, 'webhook deliveries from this address');
    req.log.info({ field: 'POST /webhooks/pms', retryAfter }, 'webhook deliveries limited');
  };
}
