import { createHash } from 'node:crypto';
import type { AuditFact, RawExecutor } from '../../../lib/src/audit-outbox.js';

/** Audit actions of the gateway's identity (docs/security.md "What is audited"). */
export type AuthAuditAction =
  | 'auth.login_succeeded'
  | 'auth.login_failed'
  | 'auth.logout'
  | 'auth.refresh_token_reused'
  | 'api_key.created'
  | 'api_key.rotated'
  | 'api_key.revoked';

export interface AuthAuditEvent {
  actor: string;
  action: AuthAuditAction;
  resourceType: 'User' | 'ApiKey';
  resourceId: string;
  /** A hotel when the event belongs to exactly one (its chain); else the platform chain. */
  hotelId?: string | null;
  correlationId?: string | null;
  /** Facts only: never a password, token, secret or email (emailHash instead). */
  details?: Record<string, unknown>;
}

/** Who, on whose behalf: what the routes and resolvers pass down for the audit trail. */
export interface AuditMeta {
  correlationId?: string;
}

/**
 * The gateway's audit producer — its AuditOutbox on `identity.outbox` (lib/src/audit-outbox.ts), shipped
 * by its relay, so an audit outage never blocks a login. Writes that change something (API keys) pass
 * their transaction `tx`: the event commits with the change. Sign-ins and failed sign-ins change nothing of
 * ours, so their event is its own write — if the database cannot take it the sign-in fails with it (no
 * silent gap). Besides its own actions, the gateway records lib's shared ones (`authz.denied`,
 * `config.rate_limits_reloaded`).
 */
export interface AuthAudit {
  record(event: AuthAuditEvent | AuditFact, tx?: RawExecutor): Promise<unknown>;
}

/** Correlates attempts on one account without keeping the address: a short SHA-256 of the lowercase email. */
export const emailHash = (email: string) => createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex').slice(0, 16);

/** The chain an event of these hotels belongs to: the hotel's when exactly one, else the platform's. */
export const singleHotel = (hotelIds: readonly string[]) => (hotelIds.length === 1 ? hotelIds[0]! : null);
