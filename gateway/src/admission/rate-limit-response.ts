import type { Request, Response } from 'express';
import { RateLimitedError } from '../../../lib/src/errors.js';

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
