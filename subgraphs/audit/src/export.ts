import type { Request, Response } from 'express';
import { hotelsGranted, isGranted, sendHttpError } from '../../../lib/src/authz.js';
import type { AuditEvent, PrismaClient } from '../../../lib/src/db.js';
import { ErrorCode } from '../../../lib/src/errors.js';
import { UUID } from '../../../lib/src/validation.js';
import { READ_AUDIT } from './permissions.js';

const PAGE = 500;
const COLUMNS = ['sequence', 'occurredAt', 'actor', 'action', 'resourceType', 'resourceId', 'hotelId', 'correlationId', 'chain', 'chainSequence', 'hash', 'previousHash', 'details'] as const;

const row = (e: AuditEvent) => ({
  sequence: e.sequence.toString(),
  occurredAt: e.occurredAt.toISOString(),
  actor: e.actor,
  action: e.action,
  resourceType: e.resourceType,
  resourceId: e.resourceId,
  hotelId: e.hotelId,
  correlationId: e.correlationId,
  chain: e.chain,
  chainSequence: e.chainSequence.toString(),
  hash: e.hash,
  previousHash: e.prevHash,
  details: e.details,
});

/** RFC 4180: quote every field that needs it; details as JSON in one field. */
const csvField = (value: unknown) => {
  const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/**
 * `GET /internal/audit-export?hotelId=&format=jsonl|csv&since=&until=&action=` — the streamed export for
 * auditors (reached through the gateway's `GET /audit/export`, which adds the caller's internal token).
 * Same rules as `auditEvents`: a hotel the caller may read (AUDITOR / HOTEL_MANAGER of it, API keys with
 * audit:read, PLATFORM_ADMIN; without hotelId: PLATFORM_ADMIN only, every event). Rows stream in trail
 * order, read in pages of 500 by sequence (keyset), so memory stays flat whatever the size; a client that
 * goes away stops the reading.
 */
export function auditExportRoute(prisma: PrismaClient) {
  return async (req: Request, res: Response) => {
    const q = req.query as Record<string, string | undefined>;
    const format = q.format ?? 'jsonl';
    const bad = (message: string) => sendHttpError(req, res, 400, ErrorCode.BAD_USER_INPUT, message, 'audit');
    if (format !== 'jsonl' && format !== 'csv') return bad('format must be jsonl or csv');
    if (q.hotelId !== undefined && !UUID.test(q.hotelId)) return bad('hotelId must be a valid hotel ID');
    const since = q.since ? new Date(q.since) : undefined;
    const until = q.until ? new Date(q.until) : undefined;
    if ((since && Number.isNaN(since.getTime())) || (until && Number.isNaN(until.getTime()))) return bad('since and until must be ISO 8601 instants');
    if (q.action !== undefined && !/^[a-z_]+(\.[a-z_]+)+$/.test(q.action)) return bad('action must look like booking.created');
    const allowed = q.hotelId ? isGranted(req.principal, READ_AUDIT, q.hotelId) : hotelsGranted(req.principal, READ_AUDIT) === 'all';
    if (!allowed) {
      const anonymous = req.principal.kind === 'anonymous';
      return sendHttpError(req, res, anonymous ? 401 : 403, anonymous ? ErrorCode.UNAUTHENTICATED : ErrorCode.FORBIDDEN, q.hotelId ? 'Not allowed to export this hotel\'s audit trail' : 'Only PLATFORM_ADMIN may export the whole trail; give hotelId', 'audit');
    }

    let closed = false;
    req.on('close', () => (closed = true));
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    if (format === 'csv') res.write(`${COLUMNS.join(',')}\r\n`);
    let after = -1n;
    let count = 0;
    try {
      while (!closed) {
        const page = await prisma.auditEvent.findMany({
          where: {
            sequence: { gt: after },
            ...(q.hotelId ? { hotelId: q.hotelId } : {}),
            ...(q.action ? { action: q.action } : {}),
            ...(since || until ? { occurredAt: { ...(since ? { gte: since } : {}), ...(until ? { lt: until } : {}) } } : {}),
          },
          orderBy: { sequence: 'asc' },
          take: PAGE,
        });
        if (page.length === 0) break;
        const chunk = page
          .map((e) => {
            const r = row(e);
            return format === 'csv' ? `${COLUMNS.map((c) => csvField(r[c])).join(',')}\r\n` : `${JSON.stringify(r)}\n`;
          })
          .join('');
        count += page.length;
        after = page.at(-1)!.sequence;
        // Backpressure: wait for the socket to drain before reading the next page.
        if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
        if (page.length < PAGE) break;
      }
      req.log.info({ count, format, hotelId: q.hotelId ?? 'all' }, 'audit export');
      res.end();
    } catch (error) {
      // Headers are gone: the only honest signal left is a cut stream (the client sees no final newline).
      req.log.error({ err: error }, 'audit export failed midway');
      res.destroy(error as Error);
    }
  };
}
