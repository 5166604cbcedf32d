import { allow, authRule, capability, chain, definePermissions, deniedError, isAdmin, isGranted, notFound, STAFF, type Grant } from '../../../lib/src/authz.js';
import type { Principal } from '../../../lib/src/identity.js';
import { isUuid } from '../../../lib/src/validation.js';
import type { HotelContext } from './resolvers.js';

/**
 * Who may do what in the hotel subgraph (GUIDE §3). The catalog — hotels, room types with rates, rooms —
 * is public; housekeeping state and every write are not.
 *
 * Decisions: a missing capability (role / scope) answers UNAUTHENTICATED (anonymous) or FORBIDDEN; a
 * write aimed at an object outside the caller's hotels answers NOT_FOUND, exactly as a missing one.
 * Live: roomStatusChanged(hotelId) — staff of the hotel, PLATFORM_ADMIN, API keys with hotels:write for it
 * (WATCH_ROOM_STATUS, as the SDL says; peer services get no feed). Refused with FORBIDDEN (UNAUTHENTICATED
 * when anonymous) at subscribe time (`mayWatchRoomStatus`) and again per event, where `Room.status` also
 * keeps its own `readRoomStatus` rule.
 */

/** Rates, room types, rooms and hotel details. */
export const MANAGE_CATALOG: Grant = { roles: ['HOTEL_MANAGER'], scopes: ['hotels:write'] };
/** Housekeeping writes. */
export const SET_ROOM_STATUS: Grant = { roles: STAFF, scopes: ['hotels:write'] };
/** Housekeeping reads; booking reads it for every hotel to price and refuse out-of-order rooms. */
export const READ_ROOM_STATUS: Grant = { ...SET_ROOM_STATUS, services: { scopes: ['rooms:read'], anyHotel: true } };

/** Who may watch a hotel's housekeeping live: those who may set it. */
export const WATCH_ROOM_STATUS: Grant = SET_ROOM_STATUS;

type Ctx = HotelContext;

/** `true`, or the coded refusal; the subscribe resolver calls it, the rule below per event. */
export function mayWatchRoomStatus(p: Principal, hotelId: unknown): true | Error {
  return (typeof hotelId === 'string' && isGranted(p, WATCH_ROOM_STATUS, hotelId)) || deniedError(p, "this hotel's room status");
}

const roomStatusFeed = authRule<Ctx>('roomStatusFeed', 'no_cache', (room: { hotelId?: string }, { hotelId }: { hotelId: string }, ctx) => {
  const verdict = mayWatchRoomStatus(ctx.principal, hotelId);
  if (verdict !== true) return verdict;
  return room?.hotelId === hotelId || deniedError(ctx.principal, "this hotel's room status");
});

const mayManageCatalog = capability<Ctx>('mayManageCatalog', MANAGE_CATALOG);
const maySetRoomStatus = capability<Ctx>('maySetRoomStatus', SET_ROOM_STATUS);

const hotelTarget = (name: string, hotelIdOf: (args: any) => unknown) =>
  authRule<Ctx>(name, 'no_cache', (_parent, args, ctx) => {
    const hotelId = hotelIdOf(args);
    return (typeof hotelId === 'string' && isGranted(ctx.principal, MANAGE_CATALOG, hotelId)) || notFound('Hotel', hotelId);
  });

const roomTarget = (name: string, grant: Grant, idArg: string) =>
  authRule<Ctx>(name, 'no_cache', async (_parent, args, ctx) => {
    const id = args[idArg] as string;
    const room = isUuid(id) ? await ctx.loaders.room.load(id) : null;
    return (!!room && isGranted(ctx.principal, grant, room.hotelId)) || notFound('Room', id);
  });

const roomTypeTarget = authRule<Ctx>('roomTypeTarget', 'no_cache', async (_parent, args: { id: string }, ctx) => {
  const roomType = isUuid(args.id) ? await ctx.loaders.roomType.load(args.id) : null;
  return (!!roomType && isGranted(ctx.principal, MANAGE_CATALOG, roomType.hotelId)) || notFound('RoomType', args.id);
});

const readRoomStatus = authRule<Ctx>('readRoomStatus', (room: { id: string }) => room.id, (room: { hotelId: string }, _args, ctx) =>
  isGranted(ctx.principal, READ_ROOM_STATUS, room.hotelId),
);

/** `Hotel.rooms(status:)` filters by housekeeping state, so filtering is as private as reading it. */
const roomsOfHotel = authRule<Ctx>(
  'roomsOfHotel',
  (hotel: { id: string }, args: { status?: string | null }) => `${hotel.id}|${args.status ?? ''}`,
  (hotel: { id: string }, args: { status?: string | null }, ctx) => !args.status || isGranted(ctx.principal, READ_ROOM_STATUS, hotel.id),
);

export const permissions = definePermissions(
  {
    Query: {
      hotels: allow,
      hotel: allow,
      room: allow,
      // The bootstrap already demands a valid internal token; entity types below carry their own rules.
      _service: allow,
      _entities: allow,
    },
    Mutation: {
      createHotel: isAdmin,
      updateHotel: chain(mayManageCatalog, hotelTarget('updateHotelTarget', (a) => a.id)),
      createRoomType: chain(mayManageCatalog, hotelTarget('createRoomTypeTarget', (a) => a.input?.hotelId)),
      updateRoomType: chain(mayManageCatalog, roomTypeTarget),
      createRoom: chain(mayManageCatalog, hotelTarget('createRoomTarget', (a) => a.input?.hotelId)),
      updateRoom: chain(mayManageCatalog, roomTarget('updateRoomTarget', MANAGE_CATALOG, 'id')),
      setRoomStatus: chain(maySetRoomStatus, roomTarget('setRoomStatusTarget', SET_ROOM_STATUS, 'roomId')),
    },
    Subscription: { roomStatusChanged: roomStatusFeed },
    Hotel: { '*': allow, rooms: roomsOfHotel },
    Address: allow,
    RoomType: allow,
    Money: allow,
    Room: { '*': allow, status: readRoomStatus },
    _Service: allow,
  },
  { service: 'hotel' },
);
