import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { Booking, Guest } from '../../../lib/src/db.js';
import { isOwnEmail } from '../../../lib/src/authz.js';
import { ConflictError } from '../../../lib/src/errors.js';
import { actorOf } from '../../../lib/src/identity.js';
import { money } from '../../../lib/src/money.js';
import { DateScalar, DateTimeScalar, toIsoDate } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import type { EventBus } from '../../../lib/src/events.js';
import { topic } from '../../../lib/src/events.js';
import { hotelScope, liveField } from '../../../lib/src/live.js';
import type { BookingLoaders, Bookings, BookingVisibility, Caller, PageArgs } from './bookings.js';
import type { BookingEventPayload } from './feed.js';
import type { Occupancy, OccupancyUpdate } from './occupancy.js';
import { isVisible, mayWatchHotel, PMS_WEBHOOK_SCOPE } from './permissions.js';

export interface BookingContext extends SubgraphContext {
  bookings: Bookings;
  loaders: BookingLoaders;
  /** Which bookings this request's principal may see (permissions.ts `bookingVisibility`). */
  visibility: BookingVisibility;
  occupancy: Occupancy;
  /** Live subscriptions listen here (lib/src/events.ts); publishing is the domain's (feed.ts). */
  events: EventBus;
}

type Ctx = BookingContext;

/** A change the pms service makes on behalf of a signed vendor webhook is marked as such in the audit trail. */
const caller = (ctx: Ctx): Caller => ({
  actor: actorOf(ctx.principal),
  correlationId: ctx.correlationId,
  ...(ctx.principal.kind === 'service' && ctx.principal.scopes.includes(PMS_WEBHOOK_SCOPE) ? { source: 'pms-webhook' } : {}),
});

/** A booking the caller may not see answers exactly like one that does not exist. */
const visibleOrNull = async (ctx: Ctx, booking: Booking | null) => (booking && (await isVisible(ctx, booking)) ? booking : null);

type GuestOfBooking = Guest & { hotelId: string; bookingId: string };

/**
 * Guest email / phone read by anyone but the guest themself (staff users, API keys) are noted for the
 * audit trail: one `guest.pii_read` per hotel per request (lib/src/request-audit.ts). Peer services
 * (pms syncing bookings) are not: their use is audited by what they do with it.
 */
const piiField = (field: 'email' | 'phone') => (guest: GuestOfBooking, _: unknown, ctx: Ctx) => {
  const p = ctx.principal;
  if ((p.kind === 'user' || p.kind === 'apiKey') && !isOwnEmail(p, guest.email)) {
    ctx.piiReads?.note({ hotelId: guest.hotelId, field, guestId: guest.id, bookingId: guest.bookingId });
  }
  return guest[field];
};

/** Thin resolvers: the domain lives in `Bookings`; cross-subgraph fields return entity references. */
export const resolvers: GraphQLResolverMap<Ctx> = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Query: {
    booking: async (_: unknown, { id }: { id: string }, ctx: Ctx) => visibleOrNull(ctx, await ctx.loaders.booking.load(id)),
    bookingByReference: async (_: unknown, { reference }: { reference: string }, ctx: Ctx) =>
      visibleOrNull(ctx, await ctx.bookings.byReference(reference)),
    availableRooms: async (_: unknown, args: { hotelId: string; checkIn: string; checkOut: string; guests: number }, ctx: Ctx) =>
      (await ctx.bookings.availableRoomIds(args, ctx.correlationId)).map((id) => ({ __typename: 'Room', id })),
    occupancy: (_: unknown, args: { hotelId: string; from?: string | null; days?: number | null }, ctx: Ctx) =>
      ctx.occupancy.forHotel(args.hotelId, args.from, args.days, ctx.correlationId),
  },
  // Hotel feeds: refused (FORBIDDEN / UNAUTHENTICATED) before anything is subscribed; rules re-check every event.
  Subscription: {
    bookingChanged: liveField<{ hotelId: string }, BookingEventPayload, Ctx>({
      authorize: (p, { hotelId }) => mayWatchHotel(p, hotelId),
      topic: ({ hotelId }) => topic('booking', hotelScope(hotelId)),
    }),
    occupancyChanged: liveField<{ hotelId: string }, OccupancyUpdate, Ctx>({
      authorize: (p, { hotelId }) => mayWatchHotel(p, hotelId),
      topic: ({ hotelId }) => topic('occupancy', hotelScope(hotelId)),
    }),
  },
  OccupancyUpdate: {
    hotel: (update: OccupancyUpdate) => ({ __typename: 'Hotel', id: update.hotelId }),
  },
  Mutation: {
    createBooking: async (_: unknown, { input }: { input: unknown }, ctx: Ctx) => {
      const booking = await ctx.bookings.create(input, caller(ctx));
      // An idempotency key replays its first booking: only to a caller who may see that booking.
      if (!(await isVisible(ctx, booking))) throw new ConflictError('idempotencyKey was already used for a different booking', { field: 'input.idempotencyKey' });
      return booking;
    },
    cancelBooking: (_: unknown, { id, reason }: { id: string; reason?: string | null }, ctx: Ctx) => ctx.bookings.cancel(id, reason, caller(ctx)),
    checkIn: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.bookings.checkIn(id, caller(ctx)),
    checkOut: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.bookings.checkOut(id, caller(ctx)),
  },
  Booking: {
    __resolveReference: async (ref: { id: string }, ctx: Ctx) => visibleOrNull(ctx, await ctx.loaders.booking.load(ref.id)),
    nights: (b: Booking) => Math.round((b.checkOut.getTime() - b.checkIn.getTime()) / 86_400_000),
    checkIn: (b: Booking) => toIsoDate(b.checkIn),
    checkOut: (b: Booking) => toIsoDate(b.checkOut),
    // The booking's hotel travels with the guest: PII visibility (permissions.ts) and its audit depend on it.
    guest: async (b: Booking, _: unknown, ctx: Ctx): Promise<GuestOfBooking | null> => {
      const guest = await ctx.loaders.guest.load(b.guestId);
      return guest && { ...guest, hotelId: b.hotelId, bookingId: b.id };
    },
    hotel: (b: Booking) => ({ __typename: 'Hotel', id: b.hotelId }),
    room: (b: Booking) => ({ __typename: 'Room', id: b.roomId }),
    total: (b: Booking) => money(b.totalMinor, b.currency),
  },
  // Reached only when readGuestPii allowed it (permissions.ts).
  Guest: { email: piiField('email'), phone: piiField('phone') },
  Hotel: {
    bookings: (hotel: { id: string }, args: PageArgs, ctx: Ctx) => ctx.bookings.page({ hotelId: hotel.id }, args, ctx.visibility),
  },
  Room: {
    bookings: (room: { id: string }, args: PageArgs, ctx: Ctx) => ctx.bookings.page({ roomId: room.id }, args, ctx.visibility),
  },
};
