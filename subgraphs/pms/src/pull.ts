import type { PmsConnection, PrismaClient } from '../../../lib/src/db.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Policy } from '../../../lib/src/policies.js';
import type { PmsConnector, ReservationStatus, VendorAccount } from './connectors/types.js';

/** Reservations asked for per pull request; the cursor is saved after each page. */
export const PULL_PAGE = 100;

export interface PullOutcome {
  /** Reservations changed at the vendor since the cursor — not counting the echoes of our own pushes. */
  pulled: number;
  /** Of those, vendor-side status changes Innkeep disagrees with (see below). */
  conflicts: number;
  /** The bookings in conflict (IDs only: audit details carry no guest data). */
  conflictBookingIds: string[];
}

/**
 * Pulls what changed at the vendor since the connection's saved cursor, page by page, saving the cursor
 * after each page — a run cut short (vendor outage, crash) resumes where it stopped, and a page seen twice
 * changes nothing (each reservation remembers the vendor `updatedAt` last seen, so repeats and the echoes
 * of our own pushes are skipped).
 *
 * The conflict rule: Innkeep is the system of record for bookings. A vendor-side change whose status
 * differs from Innkeep's current status for that booking (or, outside the sync window, from the status we
 * last pushed) is a CONFLICT: it is recorded on the reservation (vendor status, Innkeep status, when),
 * counted in the sync result and its audit event, and resolved by the push that follows, which sends
 * Innkeep's status back to the vendor. A vendor change that agrees with Innkeep is simply recorded.
 * Reservations the vendor holds that Innkeep never pushed are counted as pulled and otherwise ignored.
 */
export async function pullVendorChanges(options: {
  prisma: PrismaClient;
  connection: PmsConnection;
  connector: PmsConnector;
  account: VendorAccount;
  policy: Policy;
  /** Innkeep's current status of the hotel's bookings in the sync window, by booking ID. */
  innkeepStatus: ReadonlyMap<string, string>;
  log: Logger;
  /** Reservations per request (default PULL_PAGE). */
  pageSize?: number;
}): Promise<PullOutcome> {
  const { prisma, connection, connector, account, policy, innkeepStatus, log } = options;
  const pageSize = options.pageSize ?? PULL_PAGE;
  const outcome: PullOutcome = { pulled: 0, conflicts: 0, conflictBookingIds: [] };
  let cursor = connection.pullCursor;
  for (;;) {
    const from = cursor;
    // A read: safe to retry.
    const page = await policy.run((signal) => connector.pullReservations(account, from, pageSize, signal), { idempotent: true, log });
    // One query per page: ours among the page's reservations, by the vendor's ID within this hotel.
    const known = await prisma.pmsReservation.findMany({ where: { hotelId: connection.hotelId, externalId: { in: page.reservations.map((r) => r.externalId) } } });
    const byExternalId = new Map(known.map((r) => [r.externalId, r]));
    for (const theirs of page.reservations) {
      const ours = byExternalId.get(theirs.externalId);
      const changedAt = new Date(theirs.updatedAt);
      if (ours?.vendorUpdatedAt && changedAt.getTime() <= ours.vendorUpdatedAt.getTime()) continue; // seen, or our own push
      outcome.pulled += 1;
      if (!ours) continue;
      const innkeep = (innkeepStatus.get(ours.bookingId) ?? ours.pushedStatus) as ReservationStatus | null;
      const conflict = innkeep !== null && innkeep !== theirs.status;
      await prisma.pmsReservation.update({
        where: { bookingId: ours.bookingId },
        data: {
          vendorStatus: theirs.status,
          vendorUpdatedAt: changedAt,
          ...(conflict ? { conflictVendorStatus: theirs.status, conflictInnkeepStatus: innkeep, conflictAt: new Date() } : {}),
        },
      });
      if (conflict) {
        outcome.conflicts += 1;
        outcome.conflictBookingIds.push(ours.bookingId);
        log.warn({ bookingId: ours.bookingId, vendorStatus: theirs.status, innkeepStatus: innkeep }, 'PMS conflict: the vendor changed a reservation Innkeep disagrees with; Innkeep wins');
      }
    }
    if (page.cursor !== null && page.cursor !== cursor) {
      cursor = page.cursor;
      await prisma.pmsConnection.update({ where: { hotelId: connection.hotelId }, data: { pullCursor: cursor, lastPullAt: new Date() } });
    }
    if (!page.hasMore || page.reservations.length === 0) break;
  }
  return outcome;
}
