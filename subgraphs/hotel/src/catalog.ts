import DataLoader from 'dataloader';
import { manyByKey, oneByKey } from '../../../lib/src/loaders.js';
import { z } from 'zod';
import type { PrismaClient, Hotel, Room, RoomType, RoomStatus } from '../../../lib/src/db.js';
import { BadUserInputError, NotFoundError } from '../../../lib/src/errors.js';
import { isCurrencyCode } from '../../../lib/src/money.js';
import { translateWriteErrors } from '../../../lib/src/prisma-errors.js';
import { isTimeZone, isUuid, validateInput } from '../../../lib/src/validation.js';

/**
 * Per-request DataLoaders: every entity reference and list field is fetched with one `IN (...)` query
 * per batch, so 50 `_entities` representations cost one SQL query, not 50.
 */
export function createCatalogLoaders(prisma: PrismaClient) {
  return {
    hotel: new DataLoader<string, Hotel | null>(async (ids) =>
      oneByKey(await prisma.hotel.findMany({ where: { id: { in: [...ids] } } }), ids, (r) => r.id),
    ),
    roomType: new DataLoader<string, RoomType | null>(async (ids) =>
      oneByKey(await prisma.roomType.findMany({ where: { id: { in: [...ids] } } }), ids, (r) => r.id),
    ),
    room: new DataLoader<string, Room | null>(async (ids) =>
      oneByKey(await prisma.room.findMany({ where: { id: { in: [...ids] } } }), ids, (r) => r.id),
    ),
    roomTypesByHotel: new DataLoader<string, RoomType[]>(async (ids) =>
      manyByKey(
        await prisma.roomType.findMany({ where: { hotelId: { in: [...ids] } }, orderBy: { name: 'asc' } }),
        ids,
        (r) => r.hotelId,
      ),
    ),
    roomsByHotel: new DataLoader<string, Room[]>(async (ids) =>
      manyByKey(
        await prisma.room.findMany({ where: { hotelId: { in: [...ids] } }, orderBy: [{ floor: 'asc' }, { number: 'asc' }] }),
        ids,
        (r) => r.hotelId,
      ),
    ),
  };
}
export type CatalogLoaders = ReturnType<typeof createCatalogLoaders>;

const uuid = z.uuid({ message: 'must be a valid ID' });
const name = z.string().trim().min(1, 'must not be empty').max(200);
const address = z.object({
  line1: z.string().trim().min(1, 'must not be empty'),
  line2: z.string().trim().nullish(),
  city: z.string().trim().min(1, 'must not be empty'),
  postalCode: z.string().trim().min(1, 'must not be empty').max(20),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, e.g. PT'),
});
const timezone = z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Lisbon');
const currency = z.string().refine(isCurrencyCode, 'must be an ISO 4217 currency code, e.g. EUR');
const capacity = z.number().int().min(1, 'must be at least 1').max(20);
const rate = z.number().int().min(0, 'must not be negative');

const createHotelInput = z.object({
  name,
  slug: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be lowercase letters, digits and dashes').max(80),
  timezone,
  currency,
  address,
});
const updateHotelInput = z.object({ name: name.nullish(), timezone: timezone.nullish(), currency: currency.nullish(), address: address.nullish() });
const createRoomTypeInput = z.object({ hotelId: uuid, name, capacity, baseRateMinor: rate });
const updateRoomTypeInput = z.object({ name: name.nullish(), capacity: capacity.nullish(), baseRateMinor: rate.nullish() });
const roomNumber = z.string().trim().min(1, 'must not be empty').max(10);
const floor = z.number().int().min(-5).max(200);
const createRoomInput = z.object({
  hotelId: uuid,
  roomTypeId: uuid,
  number: roomNumber,
  floor,
  status: z.enum(['CLEAN', 'DIRTY', 'INSPECTED', 'OUT_OF_ORDER']).nullish(),
});
const updateRoomInput = z.object({ number: roomNumber.nullish(), floor: floor.nullish(), roomTypeId: uuid.nullish() });

const addressColumns = (a: z.infer<typeof address>) => ({
  addressLine1: a.line1,
  addressLine2: a.line2 ?? null,
  city: a.city,
  postalCode: a.postalCode,
  country: a.country,
});

/** Drops null/undefined so an update only touches the fields the caller gave. */
const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: NonNullable<T[K]> };

export interface CatalogOptions {
  /**
   * Called after a room's housekeeping status really changed (committed; not for a no-op write of the same
   * status). updateRoom cannot change the status, so setRoomStatus is the only source.
   */
  onRoomStatusChanged?(room: Room): void;
}

export class Catalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: CatalogOptions = {},
  ) {}

  listHotels(): Promise<Hotel[]> {
    return this.prisma.hotel.findMany({ orderBy: { name: 'asc' } });
  }

  async findHotel(args: { id?: string | null; slug?: string | null }): Promise<Hotel | null> {
    if (!args.id === !args.slug) {
      throw new BadUserInputError([{ field: 'id', message: 'give exactly one of id or slug' }]);
    }
    if (args.id) return isUuid(args.id) ? this.prisma.hotel.findUnique({ where: { id: args.id } }) : null;
    return this.prisma.hotel.findUnique({ where: { slug: args.slug! } });
  }

  createHotel(raw: unknown): Promise<Hotel> {
    const input = validateInput(createHotelInput, raw, 'input');
    return translateWriteErrors(
      () => this.prisma.hotel.create({ data: { name: input.name, slug: input.slug, timezone: input.timezone, currency: input.currency, ...addressColumns(input.address) } }),
      { conflict: `A hotel with slug "${input.slug}" already exists`, notFound: { resource: 'Hotel', id: input.slug } },
    );
  }

  updateHotel(id: string, raw: unknown): Promise<Hotel> {
    const input = validateInput(updateHotelInput, raw, 'input');
    const { address: addr, ...rest } = input;
    return translateWriteErrors(
      () => this.prisma.hotel.update({ where: { id: this.id(id, 'Hotel') }, data: { ...defined(rest), ...(addr ? addressColumns(addr) : {}) } }),
      { conflict: 'Hotel update conflicts with another hotel', notFound: { resource: 'Hotel', id } },
    );
  }

  async createRoomType(raw: unknown): Promise<RoomType> {
    const input = validateInput(createRoomTypeInput, raw, 'input');
    await this.requireHotel(input.hotelId);
    return translateWriteErrors(() => this.prisma.roomType.create({ data: input }), {
      conflict: `Room type "${input.name}" already exists in this hotel`,
      notFound: { resource: 'Hotel', id: input.hotelId },
    });
  }

  updateRoomType(id: string, raw: unknown): Promise<RoomType> {
    const input = validateInput(updateRoomTypeInput, raw, 'input');
    return translateWriteErrors(() => this.prisma.roomType.update({ where: { id: this.id(id, 'RoomType') }, data: defined(input) }), {
      conflict: `Room type "${input.name}" already exists in this hotel`,
      notFound: { resource: 'RoomType', id },
    });
  }

  async createRoom(raw: unknown): Promise<Room> {
    const input = validateInput(createRoomInput, raw, 'input');
    await this.requireRoomTypeOfHotel(input.roomTypeId, input.hotelId);
    return translateWriteErrors(
      () => this.prisma.room.create({ data: { hotelId: input.hotelId, roomTypeId: input.roomTypeId, number: input.number, floor: input.floor, status: input.status ?? 'CLEAN' } }),
      { conflict: `Room ${input.number} already exists in this hotel`, notFound: { resource: 'Hotel', id: input.hotelId } },
    );
  }

  async updateRoom(id: string, raw: unknown): Promise<Room> {
    const input = validateInput(updateRoomInput, raw, 'input');
    const room = await this.prisma.room.findUnique({ where: { id: this.id(id, 'Room') } });
    if (!room) throw new NotFoundError('Room', id);
    if (input.roomTypeId) await this.requireRoomTypeOfHotel(input.roomTypeId, room.hotelId);
    return translateWriteErrors(() => this.prisma.room.update({ where: { id }, data: defined(input) }), {
      conflict: `Room ${input.number} already exists in this hotel`,
      notFound: { resource: 'Room', id },
    });
  }

  async setRoomStatus(roomId: string, status: RoomStatus): Promise<Room> {
    const id = this.id(roomId, 'Room');
    // Conditional write: only a real change counts (and is announced), even with concurrent writers.
    const { count } = await translateWriteErrors(() => this.prisma.room.updateMany({ where: { id, status: { not: status } }, data: { status } }), {
      conflict: 'Room status conflict',
      notFound: { resource: 'Room', id: roomId },
    });
    const room = await this.prisma.room.findUnique({ where: { id } });
    if (!room) throw new NotFoundError('Room', roomId);
    if (count > 0) {
      try {
        this.options.onRoomStatusChanged?.(room);
      } catch {
        /* a live update never fails the committed write */
      }
    }
    return room;
  }

  private id(id: string, resource: string): string {
    if (!isUuid(id)) throw new NotFoundError(resource, id);
    return id;
  }

  private async requireHotel(hotelId: string): Promise<void> {
    const found = await this.prisma.hotel.count({ where: { id: hotelId } });
    if (!found) throw new BadUserInputError([{ field: 'input.hotelId', message: 'no such hotel' }]);
  }

  private async requireRoomTypeOfHotel(roomTypeId: string, hotelId: string): Promise<void> {
    const roomType = await this.prisma.roomType.findUnique({ where: { id: roomTypeId } });
    if (!roomType || roomType.hotelId !== hotelId) {
      throw new BadUserInputError([{ field: 'input.roomTypeId', message: 'no such room type in this hotel' }]);
    }
  }
}
