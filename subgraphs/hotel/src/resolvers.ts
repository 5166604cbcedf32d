import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { Hotel, Room, RoomStatus, RoomType } from '../../../lib/src/db.js';
import { money } from '../../../lib/src/money.js';
import { DateTimeScalar } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import type { Caller, Catalog, CatalogLoaders } from './catalog.js';
import { actorOf } from '../../../lib/src/identity.js';
import { isUuid } from '../../../lib/src/validation.js';
import { topic, type EventBus } from '../../../lib/src/events.js';
import { hotelScope, liveField } from '../../../lib/src/live.js';
import { mayWatchRoomStatus } from './permissions.js';

export interface HotelContext extends SubgraphContext {
  catalog: Catalog;
  loaders: CatalogLoaders;
  /** Live subscriptions listen here (lib/src/events.ts). */
  events: EventBus;
}

const caller = (ctx: HotelContext): Caller => ({ actor: actorOf(ctx.principal), correlationId: ctx.correlationId });

const ref = (id: string) => (isUuid(id) ? id : '00000000-0000-0000-0000-000000000000');

/** Thin resolvers: validation and writes live in `Catalog`, batching in the loaders. */
export const resolvers: GraphQLResolverMap<HotelContext> = {
  DateTime: DateTimeScalar,
  Query: {
    hotels: (_: unknown, __: unknown, ctx: HotelContext) => ctx.catalog.listHotels(),
    hotel: (_: unknown, args: { id?: string; slug?: string }, ctx: HotelContext) => ctx.catalog.findHotel(args),
    room: (_: unknown, args: { id: string }, ctx: HotelContext) => ctx.loaders.room.load(ref(args.id)),
  },
  Mutation: {
    createHotel: (_: unknown, { input }: { input: unknown }, ctx: HotelContext) => ctx.catalog.createHotel(input, caller(ctx)),
    updateHotel: (_: unknown, { id, input }: { id: string; input: unknown }, ctx: HotelContext) => ctx.catalog.updateHotel(id, input, caller(ctx)),
    createRoomType: (_: unknown, { input }: { input: unknown }, ctx: HotelContext) => ctx.catalog.createRoomType(input, caller(ctx)),
    updateRoomType: (_: unknown, { id, input }: { id: string; input: unknown }, ctx: HotelContext) => ctx.catalog.updateRoomType(id, input, caller(ctx)),
    createRoom: (_: unknown, { input }: { input: unknown }, ctx: HotelContext) => ctx.catalog.createRoom(input, caller(ctx)),
    updateRoom: (_: unknown, { id, input }: { id: string; input: unknown }, ctx: HotelContext) => ctx.catalog.updateRoom(id, input, caller(ctx)),
    setRoomStatus: (_: unknown, args: { roomId: string; status: RoomStatus }, ctx: HotelContext) => ctx.catalog.setRoomStatus(args.roomId, args.status, caller(ctx)),
  },
  Subscription: {
    // Refused (FORBIDDEN / UNAUTHENTICATED) before anything is subscribed; the rules re-check every event.
    roomStatusChanged: liveField<{ hotelId: string }, Room, HotelContext>({
      authorize: (p, { hotelId }) => mayWatchRoomStatus(p, hotelId),
      topic: ({ hotelId }) => topic('room-status', hotelScope(hotelId)),
    }),
  },
  Hotel: {
    __resolveReference: (reference: { id: string }, ctx: HotelContext) => ctx.loaders.hotel.load(ref(reference.id)),
    address: (hotel: Hotel) => ({
      line1: hotel.addressLine1,
      line2: hotel.addressLine2,
      city: hotel.city,
      postalCode: hotel.postalCode,
      country: hotel.country,
    }),
    roomTypes: (hotel: Hotel, _: unknown, ctx: HotelContext) => ctx.loaders.roomTypesByHotel.load(hotel.id),
    rooms: async (hotel: Hotel, args: { status?: RoomStatus | null }, ctx: HotelContext) => {
      const rooms = await ctx.loaders.roomsByHotel.load(hotel.id);
      return args.status ? rooms.filter((r) => r.status === args.status) : rooms;
    },
  },
  RoomType: {
    __resolveReference: (reference: { id: string }, ctx: HotelContext) => ctx.loaders.roomType.load(ref(reference.id)),
    baseRate: async (roomType: RoomType, _: unknown, ctx: HotelContext) => {
      const hotel = await ctx.loaders.hotel.load(roomType.hotelId);
      return money(roomType.baseRateMinor, hotel!.currency);
    },
    hotel: (roomType: RoomType, _: unknown, ctx: HotelContext) => ctx.loaders.hotel.load(roomType.hotelId),
  },
  Room: {
    __resolveReference: (reference: { id: string }, ctx: HotelContext) => ctx.loaders.room.load(ref(reference.id)),
    roomType: (room: Room, _: unknown, ctx: HotelContext) => ctx.loaders.roomType.load(room.roomTypeId),
    hotel: (room: Room, _: unknown, ctx: HotelContext) => ctx.loaders.hotel.load(room.hotelId),
  },
};
