import DataLoader from 'dataloader';
import type { PmsConnection, PmsReservation, PrismaClient } from '../../../lib/src/db.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import type { EntityClient } from '../../../lib/src/entity-client.js';
import { BadUserInputError, NotFoundError, ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/logger.js';
import { failureOf, type PolicyFailureReason } from '../../../lib/src/policies.js';
import { pendingSyncLoader, type ClaimedJob, type SyncQueue } from './sync-queue.js';
import { VendorRejectedError, type VendorClient, type VendorReservation } from './vendor-client.js';
import type { VendorPolicies } from './vendor-policies.js';
import { oneByKey } from '../../../lib/src/loaders.js';
import { UUID } from '../../../lib/src/validation.js';
import { isAppError } from '../../../lib/src/errors.js';
import { v7 as uuidv7 } from 'uuid';

const PAGE = 100;
/** What pms needs from booking: the bookings (and guest names) of the hotel it syncs. */
export const BOOKINGS_READ_SCOPE = 'bookings:read';

interface BookingForPms {
  id: string;
  reference: string;
  status: string;
  checkIn: string;
  checkOut: string;
  guest: { name: string };
}

export function createPmsLoaders(prisma: PrismaClient) {
  return {
    connectionByHotel: new DataLoader<string, PmsConnection | null>(async (hotelIds) => {
      const rows = await prisma.pmsConnection.findMany({ where: { hotelId: { in: hotelIds.filter((id) => UUID.test(id)) } } });
      return oneByKey(rows, hotelIds, (r) => r.hotelId);
    }),
    reservationByBooking: new DataLoader<string, PmsReservation | null>(async (bookingIds) => {
      const rows = await prisma.pmsReservation.findMany({ where: { bookingId: { in: bookingIds.filter((id) => UUID.test(id)) } } });
      return oneByKey(rows, bookingIds, (r) => r.bookingId);
    }),
    pendingSyncByHotel: pendingSyncLoader(prisma),
  };
}
export type PmsLoaders = ReturnType<typeof createPmsLoaders>;

export interface PmsSyncDeps {
  prisma: PrismaClient;
  vendor: VendorClient;
  /** The vendor adapter this process speaks (PMS_VENDOR_NAME): connections of other vendors are not ours. */
  vendorName: string;
  /** One resilience policy per vendor × hotel (timeout, retry, breaker, bulkhead). */
  policies: VendorPolicies;
  /** Where syncs wait while the vendor is unreachable. */
  queue: SyncQueue;
  /** false (FALLBACKS_ENABLED=false): an unreachable vendor answers SERVICE_UNAVAILABLE and nothing is queued. */
  queueOnOutage: boolean;
  /** The booking subgraph, read through `_entities` (never its tables). */
  bookingsOwner: EntityClient;
  /** A synced booking counts as stale once the vendor has not confirmed it for this long. */
  staleAfterMs: number;
  logger: Logger;
  /** Told every step of every sync run (pmsSyncProgress); must not throw. */
  onProgress?(progress: PmsSyncProgress): void;
}

export type PmsSyncPhase = 'STARTED' | 'PROGRESS' | 'COMPLETED' | 'QUEUED' | 'FAILED';

/** One step of a sync run, as `pmsSyncProgress` subscribers receive it. */
export interface PmsSyncProgress {
  hotelId: string;
  syncId: string;
  phase: PmsSyncPhase;
  total: number;
  pushed: number;
  failed: number;
  reason: string | null;
  occurredAt: Date;
}

/** PROGRESS events per run at most (one per booking for small hotels, batches for big ones). */
const PROGRESS_EVENTS_PER_RUN = 50;

/**
 * The progress of one sync run (a syncReservations call, or one attempt of a queued sync), all under
 * one syncId: STARTED once the run knows how many bookings it pushes, PROGRESS as they are pushed, then
 * exactly one of COMPLETED / QUEUED / FAILED. A run that ends before it could count still says STARTED
 * first, so every watcher sees the same sequence.
 */
class SyncRun {
  readonly syncId = uuidv7();
  total = 0;
  pushed = 0;
  failed = 0;
  private started = false;
  private finished = false;
  private step = 1;

  constructor(
    private readonly hotelId: string,
    private readonly emit: ((progress: PmsSyncProgress) => void) | undefined,
  ) {}

  start(total: number): void {
    if (this.started) return;
    this.started = true;
    this.total = total;
    this.step = Math.max(1, Math.ceil(total / PROGRESS_EVENTS_PER_RUN));
    this.send('STARTED', null);
  }

  record(outcome: 'pushed' | 'failed'): void {
    this[outcome] += 1;
    const done = this.pushed + this.failed;
    if (done % this.step === 0 || done === this.total) this.send('PROGRESS', null);
  }

  finish(phase: 'COMPLETED' | 'QUEUED' | 'FAILED', reason: string | null): void {
    if (this.finished) return;
    this.start(this.total);
    this.finished = true;
    this.send(phase, reason);
  }

  private send(phase: PmsSyncPhase, reason: string | null): void {
    try {
      this.emit?.({ hotelId: this.hotelId, syncId: this.syncId, phase, total: this.total, pushed: this.pushed, failed: this.failed, reason, occurredAt: new Date() });
    } catch {
      /* progress is a courtesy to watchers: the sync goes on */
    }
  }
}

/** A reason fit for watchers: our coded errors say what happened; anything else stays in the logs. */
const reasonOf = (error: unknown) => (isAppError(error) || error instanceof VendorOutage ? (error as Error).message : 'internal error (see the pms logs)');

export type SyncRunStatus = 'COMPLETED' | 'QUEUED';
export interface SyncResult {
  status: SyncRunStatus;
  connection: PmsConnection;
  pushed: number;
  failed: number;
  syncedAt: Date;
  /** QUEUED: when the queued sync is tried next. */
  retryAt: Date | null;
  /** QUEUED: why the vendor could not take it now. */
  reason: string | null;
}

/** The vendor could not take the run (unreachable, 5xx, timeout, circuit open, overloaded). */
class VendorOutage extends Error {
  override name = 'VendorOutage';
  constructor(
    message: string,
    readonly pushed: number,
    readonly failed: number,
  ) {
    super(message);
  }
}

export class PmsSync {
  constructor(private readonly deps: PmsSyncDeps) {}

  /**
   * Whether a booking's PMS state may be out of date: never confirmed, the last push failed, the vendor
   * link is down (connection not ACTIVE, or this process's circuit for the hotel is not closed), or the
   * confirmation is older than PMS_STALE_AFTER_SECONDS. Reads never call the vendor: they serve the last
   * synced data and say how fresh it is.
   */
  isStale(reservation: PmsReservation, connection: PmsConnection | null, now = Date.now()): boolean {
    if (reservation.syncStatus !== 'SYNCED' || !reservation.syncedAt) return true;
    if (connection && this.vendorLinkDown(connection)) return true;
    return now - reservation.syncedAt.getTime() > this.deps.staleAfterMs;
  }

  /** Whether a connection's data (lastSyncAt) may be out of date, by the same rules. */
  isConnectionStale(connection: PmsConnection, now = Date.now()): boolean {
    if (this.vendorLinkDown(connection) || !connection.lastSyncAt) return true;
    return now - connection.lastSyncAt.getTime() > this.deps.staleAfterMs;
  }

  private vendorLinkDown(connection: PmsConnection): boolean {
    return connection.status !== 'ACTIVE' || !['closed', 'disabled'].includes(this.deps.policies.circuitState(connection.vendor, connection.hotelId));
  }

  /**
   * Pushes every current booking of the hotel to its vendor (idempotent upserts keyed by our reference)
   * and records each confirmation. When the vendor cannot take it (down, failing, hanging, circuit open),
   * the connection is marked ERROR and the sync is QUEUED: stored, retried by the worker with backoff
   * until the vendor is back, and said so in the answer (`status: QUEUED`, `retryAt`) — never dropped.
   * A booking the vendor refuses (4xx) is marked FAILED and the run goes on.
   */
  async syncReservations(hotelId: string, correlationId: string, log: Logger = this.deps.logger): Promise<SyncResult> {
    if (!UUID.test(hotelId)) throw new BadUserInputError([{ field: 'hotelId', message: 'must be a valid hotel ID' }]);
    const connection = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId } });
    if (!connection) throw new NotFoundError('PmsConnection', hotelId);
    if (connection.status === 'DISABLED') throw new BadUserInputError([{ field: 'hotelId', message: 'the PMS connection is disabled' }]);
    this.assertServed(connection);

    const syncedAt = new Date();
    const run = new SyncRun(hotelId, this.deps.onProgress);
    try {
      const { pushed, failed } = await this.push(connection, correlationId, log, run);
      const updated = await this.markSynced(connection, syncedAt, failed);
      await this.deps.queue.completeFor(hotelId);
      run.finish('COMPLETED', null);
      return { status: 'COMPLETED', connection: updated, pushed, failed, syncedAt, retryAt: null, reason: null };
    } catch (error) {
      if (!(error instanceof VendorOutage)) {
        run.finish('FAILED', reasonOf(error));
        throw error;
      }
      try {
        const updated = await this.deps.prisma.pmsConnection.update({ where: { hotelId }, data: { status: 'ERROR', lastError: error.message } });
        if (!this.deps.queueOnOutage) {
          log.warn({ hotelId, reason: error.message }, 'PMS sync stopped: vendor unavailable');
          throw new ServiceUnavailableError(`The PMS vendor is unavailable: ${error.message}`, { vendor: connection.vendor });
        }
        const job = await this.deps.queue.enqueue(hotelId, connection.vendor, correlationId, error.message);
        log.warn({ hotelId, reason: error.message, jobId: job.id, retryAt: job.nextAttemptAt }, 'PMS sync queued: vendor unavailable');
        run.finish('QUEUED', error.message);
        return { status: 'QUEUED', connection: updated, pushed: error.pushed, failed: error.failed, syncedAt, retryAt: job.nextAttemptAt, reason: error.message };
      } catch (stopped) {
        run.finish('FAILED', reasonOf(stopped));
        throw stopped;
      }
    }
  }

  /** The worker's turn at a queued sync: resolves when the vendor took it; throws to be retried later. */
  async runQueued(job: ClaimedJob, log: Logger = this.deps.logger): Promise<'completed' | 'cancelled'> {
    const run = new SyncRun(job.hotelId, this.deps.onProgress);
    const connection = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId: job.hotelId } });
    if (!connection || connection.status === 'DISABLED') {
      const reason = connection ? 'the PMS connection is disabled' : 'the PMS connection no longer exists';
      await this.deps.queue.cancel(job.id, reason);
      run.finish('FAILED', `queued sync cancelled: ${reason}`);
      return 'cancelled';
    }
    const syncedAt = new Date();
    try {
      const { failed } = await this.push(connection, job.correlationId ?? `pms-sync-job-${job.id}`, log, run);
      await this.markSynced(connection, syncedAt, failed);
      await this.deps.queue.completeFor(job.hotelId);
      run.finish('COMPLETED', null);
      return 'completed';
    } catch (error) {
      // Whatever failed, the worker reschedules the job: it is still queued.
      run.finish('QUEUED', reasonOf(error));
      if (error instanceof VendorOutage) {
        await this.deps.prisma.pmsConnection.update({ where: { hotelId: job.hotelId }, data: { status: 'ERROR', lastError: error.message } });
      }
      throw error;
    }
  }

  private assertServed(connection: PmsConnection): void {
    if (connection.vendor !== this.deps.vendorName) {
      throw new ServiceUnavailableError(`No adapter for PMS vendor ${connection.vendor} is configured`, { vendor: connection.vendor, reason: 'VENDOR_NOT_SERVED' });
    }
  }

  /** Every current booking → the vendor, each call through the vendor × hotel policy. */
  private async push(connection: PmsConnection, correlationId: string, log: Logger, run: SyncRun): Promise<{ pushed: number; failed: number }> {
    const policy = this.deps.policies.for(connection.vendor, connection.hotelId);
    let pushed = 0;
    let failed = 0;
    for await (const booking of this.currentBookings(connection.hotelId, correlationId, (total) => run.start(total))) {
      let confirmed: VendorReservation;
      try {
        // Retried (idempotent: true) because the vendor upserts by our reference: a repeat is a no-op.
        confirmed = await policy.run(
          (signal) =>
            this.deps.vendor.upsertReservation(
              connection.propertyCode,
              booking.reference,
              { bookingId: booking.id, status: booking.status, checkIn: booking.checkIn, checkOut: booking.checkOut, guestName: booking.guest.name },
              signal,
            ),
          { idempotent: true, log },
        );
      } catch (error) {
        if (error instanceof VendorRejectedError) {
          await this.recordReservation(connection.hotelId, booking.id, { syncStatus: 'FAILED', lastError: error.message });
          failed += 1;
          run.record('failed');
          continue;
        }
        // Anything else out of the vendor policy is the vendor being unreachable, failing, slow, or its
        // circuit open / bulkhead full: stop the run (the rest waits in the queue).
        const failure = failureOf(error, policy.name);
        throw new VendorOutage(describeOutage(failure?.reason ?? 'FAILED', error), pushed, failed);
      }
      await this.recordReservation(connection.hotelId, booking.id, { externalId: confirmed.externalId, syncStatus: 'SYNCED', syncedAt: new Date(), lastError: null });
      pushed += 1;
      run.record('pushed');
    }
    run.start(0);
    return { pushed, failed };
  }

  private markSynced(connection: PmsConnection, syncedAt: Date, failed: number): Promise<PmsConnection> {
    return this.deps.prisma.pmsConnection.update({
      where: { hotelId: connection.hotelId },
      data: { status: 'ACTIVE', lastSyncAt: syncedAt, lastError: failed ? `${failed} booking(s) refused by the vendor` : null },
    });
  }

  private recordReservation(hotelId: string, bookingId: string, data: Partial<Pick<PmsReservation, 'externalId' | 'syncStatus' | 'syncedAt' | 'lastError'>>) {
    return this.deps.prisma.pmsReservation.upsert({
      where: { bookingId },
      create: { bookingId, hotelId, syncStatus: 'PENDING', ...data },
      update: data,
    });
  }

  /**
   * Bookings whose stay has not ended, page by page, from the booking subgraph's Hotel entity — read as
   * pms's service principal with bookings:read for this one hotel only.
   */
  private async *currentBookings(hotelId: string, correlationId: string, onTotal: (total: number) => void): AsyncGenerator<BookingForPms> {
    const from = new Date().toISOString().slice(0, 10);
    const reader = servicePrincipal('pms', [BOOKINGS_READ_SCOPE], [hotelId]);
    let after: string | null = null;
    do {
      const afterArg: string = after ? `, after: ${JSON.stringify(after)}` : '';
      const [hotel] = await this.deps.bookingsOwner.fetch<{ bookings: { nodes: BookingForPms[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } }>(
        [{ __typename: 'Hotel', id: hotelId }],
        `... on Hotel { bookings(first: ${PAGE}${afterArg}, filter: { from: ${JSON.stringify(from)} }) { nodes { id reference status checkIn checkOut guest { name } } pageInfo { hasNextPage endCursor } totalCount } }`,
        correlationId,
        reader,
      );
      if (!hotel) return;
      // The run's size, known from the first page (sync progress: STARTED).
      if (!after) onTotal(hotel.bookings.totalCount);
      yield* hotel.bookings.nodes;
      after = hotel.bookings.pageInfo.hasNextPage ? hotel.bookings.pageInfo.endCursor : null;
    } while (after);
  }
}

/** The connection's `lastError` / the QUEUED answer's `reason`, in plain words. */
function describeOutage(reason: PolicyFailureReason, error: unknown): string {
  switch (reason) {
    case 'CIRCUIT_OPEN':
      return 'PMS vendor circuit open (recent calls failed); waiting before the next try';
    case 'BULKHEAD_FULL':
      return 'PMS vendor busy: too many calls in flight for this hotel';
    case 'TIMEOUT':
    case 'DEADLINE':
      return (error as Error).message.replace(/^pms:\S+/, 'PMS vendor');
    default:
      return (error as Error).message;
  }
}
