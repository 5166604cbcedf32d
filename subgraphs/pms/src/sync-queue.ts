import DataLoader from 'dataloader';
import type { PmsSyncJob, Prisma, PrismaClient } from '../../../lib/src/db.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { oneByKey } from '../../../lib/src/loaders.js';
import { UUID } from '../../../lib/src/validation.js';

export interface SyncQueueOptions {
  /** Delay before a queued sync's first retry, doubled per failed attempt (ms). */
  initialDelayMs: number;
  /** Largest delay between two attempts (ms): the queue keeps retrying at this pace until the vendor is back. */
  maxDelayMs: number;
  /** How long a worker holds a claimed job before another replica may take it over (crashed worker). */
  leaseMs?: number;
}

/** A claimed job, as the worker runs it. */
export interface ClaimedJob {
  id: string;
  hotelId: string;
  attempts: number;
  correlationId: string | null;
}

/**
 * The PMS write queue (table `pms.sync_jobs`). A sync that could not reach the vendor is stored here and
 * retried with backoff until the vendor is back. At most one PENDING job per hotel: a sync pushes every
 * current booking of the hotel, so later requests coalesce into the waiting job instead of piling up.
 * Jobs are claimed with a lease (`FOR UPDATE SKIP LOCKED`), so several pms replicas never run the same
 * job at once and a crashed worker's job is picked up again when its lease ends.
 */
export class SyncQueue {
  private readonly leaseMs: number;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: SyncQueueOptions,
  ) {
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
  }

  /**
   * Queues a sync for the hotel, or joins the one already waiting; returns the waiting job. Runs in `tx`
   * when given (the caller's ERROR update commits with it). Two requests queueing the same hotel at once:
   * the insert skips on the one-pending-job-per-hotel index (ON CONFLICT DO NOTHING, which waits for the
   * other transaction instead of failing and aborting this one), and the other's job is joined.
   */
  async enqueue(hotelId: string, vendor: string, correlationId: string, reason: string, tx: Prisma.TransactionClient | PrismaClient = this.prisma): Promise<PmsSyncJob> {
    const waiting = await this.pending(hotelId, tx);
    if (waiting) return tx.pmsSyncJob.update({ where: { id: waiting.id }, data: { lastError: reason } });
    await tx.pmsSyncJob.createMany({
      data: [{ hotelId, vendor, correlationId, lastError: reason, nextAttemptAt: new Date(Date.now() + this.options.initialDelayMs) }],
      skipDuplicates: true,
    });
    const job = await this.pending(hotelId, tx);
    if (!job) throw new Error(`the PMS sync of hotel ${hotelId} could not be queued`);
    return job;
  }

  pending(hotelId: string, tx: Prisma.TransactionClient | PrismaClient = this.prisma): Promise<PmsSyncJob | null> {
    return tx.pmsSyncJob.findFirst({ where: { hotelId, status: 'PENDING' } });
  }

  /** Takes up to `limit` due jobs of this vendor, each under a lease, counting the attempt. */
  async claimDue(vendor: string, limit: number): Promise<ClaimedJob[]> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string; hotel_id: string; attempts: number; correlation_id: string | null }>>`
      UPDATE pms.sync_jobs
         SET locked_until = now() + (${this.leaseMs}::int * interval '1 millisecond'), attempts = attempts + 1, updated_at = now()
       WHERE id IN (SELECT id FROM pms.sync_jobs
                     WHERE status = 'PENDING' AND vendor = ${vendor} AND next_attempt_at <= now()
                       AND (locked_until IS NULL OR locked_until < now())
                     ORDER BY next_attempt_at LIMIT ${limit}::int FOR UPDATE SKIP LOCKED)
      RETURNING id, hotel_id, attempts, correlation_id`;
    return rows.map((r) => ({ id: r.id, hotelId: r.hotel_id, attempts: r.attempts, correlationId: r.correlation_id }));
  }

  /**
   * The vendor took the sync: the hotel's waiting job (whoever ran it) is done. Pass the transaction that
   * marks the connection ACTIVE, so no reader sees an ACTIVE connection with a sync still pending.
   */
  async completeFor(hotelId: string, tx: Prisma.TransactionClient | PrismaClient = this.prisma): Promise<number> {
    const { count } = await tx.pmsSyncJob.updateMany({
      where: { hotelId, status: 'PENDING' },
      data: { status: 'COMPLETED', completedAt: new Date(), lockedUntil: null, lastError: null },
    });
    return count;
  }

  /** Nothing to sync any more (connection gone or disabled). */
  cancel(id: string, reason: string): Promise<unknown> {
    return this.prisma.pmsSyncJob.update({ where: { id }, data: { status: 'CANCELLED', completedAt: new Date(), lockedUntil: null, lastError: reason } });
  }

  /** Another failed attempt: try again after an exponential backoff with equal jitter. */
  async reschedule(job: ClaimedJob, reason: string): Promise<Date> {
    const nextAttemptAt = new Date(Date.now() + this.backoffMs(job.attempts));
    await this.prisma.pmsSyncJob.update({ where: { id: job.id }, data: { nextAttemptAt, lockedUntil: null, lastError: reason } });
    return nextAttemptAt;
  }

  /** Jobs waiting for this vendor (metrics). */
  countPending(vendor: string): Promise<number> {
    return this.prisma.pmsSyncJob.count({ where: { vendor, status: 'PENDING' } });
  }

  /**
   * Delay after the n-th failed attempt: cap = initial × 2^(n-1), bounded by maxDelayMs, then half fixed +
   * half random (equal jitter) — replicas do not retry in lockstep, and `retryAt` is never "right now".
   */
  backoffMs(attempts: number): number {
    const cap = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** Math.max(0, Math.min(attempts - 1, 20)));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }
}

/** Per request: the hotel's waiting sync, if any (PmsConnection.pendingSync). */
export const pendingSyncLoader = (prisma: PrismaClient) =>
  new DataLoader<string, PmsSyncJob | null>(async (hotelIds) => {
    const rows = await prisma.pmsSyncJob.findMany({ where: { hotelId: { in: hotelIds.filter((id) => UUID.test(id)) }, status: 'PENDING' } });
    return oneByKey(rows, hotelIds, (r) => r.hotelId);
  });

export interface SyncWorkerOptions {
  queue: SyncQueue;
  /** The vendor adapter this process serves: only its jobs are claimed. */
  vendor: string;
  /** Runs one job; resolves when the vendor took it, rejects to retry later. */
  run(job: ClaimedJob): Promise<'completed' | 'cancelled'>;
  pollIntervalMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** Jobs claimed per poll. */
  batchSize?: number;
}

/**
 * Drains the queue: every `pollIntervalMs` it claims the due jobs of its vendor and runs each through the
 * same sync (and the same vendor policy: while the circuit is open an attempt costs no vendor call).
 */
export class SyncWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly pendingGauge;
  private readonly outcomes;

  constructor(private readonly options: SyncWorkerOptions) {
    this.pendingGauge = options.metrics?.gauge('innkeep_pms_sync_queue_pending', 'PMS syncs waiting in the queue for the vendor', ['vendor'] as const);
    this.outcomes = options.metrics?.counter('innkeep_pms_sync_jobs_total', 'Queued PMS sync attempts by outcome: completed, rescheduled, cancelled', ['vendor', 'outcome'] as const);
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => {
        this.running = undefined;
        this.schedule(this.options.pollIntervalMs);
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    const { queue, vendor, logger } = this.options;
    try {
      const jobs = await queue.claimDue(vendor, this.options.batchSize ?? 5);
      for (const job of jobs) {
        if (this.stopped) break;
        const log = logger.child({ correlationId: job.correlationId ?? undefined, jobId: job.id, hotelId: job.hotelId });
        try {
          const outcome = await this.options.run(job);
          this.outcomes?.inc({ vendor, outcome });
          log.info({ attempts: job.attempts, outcome }, 'queued PMS sync finished');
        } catch (error) {
          const retryAt = await queue.reschedule(job, (error as Error).message ?? String(error));
          this.outcomes?.inc({ vendor, outcome: 'rescheduled' });
          log.warn({ attempts: job.attempts, retryAt, reason: (error as Error).message }, 'queued PMS sync failed; will retry');
        }
      }
      this.pendingGauge?.set({ vendor }, await queue.countPending(vendor));
    } catch (error) {
      logger.warn({ err: error }, 'PMS sync queue poll failed (database?); will retry');
    }
  }
}
