import DataLoader from 'dataloader';
import { z } from 'zod';
import type { HotelReach } from '../../../lib/src/authz.js';
import type { AuditEvent, Prisma, PrismaClient } from '../../../lib/src/db.js';
import { BadUserInputError } from '../../../lib/src/errors.js';
import { UUID, validateInput } from '../../../lib/src/validation.js';
import { oneByKey } from '../../../lib/src/loaders.js';

const MAX_PAGE = 200;

/** One event as producers send it (the audit stream's entries, `/internal/audit-events` bodies). */
export const auditEventInput = z.object({
  id: z.string().regex(UUID),
  occurredAt: z.iso.datetime({ offset: true }),
  actor: z.string().min(1).max(200),
  action: z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/),
  resourceType: z.string().min(1).max(100),
  resourceId: z.string().min(1).max(200),
  hotelId: z.string().regex(UUID).nullable(),
  correlationId: z.string().max(128).nullable(),
  details: z.record(z.string(), z.unknown()),
});

/** What producers may send to `/internal/audit-events`. */
export const ingestBody = z.object({ events: z.array(auditEventInput).min(1).max(1000) });

const filterInput = z
  .object({
    hotelId: z.string().regex(UUID, 'must be a valid hotel ID').nullish(),
    actor: z.string().max(200).nullish(),
    action: z.string().max(100).nullish(),
    resourceType: z.string().max(100).nullish(),
    resourceId: z.string().max(200).nullish(),
    since: z.date().nullish(),
    until: z.date().nullish(),
  })
  .nullish();

export interface AuditPageArgs {
  filter?: unknown;
  first?: number | null;
  after?: string | null;
}

export function createAuditLoaders(prisma: PrismaClient) {
  return {
    event: new DataLoader<string, AuditEvent | null>(async (ids) => {
      const rows = await prisma.auditEvent.findMany({ where: { id: { in: ids.filter((id) => UUID.test(id)) } } });
      return oneByKey(rows, ids, (r) => r.id);
    }),
  };
}
export type AuditLoaders = ReturnType<typeof createAuditLoaders>;

/** The trail: append (idempotent by event ID) and read. Rows are never updated or deleted. */
export interface AuditTrailOptions {
  /**
   * Called with the events a call really stored (in trail order), after they committed: a resend of
   * events already stored appends nothing and announces nothing.
   */
  onAppended?(events: AuditEvent[]): void;
}

export class AuditTrail {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: AuditTrailOptions = {},
  ) {}

  /** Appends events in the given order; an ID seen before is skipped, so a resend cannot duplicate. */
  async append(raw: unknown): Promise<{ received: number; appended: number }> {
    const { events } = ingestBody.parse(raw);
    const stored = await this.prisma.auditEvent.createManyAndReturn({
      data: events.map((e) => ({ ...e, occurredAt: new Date(e.occurredAt), details: e.details as object })),
      skipDuplicates: true,
    });
    if (stored.length) {
      try {
        this.options.onAppended?.([...stored].sort((a, b) => (a.sequence < b.sequence ? -1 : 1)));
      } catch {
        /* a live update never fails the committed append */
      }
    }
    return { received: events.length, appended: stored.length };
  }

  /**
   * Re-verifies one chain in the database (`audit.verify_chain`, migration 20261123200000): a hotel's, or
   * the platform chain for null. One SQL statement; the chain is read in chain order.
   */
  async verify(hotelId: string | null) {
    if (hotelId !== null && !UUID.test(hotelId)) throw new BadUserInputError([{ field: 'hotelId', message: 'must be a valid hotel ID' }]);
    const chain = hotelId ?? 'platform';
    const [row] = await this.prisma.$queryRaw<Array<{ checked_count: bigint; first_invalid_sequence: bigint | null }>>`
      SELECT checked_count, first_invalid_sequence FROM audit.verify_chain(${chain})`;
    const firstInvalidSequence = row?.first_invalid_sequence ?? null;
    return { chain, valid: firstInvalidSequence === null, checkedCount: Number(row?.checked_count ?? 0), firstInvalidSequence, verifiedAt: new Date() };
  }

  /** Newest first; `hotels` is what the caller may read (`'all'`, or events of these hotels only). */
  async page(args: AuditPageArgs, hotels: HotelReach) {
    const filter = validateInput(filterInput, args.filter, 'filter');
    const first = args.first ?? 50;
    if (first < 0 || first > MAX_PAGE) throw new BadUserInputError([{ field: 'first', message: `must be between 0 and ${MAX_PAGE}` }]);
    let before: bigint | undefined;
    if (args.after) {
      if (!/^\d{1,19}$/.test(args.after)) throw new BadUserInputError([{ field: 'after', message: 'is not a cursor returned by this API' }]);
      before = BigInt(args.after);
    }
    const empty = { nodes: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    if (hotels !== 'all' && (hotels.length === 0 || (filter?.hotelId && !hotels.includes(filter.hotelId)))) return empty;
    const where: Prisma.AuditEventWhereInput = {
      ...(hotels === 'all' ? {} : { hotelId: { in: [...hotels] } }),
      ...(filter?.hotelId ? { AND: [{ hotelId: filter.hotelId }] } : {}),
      ...(filter?.actor ? { actor: filter.actor } : {}),
      ...(filter?.action ? { action: filter.action } : {}),
      ...(filter?.resourceType ? { resourceType: filter.resourceType } : {}),
      ...(filter?.resourceId ? { resourceId: filter.resourceId } : {}),
      ...(filter?.since || filter?.until
        ? { occurredAt: { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) } }
        : {}),
    };
    const [rows, totalCount] = await Promise.all([
      this.prisma.auditEvent.findMany({
        where: { ...where, ...(before !== undefined ? { sequence: { lt: before } } : {}) },
        orderBy: { sequence: 'desc' },
        take: first + 1,
      }),
      this.prisma.auditEvent.count({ where }),
    ]);
    const nodes = rows.slice(0, first);
    const last = nodes.at(-1);
    return { nodes, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? last.sequence.toString() : null }, totalCount };
  }
}
