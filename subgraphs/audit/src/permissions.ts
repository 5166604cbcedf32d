import { allow, authRule, capability, definePermissions, deniedError, hasCapability, isGranted, type Grant } from '../../../lib/src/authz.js';
import type { Principal } from '../../../lib/src/identity.js';
import type { AuditEvent } from '../../../lib/src/db.js';
import type { AuditContext } from './resolvers.js';

/**
 * Who may read the audit trail (GUIDE §3): AUDITOR and HOTEL_MANAGER for their hotels, API keys with
 * audit:read for theirs, PLATFORM_ADMIN everything (events without a hotel: PLATFORM_ADMIN only).
 * Writing is not GraphQL: `/internal/audit-events` takes service principals with audit:write only
 * (server.ts).
 *
 * Decisions: a missing capability answers UNAUTHENTICATED (anonymous) or FORBIDDEN; lists only ever hold
 * events of the caller's hotels — a filter on another hotel is simply empty — and `_entities` answers null
 * for an event the caller may not see, as for one that does not exist.
 * Live: auditEventRecorded is narrower than reading, as its SDL says — AUDITOR (of their hotels) and
 * PLATFORM_ADMIN only (WATCH_AUDIT). With hotelId: that hotel's events, refused (FORBIDDEN / UNAUTHENTICATED)
 * for anyone else at subscribe time (`mayWatchAudit`). Without: PLATFORM_ADMIN gets every event, an
 * AUDITOR only those of their hotels (filtered per event, `isWatchable`). Every event is checked again by
 * the rules below (and `AuditEvent` keeps `readEvent`).
 */

export const READ_AUDIT: Grant = { roles: ['AUDITOR', 'HOTEL_MANAGER'], scopes: ['audit:read'] };
export const WATCH_AUDIT: Grant = { roles: ['AUDITOR'] };

/** `true`, or the coded refusal (subscribe resolver; the rule below per event). */
export function mayWatchAudit(p: Principal, hotelId: string | null | undefined): true | Error {
  const allowed = hotelId == null ? hasCapability(p, WATCH_AUDIT) : isGranted(p, WATCH_AUDIT, hotelId);
  return allowed || deniedError(p, 'the live audit trail');
}

/** Per event of a feed: an event without a hotel is PLATFORM_ADMIN's only. */
export const isWatchable = (p: Principal, event: Pick<AuditEvent, 'hotelId'>) => isGranted(p, WATCH_AUDIT, event.hotelId);

type Ctx = AuditContext;

export const isEventVisible = (ctx: Ctx, event: Pick<AuditEvent, 'hotelId'>) => isGranted(ctx.principal, READ_AUDIT, event.hotelId);

const mayReadAudit = capability<Ctx>('mayReadAudit', READ_AUDIT);
const auditFeed = authRule<Ctx>('auditFeed', 'no_cache', (event: AuditEvent, { hotelId }: { hotelId?: string | null }, ctx) => {
  const verdict = mayWatchAudit(ctx.principal, hotelId);
  if (verdict !== true) return verdict;
  const matches = hotelId == null || event?.hotelId === hotelId;
  return (matches && isWatchable(ctx.principal, event)) || deniedError(ctx.principal, 'the live audit trail');
});

/** A hotel's chain: who may read its trail; the platform chain (no hotelId): PLATFORM_ADMIN only. */
const verifyChain = authRule<Ctx>('verifyChain', 'no_cache', (_parent: unknown, { hotelId }: { hotelId?: string | null }, ctx) =>
  isGranted(ctx.principal, READ_AUDIT, hotelId ?? null) || deniedError(ctx.principal, 'this audit chain'),
);

const readEvent = authRule<Ctx>('readEvent', (event: AuditEvent) => event.id, (event: AuditEvent, _args, ctx) => isEventVisible(ctx, event));

export const permissions = definePermissions(
  {
    Query: {
      auditEvents: mayReadAudit,
      auditIntegrity: verifyChain,
      _service: allow,
      _entities: allow,
    },
    Subscription: { auditEventRecorded: auditFeed },
    AuditEvent: readEvent,
    AuditEventConnection: allow,
    AuditIntegrity: allow,
    PageInfo: allow,
    Hotel: allow,
    _Service: allow,
  },
  { service: 'audit' },
);
