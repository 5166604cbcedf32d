import DataLoader from 'dataloader';
import type { PmsConnection, PmsReservation, PrismaClient } from '../../../lib/src/db.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import type { EntityClient } from '../../../lib/src/entity-client.js';
import { BadUserInputError, NotFoundError, ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/logger.js';
import { VendorUnavailableError, type VendorClient } from './vendor-client.js';
import { oneByKey } from '../../../lib/src/loaders.js';
import { UUID } from '../../../lib/src/validation.js';

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
  };
}
export type PmsLoaders = ReturnType<typeof createPmsLoaders>;

export interface PmsSyncDeps {
  prisma: PrismaClient;
  vendor: VendorClient;
  /** The booking subgraph, read through `_entities` (never its tables). */
  bookingsOwner: EntityClient;
  /** A synced booking counts as stale once the vendor has not confirmed it for this long. */
  staleAfterMs: number;
  logger: Logger;
}

export interface SyncResult {
  connection: PmsConnection;
  pushed: number;
  failed: number;
  syncedAt: Date;
}

export class PmsSync {
  constructor(private readonly deps: PmsSyncDeps) {}

  isStale(reservation: PmsReservation, connection: PmsConnection | null, now = Date.now()): boolean {
    if (reservation.syncStatus !== 'SYNCED' || !reservation.syncedAt) return true;
    if (connection && connection.status !== 'ACTIVE') return true;
    return now - reservation.syncedAt.getTime() > this.deps.staleAfterMs;
  }

  /**
   * Pushes every current booking of the hotel to its vendor (idempotent upserts keyed by our reference)
   * and records each confirmation. A vendor outage stops the run, marks the connection ERROR with the
   * reason, and answers SERVICE_UNAVAILABLE; a refused booking is marked FAILED and the run goes on.
   */
  async syncReservations(hotelId: string, correlationId: string): Promise<SyncResult> {
    if (!UUID.test(hotelId)) throw new BadUserInputError([{ field: 'hotelId', message: 'must be a valid hotel ID' }]);
    const connection = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId } });
    if (!connection) throw new NotFoundError('PmsConnection', hotelId);
    if (connection.status === 'DISABLED') throw new BadUserInputError([{ field: 'hotelId', message: 'the PMS connection is disabled' }]);

    let pushed = 0;
    let failed = 0;
    const syncedAt = new Date();
    try {
      for await (const booking of this.currentBookings(hotelId, correlationId)) {
        try {
          const confirmed = await this.deps.vendor.upsertReservation(connection.propertyCode, booking.reference, {
            bookingId: booking.id,
            status: booking.status,
            checkIn: booking.checkIn,
            checkOut: booking.checkOut,
            guestName: booking.guest.name,
          });
          await this.recordReservation(hotelId, booking.id, { externalId: confirmed.externalId, syncStatus: 'SYNCED', syncedAt: new Date(), lastError: null });
          pushed += 1;
        } catch (error) {
          if (error instanceof VendorUnavailableError) throw error;
          await this.recordReservation(hotelId, booking.id, { syncStatus: 'FAILED', lastError: (error as Error).message });
          failed += 1;
        }
      }
    } catch (error) {
      if (!(error instanceof VendorUnavailableError)) throw error;
      await this.deps.prisma.pmsConnection.update({ where: { hotelId }, data: { status: 'ERROR', lastError: error.message } });
      this.deps.logger.warn({ hotelId, reason: error.message, correlationId }, 'PMS sync stopped: vendor unavailable');
      throw new ServiceUnavailableError(`The PMS vendor is unavailable: ${error.message}`, { vendor: connection.vendor });
    }
    const updated = await this.deps.prisma.pmsConnection.update({
      where: { hotelId },
      data: { status: 'ACTIVE', lastSyncAt: syncedAt, lastError: failed ? `${failed} booking(s) refused by the vendor` : null },
    });
    return { connection: updated, pushed, failed, syncedAt };
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
  private async *currentBookings(hotelId: string, correlationId: string): AsyncGenerator<BookingForPms> {
    const from = new Date().toISOString().slice(0, 10);
    const reader = servicePrincipal('pms', [BOOKINGS_READ_SCOPE], [hotelId]);
    let after: string | null = null;
    do {
      const afterArg: string = after ? `, after: ${JSON.stringify(after)}` : '';
      const [hotel] = await this.deps.bookingsOwner.fetch<{ bookings: { nodes: BookingForPms[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
        [{ __typename: 'Hotel', id: hotelId }],
        `... on Hotel { bookings(first: ${PAGE}${afterArg}, filter: { from: ${JSON.stringify(from)} }) { nodes { id reference status checkIn checkOut guest { name } } pageInfo { hasNextPage endCursor } } }`,
        correlationId,
        reader,
      );
      if (!hotel) return;
      yield* hotel.bookings.nodes;
      after = hotel.bookings.pageInfo.hasNextPage ? hotel.bookings.pageInfo.endCursor : null;
    } while (after);
  }
}
