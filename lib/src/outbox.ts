import type pg from 'pg';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface OutboxMessage {
  id: string;
  topic: string;
  payload: unknown;
}

export interface OutboxRelayOptions {
  pool: pg.Pool;
  /** Schema-qualified outbox table, e.g. `booking.outbox` (columns as in the init migration). */
  table: string;
  /** Ships a batch; must be idempotent by message ID (the relay may resend after a crash). */
  deliver(messages: OutboxMessage[]): Promise<void>;
  logger: Logger;
  batchSize?: number;
  /** Safety-net poll; writers also `kick()` the relay right after their commit. */
  pollIntervalMs?: number;
  maxBackoffMs?: number;
  /** innkeep_outbox_backlog / _delivered_total / _delivery_failures_total, labelled by table. */
  metrics?: Metrics;
}

/**
 * Transactional-outbox relay: producers insert a row in the same transaction as their change; this loop
 * ships undelivered rows in order and marks them delivered only after the receiver accepted them. Rows
 * are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas never ship the same row at once. While
 * the receiver is down, rows wait and the loop backs off exponentially.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly gauges;

  constructor(private readonly options: OutboxRelayOptions) {
    if (!/^[a-z_]+\.[a-z_]+$/.test(options.table)) throw new Error(`invalid outbox table name ${options.table}`);
    const metrics = options.metrics;
    this.gauges = metrics && {
      backlog: metrics.gauge('innkeep_outbox_backlog', 'Outbox rows not yet delivered (measured after each drain; grows while the receiver or Redis is down)', ['table']).labels({ table: options.table }),
      delivered: metrics.counter('innkeep_outbox_delivered_total', 'Outbox rows delivered', ['table']).labels({ table: options.table }),
      failures: metrics.counter('innkeep_outbox_delivery_failures_total', 'Failed outbox delivery attempts (a batch each)', ['table']).labels({ table: options.table }),
    };
    this.batchSize = options.batchSize ?? 100;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  start(): void {
    this.schedule(0);
  }

  /** Ask for a drain now (after a commit that wrote outbox rows). */
  kick(): void {
    if (this.failures === 0) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Rows not yet delivered (for health and metrics). */
  async backlog(): Promise<number> {
    const { rows } = await this.options.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.options.table} WHERE delivered_at IS NULL`);
    return Number(rows[0]?.n ?? 0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running) return this.schedule(50);
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
  }

  private async drain(): Promise<void> {
    let shipped: number;
    try {
      do {
        shipped = await this.shipOneBatch();
        this.gauges?.delivered.inc(shipped);
      } while (shipped === this.batchSize && !this.stopped);
      this.failures = 0;
      // A drain that ended on a short batch left nothing behind but rows written meanwhile.
      this.gauges?.backlog.set(shipped === this.batchSize ? await this.backlog() : 0);
      this.schedule(this.pollIntervalMs);
    } catch (error) {
      this.failures += 1;
      this.gauges?.failures.inc();
      this.gauges?.backlog.set(await this.backlog().catch(() => Number.NaN));
      const backoff = Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(this.failures, 10));
      this.options.logger.warn({ err: error, failures: this.failures, retryInMs: backoff, table: this.options.table }, 'outbox delivery failed; will retry');
      this.schedule(backoff);
    }
  }

  private async shipOneBatch(): Promise<number> {
    const client = await this.options.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxMessage>(
        `SELECT id, topic, payload FROM ${this.options.table}
          WHERE delivered_at IS NULL ORDER BY sequence LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      try {
        await this.options.deliver(rows);
      } catch (error) {
        await client.query(
          `UPDATE ${this.options.table} SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::uuid[])`,
          [rows.map((r) => r.id), String((error as Error).message ?? error).slice(0, 500)],
        );
        await client.query('COMMIT');
        throw error;
      }
      await client.query(
        `UPDATE ${this.options.table} SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
      await client.query('COMMIT');
      return rows.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
