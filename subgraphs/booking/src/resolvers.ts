import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { Booking } from '../../../lib/src/db.js';
import { money } from '../../../lib/src/money.js';
import { DateScalar, DateTimeScalar, toIsoDate } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import type { BookingLoaders, Bookings, PageArgs } from './bookings.js';

export interface BookingContext extends SubgraphContext {
  bookings: Bookings;
  loaders: BookingLoaders;
}

type Ctx = BookingContext;

/** Thin resolvers: the domain lives in `Bookings`; cross-subgraph fields return entity references. */
export const resolvers: GraphQLResolverMap<Ctx> = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  Query: {
    booking: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.loaders.booking.load(id),
    bookingByReference: (_: unknown, { reference }: { reference: string }, ctx: Ctx) => ctx.bookings.byReference(reference),
    availableRooms: async (_: unknown, args: { hotelId: string; checkIn: string; checkOut: string; guests: number }, ctx: Ctx) =>
      (await ctx.bookings.availableRoomIds(args, ctx.correlationId)).map((id) => ({ __typename: 'Room', id })),
  },
  Mutation: {
    createBooking: (_: unknown, { input }: { input: unknown }, ctx: Ctx) => ctx.bookings.create(input, ctx.correlationId),
    cancelBooking: (_: unknown, { id, reason }: { id: string; reason?: string | null }, ctx: Ctx) =>
      ctx.bookings.cancel(id, reason, ctx.correlationId),
    checkIn: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.bookings.checkIn(id, ctx.correlationId),
    checkOut: (_: unknown, { id }: { id: string }, ctx: Ctx) => ctx.bookings.checkOut(id, ctx.correlationId),
  },
  Booking: {
    __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.booking.load(ref.id),
    nights: (b: Booking) => Math.round((b.checkOut.getTime() - b.checkIn.getTime()) / 86_400_000),
    checkIn: (b: Booking) => toIsoDate(b.checkIn),
    checkOut: (b: Booking) => toIsoDate(b.checkOut),
    guest: (b: Booking, _: unknown, ctx: Ctx) => ctx.loaders.guest.load(b.guestId),
    hotel: (b: Booking) => ({ __typename: 'Hotel', id: b.hotelId }),
    room: (b: Booking) => ({ __typename: 'Room', id: b.roomId }),
    total: (b: Booking) => money(b.totalMinor, b.currency),
  },
  Hotel: {
    bookings: (hotel: { id: string }, args: PageArgs, ctx: Ctx) => ctx.bookings.page({ hotelId: hotel.id }, args),
  },
  Room: {
    bookings: (room: { id: string }, args: PageArgs, ctx: Ctx) => ctx.bookings.page({ roomId: room.id }, args),
  },
};
