import DataLoader from 'dataloader';
import type { PmsConnection, PmsReservation, PrismaClient } from '../../../lib/src/db.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import type { EntityClient } from '../../../lib/src/entity-client.js';
import { BadUserInputError, NotFoundError, ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { AuditOutbox } from '../../../lib/src/audit-outbox.js';
import type { Logger } from '../../../lib/src/logger.js';
import { failureOf, type PolicyFailureReason } from '../../../lib/src/policies.js';
import { pendingSyncLoader, type ClaimedJob, type SyncQueue } from './sync-queue.js';
import { VendorAuthError, VendorRejectedError, type PmsConnector, type ReservationStatus, type VendorAccount, type VendorReservation } from './connectors/types.js';
import type { ConnectorRegistry } from './connectors/registry.js';
import type { CredentialsCipher } from './credentials.js';
import { pullVendorChanges } from './pull.js';
import type { VendorPolicies } from './vendor-policies.js';
import { oneByKey } from '../../../lib/src/loaders.js';
import { UUID } from '../../../lib/src/validation.js';
import { isAppError } from '../../../lib/src/errors.js';
import { SyncRun, type PmsSyncProgress } from './sync-run.js';

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
  /** The vendor adapters this process serves (PMS_ADAPTERS), chosen per connection by its `vendor`. */
  connectors: ConnectorRegistry;
  /** Opens (and re-seals after a key rotation) the connections' stored credentials. */
  cipher: CredentialsCipher;
  /** pms's audit producer: every sync's outcome is audited (pms.sync_completed / _queued / _failed). */
  audit: AuditOutbox;
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

export type { PmsSyncPhase, PmsSyncProgress } from './sync-run.js';

/** A reason fit for watchers: our coded errors say what happened; anything else stays in the logs. */
const reasonOf = (error: unknown) => (isAppError(error) || error instanceof VendorOutage ? (error as Error).message : 'internal error (see the pms logs)');

export type SyncRunStatus = 'COMPLETED' | 'QUEUED';
export interface SyncResult {
  status: SyncRunStatus;
  connection: PmsConnection;
  pushed: number;
  failed: number;
  /** Reservations the vendor reported changed since the saved cursor. */
  pulled: number;
  /** Vendor-side changes Innkeep disagreed with (pull.ts: Innkeep wins, the conflict is recorded). */
  conflicts: number;
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
    readonly counts: RunCounts,
  ) {
    super(message);
  }
}

interface RunCounts {
  pushed: number;
  failed: number;
  pulled: number;
  conflicts: number;
}

/** Who asked for a sync, for its audit event: a caller (actor + request), or the queue worker. */
export interface SyncTrigger {
  actor: string;
  correlationId: string;
  via: 'request' | 'queue';
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
   * One sync of the hotel with its vendor, through the connection's adapter: first pulls what changed at
   * the vendor since the saved cursor (pull.ts: resumable, idempotent, conflicts recorded — Innkeep wins),
   * then pushes every current booking (idempotent upserts keyed by our reference) and records each
   * confirmation. When the vendor cannot take it (down, failing, hanging, circuit open), the connection
   * is marked ERROR and the sync is QUEUED: stored, retried by the worker with backoff until the vendor is
   * back, and said so in the answer (`status: QUEUED`, `retryAt`) — never dropped. A booking the vendor
   * refuses (4xx) is marked FAILED and the run goes on. Refused credentials stop the run (not queued:
   * retrying cannot fix them). Every outcome is audited.
   */
  async syncReservations(hotelId: string, correlationId: string, log: Logger = this.deps.logger, actor = 'service:pms'): Promise<SyncResult> {
    if (!UUID.test(hotelId)) throw new BadUserInputError([{ field: 'hotelId', message: 'must be a valid hotel ID' }]);
    const connection = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId } });
    if (!connection) throw new NotFoundError('PmsConnection', hotelId);
    if (connection.status === 'DISABLED') throw new BadUserInputError([{ field: 'hotelId', message: 'the PMS connection is disabled' }]);
    const connector = this.connectorFor(connection);
    const account = await this.accountOf(connection);
    if (!account) throw new BadUserInputError([{ field: 'hotelId', message: 'the PMS connection has no vendor credentials: set them with updatePmsConnection' }]);

    const trigger: SyncTrigger = { actor, correlationId, via: 'request' };
    const syncedAt = new Date();
    const run = new SyncRun(hotelId, this.deps.onProgress);
    try {
      const counts = await this.exchange(connection, connector, account, correlationId, log, run);
      const updated = await this.markSynced(connection, syncedAt, counts, trigger);
      run.finish('COMPLETED', null);
      return { status: 'COMPLETED', connection: updated, ...counts, syncedAt, retryAt: null, reason: null };
    } catch (error) {
      if (error instanceof VendorAuthError) {
        await this.markFailed(connection, error.message, trigger);
        run.finish('FAILED', error.message);
        throw new ServiceUnavailableError(error.message, { vendor: connection.vendor, reason: 'PMS_VENDOR_AUTH_FAILED', retryable: false });
      }
      if (!(error instanceof VendorOutage)) {
        run.finish('FAILED', reasonOf(error));
        await this.auditOutcome(connection, 'pms.sync_failed', trigger, { reason: reasonOf(error) }).catch((e: unknown) => log.error({ err: e }, 'could not audit a failed PMS sync'));
        throw error;
      }
      try {
        // ERROR, the queued job and the audit event commit together: no reader sees an ERROR connection
        // without its pending sync (as markSynced completes the job with the ACTIVE update).
        const { updated, job } = await this.deps.prisma.$transaction(async (tx) => {
          const updated = await tx.pmsConnection.update({ where: { hotelId }, data: { status: 'ERROR', lastError: error.message } });
          if (!this.deps.queueOnOutage) {
            await this.auditOutcome(connection, 'pms.sync_failed', trigger, { reason: error.message, ...error.counts }, tx);
            return { updated, job: null };
          }
          const job = await this.deps.queue.enqueue(hotelId, connection.vendor, correlationId, error.message, tx);
          await this.auditOutcome(connection, 'pms.sync_queued', trigger, { reason: error.message, retryAt: job.nextAttemptAt.toISOString(), ...error.counts }, tx);
          return { updated, job };
        });
        this.deps.audit.afterCommit();
        if (!job) {
          log.warn({ hotelId, reason: error.message }, 'PMS sync stopped: vendor unavailable');
          throw new ServiceUnavailableError(`The PMS vendor is unavailable: ${error.message}`, { vendor: connection.vendor });
        }
        log.warn({ hotelId, reason: error.message, jobId: job.id, retryAt: job.nextAttemptAt }, 'PMS sync queued: vendor unavailable');
        run.finish('QUEUED', error.message);
        return { status: 'QUEUED', connection: updated, ...error.counts, syncedAt, retryAt: job.nextAttemptAt, reason: error.message };
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
    const trigger: SyncTrigger = { actor: 'service:pms', correlationId: job.correlationId ?? `pms-sync-job-${job.id}`, via: 'queue' };
    const account = connection && connection.status !== 'DISABLED' ? await this.accountOf(connection) : null;
    if (!connection || connection.status === 'DISABLED' || !account) {
      const reason = !connection ? 'the PMS connection no longer exists' : connection.status === 'DISABLED' ? 'the PMS connection is disabled' : 'the PMS connection has no vendor credentials';
      await this.deps.queue.cancel(job.id, reason);
      run.finish('FAILED', `queued sync cancelled: ${reason}`);
      return 'cancelled';
    }
    const syncedAt = new Date();
    try {
      const counts = await this.exchange(connection, this.connectorFor(connection), account, trigger.correlationId, log, run);
      await this.markSynced(connection, syncedAt, counts, trigger);
      run.finish('COMPLETED', null);
      return 'completed';
    } catch (error) {
      if (error instanceof VendorAuthError) {
        // Retrying cannot fix refused credentials: the job ends; the next sync after a fix starts afresh.
        await this.markFailed(connection, error.message, trigger);
        await this.deps.queue.cancel(job.id, error.message);
        run.finish('FAILED', error.message);
        return 'cancelled';
      }
      // Whatever else failed, the worker reschedules the job: it is still queued.
      run.finish('QUEUED', reasonOf(error));
      if (error instanceof VendorOutage) {
        await this.deps.prisma.pmsConnection.update({ where: { hotelId: job.hotelId }, data: { status: 'ERROR', lastError: error.message } });
      }
      throw error;
    }
  }

  /** The connection's adapter; a vendor this process does not serve is SERVICE_UNAVAILABLE (another replica's). */
  private connectorFor(connection: PmsConnection): PmsConnector {
    const connector = this.deps.connectors.get(connection.vendor);
    if (!connector) {
      throw new ServiceUnavailableError(`No adapter for PMS vendor ${connection.vendor} is configured`, { vendor: connection.vendor, reason: 'VENDOR_NOT_SERVED' });
    }
    return connector;
  }

  /**
   * The connection's decrypted credentials (null when none are stored). A row sealed with a previous key
   * is re-sealed with the current one on the way (key rotation, docs/pms.md).
   */
  private async accountOf(connection: PmsConnection): Promise<VendorAccount | null> {
    if (!connection.credentialsCiphertext) return null;
    const credentials = this.deps.cipher.open(connection.credentialsCiphertext, connection.hotelId);
    if (this.deps.cipher.needsReseal(connection.credentialsCiphertext)) {
      await this.deps.prisma.pmsConnection.updateMany({
        where: { hotelId: connection.hotelId, credentialsCiphertext: connection.credentialsCiphertext },
        data: { credentialsCiphertext: this.deps.cipher.seal(credentials, connection.hotelId) },
      });
    }
    return { connectionId: connection.id, propertyCode: connection.propertyCode, credentials };
  }

  /** Pull (vendor → us), then push (us → vendor), each vendor call through the vendor × hotel policy. */
  private async exchange(connection: PmsConnection, connector: PmsConnector, account: VendorAccount, correlationId: string, log: Logger, run: SyncRun): Promise<RunCounts> {
    const policy = this.deps.policies.for(connection.vendor, connection.hotelId);
    const bookings: BookingForPms[] = [];
    for await (const booking of this.currentBookings(connection.hotelId, correlationId, (total) => run.start(total))) bookings.push(booking);
    run.start(0);

    const counts: RunCounts = { pushed: 0, failed: 0, pulled: 0, conflicts: 0 };
    try {
      const pulled = await pullVendorChanges({ prisma: this.deps.prisma, connection, connector, account, policy, innkeepStatus: new Map(bookings.map((b) => [b.id, b.status])), log });
      counts.pulled = pulled.pulled;
      counts.conflicts = pulled.conflicts;
    } catch (error) {
      if (error instanceof VendorAuthError) throw error;
      if (error instanceof VendorRejectedError) {
        throw new ServiceUnavailableError(`PMS vendor refused the reservations pull: ${error.message}`, { vendor: connection.vendor, reason: 'PMS_VENDOR_REJECTED', retryable: false });
      }
      throw new VendorOutage(describeOutage(failureOf(error, policy.name)?.reason ?? 'FAILED', error), counts);
    }

    for (const booking of bookings) {
      let confirmed: VendorReservation;
      try {
        // Retried (idempotent: true) because the vendor upserts by our reference: a repeat is a no-op.
        confirmed = await policy.run(
          (signal) => connector.pushReservation(account, { reference: booking.reference, status: booking.status as ReservationStatus, checkIn: booking.checkIn, checkOut: booking.checkOut, guestName: booking.guest.name }, signal),
          { idempotent: true, log },
        );
      } catch (error) {
        if (error instanceof VendorRejectedError) {
          await this.recordReservation(connection.hotelId, booking.id, { syncStatus: 'FAILED', lastError: error.message });
          counts.failed += 1;
          run.record('failed');
          continue;
        }
        if (error instanceof VendorAuthError) throw error;
        // Anything else out of the vendor policy is the vendor being unreachable, failing, slow, or its
        // circuit open / bulkhead full: stop the run (the rest waits in the queue).
        const failure = failureOf(error, policy.name);
        throw new VendorOutage(describeOutage(failure?.reason ?? 'FAILED', error), counts);
      }
      await this.recordReservation(connection.hotelId, booking.id, {
        externalId: confirmed.externalId,
        syncStatus: 'SYNCED',
        syncedAt: new Date(),
        lastError: null,
        pushedStatus: booking.status,
        // What the vendor now holds is our own write: the next pull skips it as an echo.
        vendorStatus: confirmed.status,
        vendorUpdatedAt: new Date(confirmed.updatedAt),
      });
      counts.pushed += 1;
      run.record('pushed');
    }
    return counts;
  }

  /** ACTIVE again, the hotel's waiting sync completed and the run's audit event, all in one transaction. */
  private async markSynced(connection: PmsConnection, syncedAt: Date, counts: RunCounts, trigger: SyncTrigger): Promise<PmsConnection> {
    const updated = await this.deps.prisma.$transaction(async (tx) => {
      const row = await tx.pmsConnection.update({
        where: { hotelId: connection.hotelId },
        data: { status: 'ACTIVE', lastSyncAt: syncedAt, lastError: counts.failed ? `${counts.failed} booking(s) refused by the vendor` : null },
      });
      await this.deps.queue.completeFor(connection.hotelId, tx);
      await this.auditOutcome(connection, 'pms.sync_completed', trigger, { ...counts }, tx);
      return row;
    });
    this.deps.audit.afterCommit();
    return updated;
  }

  /** The vendor refused the credentials: ERROR with the reason, audited. */
  private async markFailed(connection: PmsConnection, reason: string, trigger: SyncTrigger): Promise<void> {
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.pmsConnection.update({ where: { hotelId: connection.hotelId }, data: { status: 'ERROR', lastError: reason } });
      await this.auditOutcome(connection, 'pms.sync_failed', trigger, { reason, credentialsRefused: true }, tx);
    });
    this.deps.audit.afterCommit();
  }

  /** One sync outcome on the hotel's audit chain: counts and reasons only (never credentials or guest data). */
  private auditOutcome(connection: PmsConnection, action: 'pms.sync_completed' | 'pms.sync_queued' | 'pms.sync_failed', trigger: SyncTrigger, details: Record<string, unknown>, tx?: Parameters<AuditOutbox['record']>[1]) {
    return this.deps.audit.record(
      {
        actor: trigger.actor,
        action,
        resourceType: 'PmsConnection',
        resourceId: connection.id,
        hotelId: connection.hotelId,
        correlationId: trigger.correlationId,
        details: { vendor: connection.vendor, via: trigger.via, ...details },
      },
      tx,
    );
  }

  private recordReservation(
    hotelId: string,
    bookingId: string,
    data: Partial<Pick<PmsReservation, 'externalId' | 'syncStatus' | 'syncedAt' | 'lastError' | 'pushedStatus' | 'vendorStatus' | 'vendorUpdatedAt'>>,
  ) {
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
