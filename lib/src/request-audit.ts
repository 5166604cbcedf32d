import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import type { AuditFact, AuditRecorder } from './audit-outbox.js';
import { deniedBy } from './authz.js';
import { ErrorCode } from './errors.js';
import { actorOf, isPlatformAdmin, type Principal } from './identity.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * What one subgraph request adds to the audit trail, decided once when its response is sent
 * (docs/security.md "What is audited"):
 *  - `authz.denied` — FORBIDDEN answers to an authenticated caller: ONE event per request, whatever the
 *    number of refused fields (paths deduplicated and capped). Anonymous refusals (UNAUTHENTICATED) are
 *    only counted (`innkeep_authz_denials_total`): they cost an attacker nothing, so auditing each would
 *    let anyone flood the trail.
 *  - `guest.pii_read` — staff reads of guest email / phone noted by resolvers (`PiiReads`): one event
 *    per hotel per request, IDs and field names only.
 *  - `admin.mutation` — every PLATFORM_ADMIN mutation, unless it succeeded and each of its root fields
 *    writes a more specific event with the admin as actor (`SubgraphDefinition.auditedMutations`).
 */
export interface RequestAuditOptions {
  service: string;
  audit: AuditRecorder;
  /** Mutation root fields whose success already writes a specific event with the caller as actor. */
  auditedMutations?: readonly string[];
  logger: Logger;
  metrics: Metrics;
}

/** What the plugin reads from the request context. */
export interface RequestAuditContext {
  principal: Principal;
  correlationId: string;
  piiReads?: PiiReads;
}

/** Caps keep one event small whatever the request asked for (the counts stay exact). */
const MAX_PATHS = 20;
const MAX_IDS = 100;

export function requestAuditPlugin<C extends RequestAuditContext>(options: RequestAuditOptions): ApolloServerPlugin<C> {
  const specific = new Set(options.auditedMutations ?? []);
  const denials = options.metrics.counter('innkeep_authz_denials_total', 'Authorization refusals (FORBIDDEN / UNAUTHENTICATED answers of rules), by principal kind', ['code', 'principal_kind']);
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue: ctx, operation, operationName, errors }) {
          if (!operation) return; // parse / validation failures: nothing was executed
          const request: RequestFacts = {
            principal: ctx.principal,
            correlationId: ctx.correlationId,
            service: options.service,
            operation: operationName ?? null,
            operationType: `${operation.operation}`,
            rootFields: rootFieldsOf(operation),
          };
          const refused = (errors ?? []).filter((e) => deniedBy(e.originalError) && isDenialCode(e.extensions?.code));
          for (const e of refused) denials.inc({ code: String(e.extensions?.code), principal_kind: ctx.principal.kind });
          const facts = [
            ...(ctx.principal.kind !== 'anonymous' ? denialFacts(request, refused.filter((e) => e.extensions?.code === ErrorCode.FORBIDDEN)) : []),
            ...(ctx.piiReads?.drain(request) ?? []),
            ...(shouldAuditAdminMutation(request, specific, errors) ? [adminMutationFact(request, errors ?? [])] : []),
          ];
          // The response waits for these writes (one outbox INSERT each): the trail never lags the answer.
          await Promise.all(
            facts.map((fact) =>
              options.audit.record(fact).catch((error: unknown) => options.logger.error({ err: error, action: fact.action, correlationId: ctx.correlationId }, 'audit event NOT recorded')),
            ),
          );
        },
      };
    },
  };
}

interface RequestFacts {
  principal: Principal;
  correlationId: string | null;
  service: string;
  operation: string | null;
  operationType: 'query' | 'mutation' | 'subscription';
  rootFields: string[];
}

const isDenialCode = (code: unknown) => code === ErrorCode.FORBIDDEN || code === ErrorCode.UNAUTHENTICATED;

const rootFieldsOf = (operation: OperationDefinitionNode) =>
  operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s.name.value] : []));

/** Who is acting, as every request event states it (roles and scopes, never an email). */
const principalFacts = ({ principal }: { principal: Principal }) => ({ principalKind: principal.kind, roles: principal.roles, scopes: principal.scopes });

/** A caller of exactly one hotel: that hotel's chain (its auditors see it); anyone else: the platform's. */
const chainOf = (p: Principal) => (p.hotelIds.length === 1 && !isPlatformAdmin(p) ? p.hotelIds[0]! : null);

/** One event for all refused fields of the request: field paths (list indexes as `[]`) and rules. */
function denialFacts(request: RequestFacts, refused: readonly GraphQLError[]): AuditFact[] {
  if (!refused.length) return [];
  const denied = refused.map((e) => ({
    path: (e.path ?? []).map((segment) => (typeof segment === 'number' ? '[]' : segment)).join('.'),
    rule: deniedBy(e.originalError)!,
  }));
  return [authzDeniedFact(request, denied)];
}

/** An `authz.denied` event: what was refused (deduplicated, capped) and who asked — never argument values. */
export function authzDeniedFact(
  request: Pick<RequestFacts, 'principal' | 'correlationId' | 'service' | 'operation' | 'operationType'> & { rootFields?: string[] },
  refused: ReadonlyArray<{ path: string; rule: string }>,
): AuditFact {
  const denied = [...new Map(refused.map((d) => [`${d.path}|${d.rule}`, d])).values()];
  return {
    actor: actorOf(request.principal),
    action: 'authz.denied',
    resourceType: 'Operation',
    resourceId: request.operation ?? (request.rootFields ?? denied.map((d) => d.path.split('.')[0])).join(','),
    hotelId: chainOf(request.principal),
    correlationId: request.correlationId,
    details: {
      service: request.service,
      operation: request.operation,
      operationType: request.operationType,
      denied: denied.slice(0, MAX_PATHS),
      deniedCount: refused.length,
      ...principalFacts(request),
    },
  };
}

function shouldAuditAdminMutation(request: RequestFacts, specific: ReadonlySet<string>, errors: readonly GraphQLError[] | undefined): boolean {
  if (request.operationType !== 'mutation' || !isPlatformAdmin(request.principal)) return false;
  return !!errors?.length || !request.rootFields.every((field) => specific.has(field));
}

function adminMutationFact(request: RequestFacts, errors: readonly GraphQLError[]): AuditFact {
  const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR)))];
  return {
    actor: actorOf(request.principal),
    action: 'admin.mutation',
    resourceType: 'Operation',
    resourceId: request.operation ?? request.rootFields.join(','),
    hotelId: null,
    correlationId: request.correlationId,
    details: { service: request.service, operation: request.operation, rootFields: request.rootFields, outcome: codes.length ? 'error' : 'ok', errorCodes: codes },
  };
}

/** One staff read of a guest's personal data (IDs and the field name: never the value). */
export interface PiiRead {
  hotelId: string;
  field: string;
  guestId: string;
  bookingId?: string;
}

/**
 * Staff reads of guest PII during one request, noted by resolvers and flushed by the plugin as one
 * `guest.pii_read` per hotel: a page of 50 bookings is one event, not 100.
 */
export class PiiReads {
  private readonly byHotel = new Map<string, { fields: Set<string>; guestIds: Set<string>; bookingIds: Set<string> }>();

  note(read: PiiRead): void {
    let hotel = this.byHotel.get(read.hotelId);
    if (!hotel) this.byHotel.set(read.hotelId, (hotel = { fields: new Set(), guestIds: new Set(), bookingIds: new Set() }));
    hotel.fields.add(read.field);
    hotel.guestIds.add(read.guestId);
    if (read.bookingId) hotel.bookingIds.add(read.bookingId);
  }

  /**
   * The events of the reads noted so far, forgetting them: operations of one batched HTTP request share
   * the context, so each flushes only what was noted since the last flush (never the same read twice).
   */
  drain(request: RequestFacts): AuditFact[] {
    const reads = [...this.byHotel];
    this.byHotel.clear();
    return reads.map(([hotelId, read]) => ({
      actor: actorOf(request.principal),
      action: 'guest.pii_read',
      resourceType: 'Hotel',
      resourceId: hotelId,
      hotelId,
      correlationId: request.correlationId,
      details: {
        service: request.service,
        operation: request.operation,
        fields: [...read.fields].sort(),
        guestCount: read.guestIds.size,
        guestIds: [...read.guestIds].slice(0, MAX_IDS),
        bookingIds: [...read.bookingIds].slice(0, MAX_IDS),
        truncated: read.guestIds.size > MAX_IDS || read.bookingIds.size > MAX_IDS,
        ...principalFacts(request),
      },
    }));
  }
}
