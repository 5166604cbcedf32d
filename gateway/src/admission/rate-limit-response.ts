import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { RateLimitedError } from '../../../lib/src/errors.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import type { Limit, RateLimitSettings } from '../../../lib/src/rate-limit/settings.js';
import type { Count, CounterStore } from '../../../lib/src/rate-limit/store.js';
import { formatWindow } from '../../../lib/src/rate-limit/window.js';

/** What an endpoint limiter (login, webhooks) counts with: the shared counters and the limits in force. */
export interface EndpointLimitOptions {
  counters: CounterStore;
  /** The limits in force (re-read on SIGHUP). */
  settings(): RateLimitSettings;
  metrics: Metrics;
}

/** The numbers the X-RateLimit-* headers report: the window closest to refusing this client. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Seconds until that window resets. */
  resetSeconds: number;
}

/**
 * `X-RateLimit-Limit` (requests allowed in the window), `X-RateLimit-Remaining`, `X-RateLimit-Reset`
 * (seconds until the window resets — a delta, like `Retry-After` and the IETF RateLimit header draft;
 * not an epoch time).
 */
export function setRateLimitHeaders(res: Response, state: RateLimitState): void {
  res.setHeader('X-RateLimit-Limit', String(state.limit));
  res.setHeader('X-RateLimit-Remaining', String(Math.max(0, state.remaining)));
  res.setHeader('X-RateLimit-Reset', String(Math.max(0, Math.ceil(state.resetSeconds))));
}

/** A counter key that keeps what it counts (an email, an IP) out of Redis: a short SHA-256. */
export const hashedKey = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 32);

/** The X-RateLimit-* numbers of one count. */
export const stateOf = (count: Count): RateLimitState => ({ limit: count.limit, remaining: count.remaining, resetSeconds: count.msBeforeReset / 1000 });

/**
 * A refusal by one limit of an endpoint limiter (login, webhooks): 429 with `Retry-After` from the count,
 * the limit and its window in the extensions, "Too many <what>: at most N per <window>". Returns retryAfter.
 */
export function refuseOverLimit(req: Request, res: Response, limit: Limit, count: Count, what: string): number {
  const retryAfter = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
  const window = formatWindow(limit.windowSeconds);
  sendRateLimited(req, res, new RateLimitedError(`Too many ${what}: at most ${limit.max} per ${window}. Retry in ${retryAfter} s.`, retryAfter, { limit: limit.max, window }));
  return retryAfter;
}

/** A whole-request refusal: HTTP 429, `Retry-After`, and a GraphQL error body in the contract's shape (GUIDE §3). */
export function sendRateLimited(req: Request, res: Response, error: RateLimitedError): void {
  res
    .status(429)
    .set('Retry-After', String(error.extensions.retryAfter))
    .json({
      errors: [
        {
          message: error.message,
          extensions: { ...error.extensions, correlationId: req.correlationId, timestamp: new Date().toISOString(), service: 'gateway' },
        },
      ],
    });
}
