import type pg from 'pg';
import { AUDIT_TOPIC, auditEvent, type AuditEventInput } from './audit-event.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { OutboxRelay, type OutboxMessage } from './outbox.js';

/** Something that runs raw SQL: the PrismaClient or the `tx` of `prisma.$transaction(async (tx) => …)`. */
export interface RawExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** One audit fact as a producer states it (ID and time are added here). */
export type AuditFact = Omit<AuditEventInput, 'id' | 'occurredAt' | 'hotelId' | 'correlationId' | 'details'> & {
  /** The hotel whose chain it belongs to; null/absent → the platform chain. */
  hotelId?: string | null;
  correlationId?: string | null;
  /** Facts only: never a secret, token, password or raw guest PII. */
  details?: Record<string, unknown>;
};

/** Anything that takes audit facts: a service's AuditOutbox, or the audit subgraph's own trail. */
export interface AuditRecorder {
  record(fact: AuditFact): Promise<unknown>;
}

/** The event a fact becomes (ID and time added, absent fields made explicit). */
export const auditEventOf = (fact: AuditFact): AuditEventInput =>
  auditEvent({
    actor: fact.actor,
    action: fact.action,
    resourceType: fact.resourceType,
    resourceId: fact.resourceId,
    hotelId: fact.hotelId ?? null,
    correlationId: fact.correlationId ?? null,
    details: fact.details ?? {},
  });

export interface AuditOutboxOptions {
  pool: pg.Pool;
  /** The service's outbox table, e.g. `pms.outbox` (columns as booking.outbox). */
  table: string;
  /** Ships a batch to the audit trail (Redis Stream, or HTTP in development): see audit-stream.ts. */
  deliver(messages: OutboxMessage[]): Promise<void>;
  logger: Logger;
  metrics?: Metrics;
  pollIntervalMs?: number;
  /** Releases what `deliver` holds (its Redis connection), after the relay stopped. */
  close?(): void;
}

/**
 * A service's audit producer: `record` writes the event to the service's outbox — inside the caller's
 * transaction when one is given, so the change and its audit event commit or roll back together — and
 * the relay ships outbox rows on in order, idempotently by event ID. An audit outage never blocks the
 * change; nothing is lost while the trail is unreachable.
 */
export class AuditOutbox implements AuditRecorder {
  readonly relay: OutboxRelay;

  constructor(private readonly options: AuditOutboxOptions) {
    this.relay = new OutboxRelay({
      pool: options.pool,
      table: options.table,
      logger: options.logger,
      deliver: options.deliver,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    });
  }

  /**
   * Writes one audit event. With `tx` (a Prisma transaction client) it is part of that transaction and the
   * relay is kicked by `afterCommit()`; without, it is its own write and shipped at once.
   */
  async record(fact: AuditFact, tx?: RawExecutor): Promise<AuditEventInput> {
    const event = auditEventOf(fact);
    await (tx ?? this.executor).$executeRawUnsafe(
      `INSERT INTO ${this.options.table} (id, topic, payload) VALUES ($1::uuid, $2, $3::jsonb)`,
      event.id,
      AUDIT_TOPIC,
      JSON.stringify(event),
    );
    if (!tx) this.relay.kick();
    return event;
  }

  /** After a transaction that recorded events committed: ship them now rather than at the next poll. */
  afterCommit(): void {
    this.relay.kick();
  }

  start(): void {
    this.relay.start();
  }

  async stop(): Promise<void> {
    await this.relay.stop();
    this.options.close?.();
  }

  backlog(): Promise<number> {
    return this.relay.backlog();
  }

  /** Writes outside a transaction go through the pool (same SQL, same table). */
  private readonly executor: RawExecutor = {
    $executeRawUnsafe: async (query, ...values) => (await this.options.pool.query(query, values)).rowCount ?? 0,
  };
}
