import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { PmsConnection } from '../../../lib/src/db.js';
import { DateTimeScalar } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import type { PmsLoaders, PmsSync } from './sync.js';

export interface PmsContext extends SubgraphContext {
  pms: PmsSync;
  loaders: PmsLoaders;
}
type Ctx = PmsContext;

export const resolvers: GraphQLResolverMap<Ctx> = {
  DateTime: DateTimeScalar,
  Query: {
    pmsConnection: (_: unknown, { hotelId }: { hotelId: string }, ctx: Ctx) => ctx.loaders.connectionByHotel.load(hotelId),
  },
  Mutation: {
    syncReservations: (_: unknown, { hotelId }: { hotelId: string }, ctx: Ctx) => ctx.pms.syncReservations(hotelId, ctx.correlationId),
  },
  Hotel: {
    pmsConnection: (hotel: { id: string }, _: unknown, ctx: Ctx) => ctx.loaders.connectionByHotel.load(hotel.id),
  },
  Booking: {
    pms: async (booking: { id: string }, _: unknown, ctx: Ctx) => {
      const reservation = await ctx.loaders.reservationByBooking.load(booking.id);
      if (!reservation) return null;
      const connection = await ctx.loaders.connectionByHotel.load(reservation.hotelId);
      return { ...reservation, stale: ctx.pms.isStale(reservation, connection) };
    },
  },
  PmsConnection: {
    hotel: (connection: PmsConnection) => ({ __typename: 'Hotel', id: connection.hotelId }),
  },
};
