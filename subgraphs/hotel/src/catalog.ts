import DataLoader from 'dataloader';
import { manyByKey, oneByKey } from '../../../lib/src/loaders.js';
import { z } from 'zod';
import type { PrismaClient, Prisma, Hotel, Room, RoomType, RoomStatus } from '../../../lib/src/db.js';
import type { AuditFact, AuditOutbox } from '../../../lib/src/audit-outbox.js';
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
  /** hotel's audit producer (hotel.outbox): every write records its event in the write's transaction. */
  audit: Pick<AuditOutbox, 'record' | 'afterCommit'>;
  transactionOptions?: { maxWait: number; timeout: number };
  /**
   * Called after a room's housekeeping status really changed (committed; not for a no-op write of the same
   * status). updateRoom cannot change the status, so setRoomStatus is the only source.
   */
  onRoomStatusChanged?(room: Room): void;
  /** After any committed change of hotel, room type, rate or room rows (the gateway's hotel cache is invalidated). */
  onCatalogChanged?(): void;
}

/** Who writes, for the audit trail (`actorOf(principal)`) and the request's correlation ID. */
export interface Caller {
  actor: string;
  correlationId: string;
}

type Tx = Prisma.TransactionClient;
/** An audit fact of this hotel's chain, from the caller and what changed (IDs and settings; no PII lives here). */
const fact = (caller: Caller, action: string, resource: { type: string; id: string; hotelId: string }, details: Record<string, unknown>): AuditFact => ({
  actor: caller.actor,
  correlationId: caller.correlationId,
  action,
  resourceType: resource.type,
  resourceId: resource.id,
  hotelId: resource.hotelId,
  details,
});

export class Catalog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: CatalogOptions,
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

  createHotel(raw: unknown, caller: Caller): Promise<Hotel> {
    const input = validateInput(createHotelInput, raw, 'input');
    return translateWriteErrors(
      () =>
        this.audited(
          (tx) => tx.hotel.create({ data: { name: input.name, slug: input.slug, timezone: input.timezone, currency: input.currency, ...addressColumns(input.address) } }),
          (hotel) => fact(caller, 'hotel.created', { type: 'Hotel', id: hotel.id, hotelId: hotel.id }, { slug: hotel.slug, timezone: hotel.timezone, currency: hotel.currency, country: hotel.country }),
        ),
      { conflict: `A hotel with slug "${input.slug}" already exists`, notFound: { resource: 'Hotel', id: input.slug } },
    );
  }

  updateHotel(id: string, raw: unknown, caller: Caller): Promise<Hotel> {
    const input = validateInput(updateHotelInput, raw, 'input');
    const { address: addr, ...rest } = input;
    const changes = defined(rest);
    return translateWriteErrors(
      () =>
        this.audited(
          (tx) => tx.hotel.update({ where: { id: this.id(id, 'Hotel') }, data: { ...changes, ...(addr ? addressColumns(addr) : {}) } }),
          (hotel) => fact(caller, 'hotel.updated', { type: 'Hotel', id: hotel.id, hotelId: hotel.id }, { changed: [...Object.keys(changes), ...(addr ? ['address'] : [])].sort() }),
        ),
      { conflict: 'Hotel update conflicts with another hotel', notFound: { resource: 'Hotel', id } },
    );
  }

  async createRoomType(raw: unknown, caller: Caller): Promise<RoomType> {
    const input = validateInput(createRoomTypeInput, raw, 'input');
    await this.requireHotel(input.hotelId);
    return translateWriteErrors(
      () =>
        this.audited(
          (tx) => tx.roomType.create({ data: input }),
          (type) => fact(caller, 'room_type.created', { type: 'RoomType', id: type.id, hotelId: type.hotelId }, { name: type.name, capacity: type.capacity, baseRateMinor: type.baseRateMinor }),
        ),
      { conflict: `Room type "${input.name}" already exists in this hotel`, notFound: { resource: 'Hotel', id: input.hotelId } },
    );
  }

  /** A rate change is `rate.changed` (from / to, minor units); any other change `room_type.updated`. */
  updateRoomType(id: string, raw: unknown, caller: Caller): Promise<RoomType> {
    const input = validateInput(updateRoomTypeInput, raw, 'input');
    const changes = defined(input);
    return translateWriteErrors(
      () =>
        this.audited(
          async (tx) => {
            const before = await tx.roomType.findUnique({ where: { id: this.id(id, 'RoomType') } });
            if (!before) throw new NotFoundError('RoomType', id);
            return { before, after: await tx.roomType.update({ where: { id }, data: changes }) };
          },
          ({ before, after }) => {
            const changed = Object.keys(changes).sort();
            const rate = before.baseRateMinor !== after.baseRateMinor ? { fromMinor: before.baseRateMinor, toMinor: after.baseRateMinor } : null;
            return fact(caller, rate ? 'rate.changed' : 'room_type.updated', { type: 'RoomType', id, hotelId: after.hotelId }, { changed, ...rate });
          },
        ).then(({ after }) => after),
      { conflict: `Room type "${input.name}" already exists in this hotel`, notFound: { resource: 'RoomType', id } },
    );
  }

  async createRoom(raw: unknown, caller: Caller): Promise<Room> {
    const input = validateInput(createRoomInput, raw, 'input');
    await this.requireRoomTypeOfHotel(input.roomTypeId, input.hotelId);
    return translateWriteErrors(
      () =>
        this.audited(
          (tx) => tx.room.create({ data: { hotelId: input.hotelId, roomTypeId: input.roomTypeId, number: input.number, floor: input.floor, status: input.status ?? 'CLEAN' } }),
          (room) => fact(caller, 'room.created', { type: 'Room', id: room.id, hotelId: room.hotelId }, { number: room.number, floor: room.floor, roomTypeId: room.roomTypeId, status: room.status }),
        ),
      { conflict: `Room ${input.number} already exists in this hotel`, notFound: { resource: 'Hotel', id: input.hotelId } },
    );
  }

  async updateRoom(id: string, raw: unknown, caller: Caller): Promise<Room> {
    const input = validateInput(updateRoomInput, raw, 'input');
    const room = await this.prisma.room.findUnique({ where: { id: this.id(id, 'Room') } });
    if (!room) throw new NotFoundError('Room', id);
    if (input.roomTypeId) await this.requireRoomTypeOfHotel(input.roomTypeId, room.hotelId);
    const changes = defined(input);
    return translateWriteErrors(
      () =>
        this.audited(
          (tx) => tx.room.update({ where: { id }, data: changes }),
          (after) => fact(caller, 'room.updated', { type: 'Room', id, hotelId: after.hotelId }, { number: after.number, changed: Object.keys(changes).sort() }),
        ),
      { conflict: `Room ${input.number} already exists in this hotel`, notFound: { resource: 'Room', id } },
    );
  }

  async setRoomStatus(roomId: string, status: RoomStatus, caller: Caller): Promise<Room> {
    const id = this.id(roomId, 'Room');
    // The row lock makes `from` exact with concurrent writers; a write of the same status is no change
    // (nothing audited, nothing announced).
    const { room, from } = await translateWriteErrors(
      () =>
        this.audited(
          async (tx) => {
            const [locked] = await tx.$queryRaw<Array<{ status: RoomStatus }>>`SELECT status FROM hotel.rooms WHERE id = ${id}::uuid FOR UPDATE`;
            if (!locked) throw new NotFoundError('Room', roomId);
            if (locked.status === status) return { room: await tx.room.findUniqueOrThrow({ where: { id } }), from: null };
            return { room: await tx.room.update({ where: { id }, data: { status } }), from: locked.status };
          },
          ({ room, from }) => from && fact(caller, 'room.status_changed', { type: 'Room', id, hotelId: room.hotelId }, { number: room.number, from, to: room.status }),
        ),
      { conflict: 'Room status conflict', notFound: { resource: 'Room', id: roomId } },
    );
    if (from) {
      try {
        this.options.onRoomStatusChanged?.(room);
      } catch {
        /* a live update never fails the committed write */
      }
    }
    return room;
  }

  /** A write and its audit event in one transaction (both or neither); the relay is kicked once it committed. */
  private async audited<T>(write: (tx: Tx) => Promise<T>, auditFact: (result: T) => AuditFact | null): Promise<T> {
    let changed = false;
    const result = await this.prisma.$transaction(async (tx) => {
      const written = await write(tx);
      const event = auditFact(written);
      // Every change writes its event; no event = nothing changed (a room set to the status it had).
      if (event) await this.options.audit.record(event, tx);
      changed = !!event;
      return written;
    }, this.options.transactionOptions);
    this.options.audit.afterCommit();
    if (changed) this.options.onCatalogChanged?.();
    return result;
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
