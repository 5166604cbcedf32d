import { allow, authRule, capability, definePermissions, isGranted, type Grant } from '../../../lib/src/authz.js';
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
 * Subscriptions (none yet): an audit feed must apply `isGranted(READ_AUDIT, event.hotelId)` per event.
 */

export const READ_AUDIT: Grant = { roles: ['AUDITOR', 'HOTEL_MANAGER'], scopes: ['audit:read'] };

type Ctx = AuditContext;

export const isEventVisible = (ctx: Ctx, event: Pick<AuditEvent, 'hotelId'>) => isGranted(ctx.principal, READ_AUDIT, event.hotelId);

const mayReadAudit = capability<Ctx>('mayReadAudit', READ_AUDIT);
const readEvent = authRule<Ctx>('readEvent', (event: AuditEvent) => event.id, (event: AuditEvent, _args, ctx) => isEventVisible(ctx, event));

export const permissions = definePermissions(
  {
    Query: {
      auditEvents: mayReadAudit,
      _service: allow,
      _entities: allow,
    },
    AuditEvent: readEvent,
    AuditEventConnection: allow,
    PageInfo: allow,
    Hotel: allow,
    _Service: allow,
  },
  { service: 'audit' },
);
