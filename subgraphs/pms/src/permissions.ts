import { allow, authRule, capability, chain, definePermissions, deniedError, isGranted, notFound, STAFF, type Grant } from '../../../lib/src/authz.js';
import type { Principal } from '../../../lib/src/identity.js';
import type { PmsContext } from './resolvers.js';

/**
 * Who may do what in the pms subgraph (GUIDE §3).
 *
 *  - PMS connection (read) and sync: HOTEL_MANAGER of the hotel, PLATFORM_ADMIN, API keys with pms:sync.
 *  - PMS connection changes (connectPms, updatePmsConnection, disablePmsConnection): HOTEL_MANAGER of the
 *    hotel and PLATFORM_ADMIN only. Another tenant's hotel answers NOT_FOUND, like a hotel without one.
 *  - A booking's PMS status: FRONT_DESK / HOTEL_MANAGER of the booking's hotel, PLATFORM_ADMIN, API keys
 *    with bookings:read or pms:sync for it.
 *
 * Decisions: a missing capability answers UNAUTHENTICATED (anonymous) or FORBIDDEN; another tenant's
 * connection or booking status is null — the same as "no PMS" — and syncing another tenant's hotel is
 * NOT_FOUND, the same as a hotel without a connection.
 * Live: pmsSyncProgress(hotelId) — who may sync the hotel may watch it (MANAGE_PMS). Refused with
 * FORBIDDEN (UNAUTHENTICATED when anonymous) at subscribe time (`mayWatchSync`) and again per event.
 */

export const MANAGE_PMS: Grant = { roles: ['HOTEL_MANAGER'], scopes: ['pms:sync'] };
/** Changing a connection (vendor, property, credentials): people only — an API key that syncs may not re-point it. */
export const CONFIGURE_PMS: Grant = { roles: ['HOTEL_MANAGER'] };
export const READ_BOOKING_PMS: Grant = { roles: STAFF, scopes: ['bookings:read', 'pms:sync'] };

type Ctx = PmsContext;

/** `true`, or the coded refusal (subscribe resolver; the rule below per event). */
export function mayWatchSync(p: Principal, hotelId: unknown): true | Error {
  return (typeof hotelId === 'string' && isGranted(p, MANAGE_PMS, hotelId)) || deniedError(p, "this hotel's PMS syncs");
}

const syncFeed = authRule<Ctx>('syncFeed', 'no_cache', (progress: { hotelId?: string }, { hotelId }: { hotelId: string }, ctx) => {
  const verdict = mayWatchSync(ctx.principal, hotelId);
  if (verdict !== true) return verdict;
  return progress?.hotelId === hotelId || deniedError(ctx.principal, "this hotel's PMS syncs");
});

const mayManagePms = capability<Ctx>('mayManagePms', MANAGE_PMS);
const mayReadBookingPms = capability<Ctx>('mayReadBookingPms', READ_BOOKING_PMS);

const mayConfigurePms = capability<Ctx>('mayConfigurePms', CONFIGURE_PMS);
const configureTarget = authRule<Ctx>('configureTarget', 'no_cache', (_parent, args: { hotelId?: string; input?: { hotelId?: string } }, ctx) => {
  const hotelId = args.hotelId ?? args.input?.hotelId ?? '';
  return isGranted(ctx.principal, CONFIGURE_PMS, hotelId) || notFound('PmsConnection', hotelId);
});

const syncTarget = authRule<Ctx>('syncTarget', 'no_cache', (_parent, { hotelId }: { hotelId: string }, ctx) =>
  isGranted(ctx.principal, MANAGE_PMS, hotelId) || notFound('PmsConnection', hotelId),
);

/** Objects that carry their hotel: resolvers already return null for other tenants; this closes the rest. */
const ofGrantedHotel = (name: string, grant: Grant) =>
  authRule<Ctx>(name, (parent: { hotelId: string }) => parent.hotelId, (parent: { hotelId: string }, _args, ctx) =>
    isGranted(ctx.principal, grant, parent.hotelId),
  );

const syncResultOfGrantedHotel = authRule<Ctx>(
  'syncResultOfGrantedHotel',
  (result: { connection: { hotelId: string } }) => result.connection.hotelId,
  (result: { connection: { hotelId: string } }, _args, ctx) => isGranted(ctx.principal, MANAGE_PMS, result.connection.hotelId),
);

export const permissions = definePermissions(
  {
    Query: {
      pmsConnection: mayManagePms,
      _service: allow,
      _entities: allow,
    },
    Mutation: {
      syncReservations: chain(mayManagePms, syncTarget),
      connectPms: chain(mayConfigurePms, configureTarget),
      updatePmsConnection: chain(mayConfigurePms, configureTarget),
      disablePmsConnection: chain(mayConfigurePms, configureTarget),
    },
    Subscription: { pmsSyncProgress: syncFeed },
    PmsSyncProgress: ofGrantedHotel('syncProgressOfGrantedHotel', MANAGE_PMS),
    Hotel: { id: allow, pmsConnection: mayManagePms },
    Booking: { id: allow, pms: mayReadBookingPms },
    PmsConnection: ofGrantedHotel('connectionOfGrantedHotel', MANAGE_PMS),
    BookingPmsStatus: ofGrantedHotel('reservationOfGrantedHotel', READ_BOOKING_PMS),
    PmsReservationConflict: ofGrantedHotel('conflictOfGrantedHotel', READ_BOOKING_PMS),
    PmsPendingSync: ofGrantedHotel('pendingSyncOfGrantedHotel', MANAGE_PMS),
    PmsSyncResult: syncResultOfGrantedHotel,
    _Service: allow,
  },
  { service: 'pms' },
);
