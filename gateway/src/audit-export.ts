import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { NextFunction, Request, Response } from 'express';
import { sendHttpError } from '../../lib/src/authz.js';
import { CORRELATION_HEADER } from '../../lib/src/correlation.js';
import { ErrorCode } from '../../lib/src/errors.js';
import type { InternalTokenSigner } from '../../lib/src/internal-token.js';

const PASSED_PARAMS = ['hotelId', 'format', 'since', 'until', 'action'] as const;

/**
 * `GET /audit/export?hotelId=…&format=jsonl|csv[&since=&until=&action=]` — the auditors' streamed export
 * (docs/api.md). Authenticated and budgeted like /graphql (the route is mounted behind the same
 * middleware); the audit subgraph applies the audit rules to the caller's internal token and streams the
 * rows; this handler pipes them through without buffering, and stops the upstream read when the client
 * goes away.
 */
export function auditExportProxy(options: { auditUrl: string; signer: InternalTokenSigner }) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    try {
      const url = new URL('/internal/audit-export', options.auditUrl);
      for (const name of PASSED_PARAMS) {
        const value = req.query[name];
        if (typeof value === 'string') url.searchParams.set(name, value);
      }
      const token = await options.signer.sign(req.principal, 'audit', req.correlationId, req.ip ? { clientIp: req.ip } : {});
      const upstream = await fetch(url, { headers: { authorization: `Bearer ${token}`, [CORRELATION_HEADER]: req.correlationId }, signal: controller.signal });
      res.status(upstream.status);
      for (const header of ['content-type', 'cache-control']) {
        const value = upstream.headers.get(header);
        if (value) res.setHeader(header, value);
      }
      if (upstream.ok) {
        const extension = url.searchParams.get('format') === 'csv' ? 'csv' : 'jsonl';
        res.setHeader('Content-Disposition', `attachment; filename="audit-${url.searchParams.get('hotelId') ?? 'all'}.${extension}"`);
      }
      if (!upstream.body) return void res.end();
      Readable.fromWeb(upstream.body as unknown as WebReadableStream).on('error', () => res.destroy()).pipe(res);
    } catch (error) {
      if (controller.signal.aborted) return;
      if (res.headersSent) return void res.destroy();
      req.log.warn({ err: error }, 'audit export: audit service unreachable');
      res.setHeader('Retry-After', '1');
      sendHttpError(req, res, 503, ErrorCode.SERVICE_UNAVAILABLE, 'The audit service is unavailable; retry shortly', 'audit', { retryable: true });
      void next;
    }
  };
}
