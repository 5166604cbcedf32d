import {
  allow,
  authRule,
  capability,
  chain,
  definePermissions,
  deniedError,
  ForbiddenError,
  hotelsGranted,
  isGranted,
  isGuestUser,
  isOwnEmail,
  notFound,
  STAFF,
  type Grant,
} from '../../../lib/src/authz.js';
import type { Booking } from '../../../lib/src/db.js';
import { isPlatformAdmin, type Principal } from '../../../lib/src/identity.js';
import type { BookingVisibility } from './bookings.js';
import type { BookingContext } from './resolvers.js';

/**
 * Who may do what in the booking subgraph (GUIDE §3).
 *
 *  - Read bookings: FRONT_DESK / HOTEL_MANAGER of the booking's hotel, PLATFORM_ADMIN, API keys with
 *    bookings:read or bookings:write for it, the pms service (bookings:read, for the hotel its token
 *    names) — and a GUEST for bookings whose guest email is their own. AUDITOR: never.
 *  - Guest email / phone: staff of the booking's hotel, PLATFORM_ADMIN, or the guest themself.
 *  - createBooking: a GUEST for themselves only; staff / API key bookings:write for that hotel.
 *  - cancelBooking: the owner GUEST, staff, API key bookings:write, and the pms service with
 *    bookings:pms-webhook for the hotel its token names; checkIn / checkOut: staff, API key.
 *
 * Decisions: a missing capability answers UNAUTHENTICATED (anonymous) or FORBIDDEN whatever the object;
 * a booking the caller may not see is null (`booking`, `bookingByReference`, `_entities`), absent from
 * lists (and from their counts), and NOT_FOUND for mutations — exactly like a booking that does not exist.
 * Live (occupancy, bookingChanged, occupancyChanged): as for the hotel's bookings — staff of the hotel,
 * PLATFORM_ADMIN, API keys with bookings:read / bookings:write for it (not a GUEST: a hotel feed is not
 * their own bookings). A refusal is FORBIDDEN (UNAUTHENTICATED when anonymous), at subscribe time
 * (`mayWatchHotel`, called by the subscribe resolvers) and again for every event by the rules below;
 * each event's Booking still passes `readBooking` (`isVisible`) for its subscriber.
 */

export const READ_BOOKINGS: Grant = { roles: STAFF, scopes: ['bookings:read', 'bookings:write'], services: { scopes: ['bookings:read'] } };
export const WRITE_BOOKINGS: Grant = { roles: STAFF, scopes: ['bookings:write'] };
export const READ_GUEST_PII: Grant = { roles: STAFF };
/**
 * The pms service applying a cancellation made in the hotel's PMS (signed vendor webhooks,
 * docs/pms-webhooks.md): cancel only, and only for the hotel its token names. No other mutation.
 */
export const PMS_WEBHOOK_SCOPE = 'bookings:pms-webhook';
export const CANCEL_BOOKINGS: Grant = { ...WRITE_BOOKINGS, services: { scopes: [PMS_WEBHOOK_SCOPE] } };

/** What this principal sees, computed once per request (lib/src/subgraph.ts → createContext). */
export function bookingVisibility(p: Principal): BookingVisibility {
  const hotels = hotelsGranted(p, READ_BOOKINGS);
  if (hotels === 'all') return 'all';
  return { hotelIds: hotels, ...(isGuestUser(p) ? { guestEmail: p.email!.trim().toLowerCase() } : {}) };
}

/** Object check: may the caller see this booking? (Guest ownership costs one batched guest lookup.) */
export async function isVisible(ctx: BookingContext, booking: Booking): Promise<boolean> {
  const v = ctx.visibility;
  if (v === 'all' || v.hotelIds.includes(booking.hotelId)) return true;
  if (!v.guestEmail) return false;
  const guest = await ctx.loaders.guest.load(booking.guestId);
  return isOwnEmail(ctx.principal, guest?.email);
}

type Ctx = BookingContext;

/** Hotel-wide reads (occupancy, live feeds): `true`, or the coded refusal. Subscribe resolvers call it too. */
export function mayWatchHotel(p: Principal, hotelId: unknown): true | Error {
  return (typeof hotelId === 'string' && isGranted(p, READ_BOOKINGS, hotelId)) || deniedError(p, "this hotel's bookings");
}

/** A hotel feed's rule, per event: the subscriber may watch the hotel, and the event is of that hotel. */
const hotelFeed = (name: string, hotelOfEvent: (event: any) => unknown) =>
  authRule<Ctx>(name, 'no_cache', (event, { hotelId }: { hotelId: string }, ctx) => {
    const verdict = mayWatchHotel(ctx.principal, hotelId);
    if (verdict !== true) return verdict;
    const eventHotel = event === undefined ? hotelId : hotelOfEvent(event);
    return eventHotel === hotelId || deniedError(ctx.principal, "this hotel's bookings");
  });

const mayReadBookings = capability<Ctx>('mayReadBookings', READ_BOOKINGS, isGuestUser);
const mayBook = capability<Ctx>('mayBook', WRITE_BOOKINGS, isGuestUser);
const mayManageStays = capability<Ctx>('mayManageStays', WRITE_BOOKINGS);
const mayCancel = capability<Ctx>('mayCancel', CANCEL_BOOKINGS, isGuestUser);

const createBookingFor = authRule<Ctx>('createBookingFor', 'no_cache', (_parent, { input }: { input?: { hotelId?: string; guest?: { email?: string } } }, ctx) => {
  const p = ctx.principal;
  if (isGranted(p, WRITE_BOOKINGS, input?.hotelId)) return true;
  if (isGuestUser(p)) return isOwnEmail(p, input?.guest?.email) || new ForbiddenError('A guest may only book for themselves: input.guest.email must be your own address');
  return notFound('Hotel', input?.hotelId);
});

/** Mutations on one booking: load it (per-request loader), then ownership / tenancy, else NOT_FOUND. */
const bookingTarget = (name: string, allowed: (p: Principal, booking: Booking, ctx: Ctx) => boolean | Promise<boolean>) =>
  authRule<Ctx>(name, 'no_cache', async (_parent, { id }: { id: string }, ctx) => {
    const booking = await ctx.loaders.booking.load(id);
    return (!!booking && (await allowed(ctx.principal, booking, ctx))) || notFound('Booking', id);
  });

const cancellable = bookingTarget('cancelTarget', async (p, booking, ctx) =>
  isGranted(p, CANCEL_BOOKINGS, booking.hotelId) || (isGuestUser(p) && isOwnEmail(p, (await ctx.loaders.guest.load(booking.guestId))?.email)),
);
const stayManageable = bookingTarget('stayTarget', (p, booking) => isGranted(p, WRITE_BOOKINGS, booking.hotelId));

/** Every field of a Booking: lists and lookups are already filtered; this closes any other way in. */
const readBooking = authRule<Ctx>('readBooking', (booking: Booking) => booking.id, (booking: Booking, _args, ctx) => isVisible(ctx, booking));

/** Guest PII: the booking's hotel travels down on the Guest object (resolvers.ts `Booking.guest`). */
const readGuestPii = authRule<Ctx>(
  'readGuestPii',
  (guest: { id: string; hotelId?: string }) => `${guest.id}|${guest.hotelId ?? ''}`,
  (guest: { email: string; hotelId?: string }, _args, ctx) =>
    isPlatformAdmin(ctx.principal) || isGranted(ctx.principal, READ_GUEST_PII, guest.hotelId) || isOwnEmail(ctx.principal, guest.email),
);

export const permissions = definePermissions(
  {
    Query: {
      booking: mayReadBookings,
      bookingByReference: mayReadBookings,
      availableRooms: allow,
      occupancy: hotelFeed('occupancyOfHotel', () => undefined),
      _service: allow,
      _entities: allow,
    },
    Mutation: {
      createBooking: chain(mayBook, createBookingFor),
      cancelBooking: chain(mayCancel, cancellable),
      checkIn: chain(mayManageStays, stayManageable),
      checkOut: chain(mayManageStays, stayManageable),
    },
    Subscription: {
      bookingChanged: hotelFeed('bookingFeedOfHotel', (event: { booking?: { hotelId?: string } }) => event.booking?.hotelId),
      occupancyChanged: hotelFeed('occupancyFeedOfHotel', (event: { hotelId?: string }) => event.hotelId),
    },
    // Reached only through the rule-guarded fields above; the Booking inside keeps its own rule.
    BookingEvent: allow,
    OccupancyUpdate: allow,
    OccupancyDay: allow,
    Booking: readBooking,
    Guest: { id: allow, name: allow, email: readGuestPii, phone: readGuestPii },
    Hotel: { id: allow, bookings: mayReadBookings },
    Room: { id: allow, bookings: mayReadBookings },
    BookingConnection: allow,
    PageInfo: allow,
    Money: allow,
    _Service: allow,
  },
  { service: 'booking' },
);
