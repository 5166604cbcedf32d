import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { sendHttpError } from '../../lib/src/authz.js';
import { CORRELATION_HEADER } from '../../lib/src/correlation.js';
import { ErrorCode } from '../../lib/src/errors.js';

/** Request headers a signed delivery needs at the pms subgraph; nothing else is passed on (no cookies, no auth). */
const PASSED_HEADERS = ['content-type', 'innkeep-webhook-timestamp', 'innkeep-webhook-signature'] as const;
const VENDOR_NAME = /^[a-z0-9_-]{1,40}$/;

export interface PmsWebhookProxyOptions {
  /** The pms subgraph's base URL (its /graphql URL works too: only the origin is used). */
  pmsUrl: string;
  /** Largest body passed on (PMS_WEBHOOK_BODY_LIMIT); larger ones are refused here with 413. */
  bodyLimit: string;
  /** How long the pms subgraph may take to answer (ms). */
  timeoutMs: number;
}

/**
 * `POST /webhooks/pms/:vendor` — vendors' signed webhooks, passed byte for byte to the pms subgraph, which
 * verifies the signature, the window and the event ID, and audits every refusal (docs/pms-webhooks.md).
 * No user authentication and no client budget here: vendors authenticate by signature, and a user's token
 * would mean nothing to pms. The edge hardening (security headers, CORS) and a small body limit apply. The
 * body is read raw (this route is mounted before the JSON parser): re-encoding it would break the HMAC.
 */
export function pmsWebhookProxy(options: PmsWebhookProxyOptions): RequestHandler[] {
  const rawBody = express.raw({ type: () => true, limit: options.bodyLimit });
  const forward = async (req: Request, res: Response, _next: NextFunction) => {
    const vendor = String(req.params.vendor);
    if (!VENDOR_NAME.test(vendor)) return sendHttpError(req, res, 404, ErrorCode.NOT_FOUND, 'No such webhook vendor', 'gateway');
    const headers: Record<string, string> = { [CORRELATION_HEADER]: req.correlationId };
    for (const name of PASSED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(new URL(`/webhooks/pms/${vendor}`, options.pmsUrl), {
        method: 'POST',
        headers,
        body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      req.log.warn({ err: error }, 'pms webhook: pms subgraph unreachable');
      res.setHeader('Retry-After', '5');
      return sendHttpError(req, res, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The pms service is unavailable; retry shortly', 'gateway', { retryable: true });
    }
    res.status(upstream.status);
    for (const name of ['content-type', 'retry-after', 'www-authenticate']) {
      const value = upstream.headers.get(name);
      if (value) res.setHeader(name, value);
    }
    res.send(Buffer.from(await upstream.arrayBuffer()));
  };
  return [rawBody, (req, res, next) => void forward(req, res, next)];
}
