import { randomBytes } from 'node:crypto';
import DataLoader from 'dataloader';
import { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';
import type { Booking, BookingStatus, Guest, Prisma, PrismaClient } from '../../../lib/src/db.js';
import { PgErrorCode, pgErrorCode } from '../../../lib/src/db.js';
import type { AuditOutbox, RawExecutor } from '../../../lib/src/audit-outbox.js';
import { BadUserInputError, ConflictError, NotFoundError, type FieldProblem } from '../../../lib/src/errors.js';
import { fromIsoDate, isIsoDate, toIsoDate } from '../../../lib/src/scalars.js';
import { UUID, isUuid, validateInput } from '../../../lib/src/validation.js';
import { todayIn, type HotelInventory } from './inventory.js';
import { oneByKey } from '../../../lib/src/loaders.js';
import type { BookingChange, BookingEventType } from './feed.js';

export const ACTIVE_STATUSES: BookingStatus[] = ['PENDING', 'CONFIRMED', 'CHECKED_IN'];
const MAX_NIGHTS = 30;
const MAX_PAGE = 100;

const nightsBetween = (checkIn: string, checkOut: string) =>
  Math.round((fromIsoDate(checkOut).getTime() - fromIsoDate(checkIn).getTime()) / 86_400_000);

const createBookingInput = z
  .object({
    hotelId: z.string().regex(UUID, 'must be a valid hotel ID'),
    roomId: z.string().regex(UUID, 'must be a valid room ID'),
    checkIn: z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD'),
    checkOut: z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD'),
    guests: z.number().int().min(1, 'must be at least 1').max(20, 'must be at most 20').nullish().transform((g) => g ?? 1),
    guest: z.object({
      name: z.string().trim().min(1, 'must not be empty').max(200),
      email: z.email({ message: 'must be a valid email address' }).max(254).transform((e) => e.toLowerCase()),
      phone: z
        .string()
        .trim()
        .regex(/^\+?[0-9 ()./-]{6,20}$/, 'must be a phone number, e.g. +351 21 000 0000')
        .nullish(),
    }),
    idempotencyKey: z.string().min(8, 'must be 8 to 128 characters').max(128, 'must be 8 to 128 characters').nullish(),
  })
  .superRefine((input, ctx) => {
    if (isIsoDate(input.checkIn) && isIsoDate(input.checkOut)) {
      const nights = nightsBetween(input.checkIn, input.checkOut);
      if (nights < 1) ctx.addIssue({ code: 'custom', path: ['checkOut'], message: 'must be after checkIn' });
      if (nights > MAX_NIGHTS) ctx.addIssue({ code: 'custom', path: ['checkOut'], message: `stay must be at most ${MAX_NIGHTS} nights` });
    }
  });
type CreateBookingInput = z.infer<typeof createBookingInput>;

const stayInput = z
  .object({
    hotelId: z.string().regex(UUID, 'must be a valid hotel ID'),
    checkIn: z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD'),
    checkOut: z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD'),
    guests: z.number().int().min(1, 'must be at least 1').max(20, 'must be at most 20'),
  })
  .refine((s) => nightsBetween(s.checkIn, s.checkOut) >= 1, { path: ['checkOut'], message: 'must be after checkIn' });

const filterInput = z
  .object({
    status: z.array(z.enum(['PENDING', 'CONFIRMED', 'CHECKED_IN', 'CHECKED_OUT', 'CANCELLED'])).nullish(),
    from: z.string().nullish(),
    to: z.string().nullish(),
  })
  .nullish();
const pageInput = z.object({
  first: z.number().int().min(0, 'must not be negative').max(MAX_PAGE, `must be at most ${MAX_PAGE}`).nullish(),
  after: z.string().max(200).nullish(),
});

export interface PageArgs {
  filter?: z.infer<typeof filterInput>;
  first?: number | null;
  after?: string | null;
}

/** Who acts, as the audit trail records it (`actorOf(principal)`, never an email), and under which request. */
export interface Caller {
  actor: string;
  correlationId: string;
  /** Where the change came from when not the caller's own action (e.g. `pms-webhook`); lands in the audit details. */
  source?: string;
}

/**
 * Which bookings a caller may see (permissions.ts `bookingVisibility` decides it from the principal): every booking, or
 * those of some hotels plus those whose guest has the caller's email (GUEST ownership).
 */
export type BookingVisibility = 'all' | { hotelIds: readonly string[]; guestEmail?: string };

export interface BookingPage {
  nodes: Booking[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** Cursor: opaque base64url of (checkIn, id), the connection's sort key. */
const encodeCursor = (b: Booking) => Buffer.from(JSON.stringify([toIsoDate(b.checkIn), b.id])).toString('base64url');
function decodeCursor(cursor: string): [string, string] {
  try {
    const [date, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof date === 'string' && isIsoDate(date) && typeof id === 'string' && isUuid(id)) return [date, id];
  } catch {
    /* falls through */
  }
  throw new BadUserInputError([{ field: 'after', message: 'is not a cursor returned by this API' }]);
}

/** Human-readable booking reference: IK- + 8 Crockford base32 characters (40 random bits). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export function newReference(): string {
  const bytes = randomBytes(8);
  let out = 'IK-';
  for (let i = 0; i < 8; i++) out += ALPHABET[bytes[i]! % 32];
  return out;
}

export function createBookingLoaders(prisma: PrismaClient) {
  return {
    booking: new DataLoader<string, Booking | null>(async (ids) => {
      const rows = await prisma.booking.findMany({ where: { id: { in: ids.filter(isUuid) } } });
      return oneByKey(rows, ids, (r) => r.id);
    }),
    guest: new DataLoader<string, Guest | null>(async (ids) => {
      const rows = await prisma.guest.findMany({ where: { id: { in: [...ids] } } });
      return oneByKey(rows, ids, (r) => r.id);
    }),
  };
}
export type BookingLoaders = ReturnType<typeof createBookingLoaders>;

export interface BookingsDeps {
  prisma: PrismaClient;
  transactionOptions: { maxWait: number; timeout: number };
  inventory: HotelInventory;
  /** booking's audit producer (booking.outbox): events recorded in the change's transaction, shipped after commit. */
  audit: Pick<AuditOutbox, 'record' | 'afterCommit'>;
  /**
   * Called after a booking change COMMITTED (never inside the transaction), synchronously, so live
   * events leave in commit order (feed.ts). Not called for an idempotent replay: it changed nothing.
   */
  onChanged?(change: BookingChange): void;
}

type Transition = { from: BookingStatus[]; to: BookingStatus; action: string; event: BookingEventType };
// Nothing moves a PENDING booking to CONFIRMED today (createBooking writes CONFIRMED at once, reported as
// CREATED); a confirm transition would add `{ from: ['PENDING'], to: 'CONFIRMED', event: 'CONFIRMED' }`.
const TRANSITIONS = {
  cancel: { from: ['PENDING', 'CONFIRMED'], to: 'CANCELLED', action: 'booking.cancelled', event: 'CANCELLED' },
  checkIn: { from: ['PENDING', 'CONFIRMED'], to: 'CHECKED_IN', action: 'booking.checked_in', event: 'CHECKED_IN' },
  checkOut: { from: ['CHECKED_IN'], to: 'CHECKED_OUT', action: 'booking.checked_out', event: 'CHECKED_OUT' },
} satisfies Record<string, Transition>;

/** The booking domain: validation, pricing, the double-booking guarantee, state changes and their audit. */
export class Bookings {
  constructor(private readonly deps: BookingsDeps) {}

  async create(raw: unknown, caller: Caller): Promise<Booking> {
    const { correlationId } = caller;
    const input = validateInput(createBookingInput, raw, 'input');
    if (input.idempotencyKey) {
      const earlier = await this.deps.prisma.booking.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
      if (earlier) return this.replay(earlier, input);
    }

    const room = await this.deps.inventory.room(input.roomId, correlationId);
    const problems: FieldProblem[] = [];
    if (!room) problems.push({ field: 'input.roomId', message: 'no such room' });
    else if (room.hotel.id !== input.hotelId) problems.push({ field: 'input.roomId', message: 'room does not belong to this hotel' });
    else {
      if (input.checkIn < todayIn(room.hotel.timezone)) problems.push({ field: 'input.checkIn', message: 'must not be in the past' });
      if (input.guests > room.roomType.capacity) {
        problems.push({ field: 'input.guests', message: `room takes at most ${room.roomType.capacity} guests` });
      }
    }
    if (problems.length) throw new BadUserInputError(problems);
    if (room!.status === 'OUT_OF_ORDER') throw new ConflictError('Room is out of order', { roomId: input.roomId });

    const nights = nightsBetween(input.checkIn, input.checkOut);
    try {
      const booking = await this.deps.prisma.$transaction(async (tx) => {
        const guestId = await this.guestFor(tx, input.guest);
        const created = await tx.booking.create({
          data: {
            id: uuidv7(),
            reference: newReference(),
            hotelId: input.hotelId,
            roomId: input.roomId,
            guestId,
            status: 'CONFIRMED',
            checkIn: fromIsoDate(input.checkIn),
            checkOut: fromIsoDate(input.checkOut),
            guests: input.guests,
            totalMinor: nights * room!.roomType.baseRate.amountMinor,
            currency: room!.hotel.currency,
            idempotencyKey: input.idempotencyKey ?? null,
          },
        });
        await this.recordAudit(tx, created, 'booking.created', caller, { nights, guests: input.guests });
        return created;
      }, this.deps.transactionOptions);
      this.deps.audit.afterCommit();
      this.announce({ type: 'CREATED', booking, correlationId, timezone: room!.hotel.timezone });
      return booking;
    } catch (error) {
      const code = pgErrorCode(error);
      if (input.idempotencyKey && (code === PgErrorCode.uniqueViolation || code === PgErrorCode.exclusionViolation)) {
        // A concurrent request with the same key may have won the race (its row then blocks ours on the
        // key or on the room's nights): answer with its booking.
        const earlier = await this.deps.prisma.booking.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
        if (earlier) return this.replay(earlier, input);
      }
      if (code === PgErrorCode.exclusionViolation) {
        throw new ConflictError('The room is already booked for at least one of these nights', { roomId: input.roomId });
      }
      throw error;
    }
  }

  /**
   * The guest's ID by email, inside the booking's transaction: inserted when new, name and phone updated
   * only when they changed. The row is locked only by that update, never just to read it: an upsert that
   * always updated (`ON CONFLICT DO UPDATE`) held the guest's row until the booking committed, so every
   * booking of one guest (a group booked under one contact) waited for the one before it. The booking's
   * foreign key takes a KEY SHARE lock, which does not block another booking of the same guest.
   * Concurrent first bookings of one new email: the second waits on the unique index until the first
   * commits, then finds its row (the fallback read below, in a new snapshot).
   */
  private async guestFor(tx: Prisma.TransactionClient, guest: CreateBookingInput['guest']): Promise<string> {
    const phone = guest.phone ?? null;
    const [found] = await tx.$queryRaw<Array<{ id: string }>>`
      WITH inserted AS (
        INSERT INTO booking.guests (id, name, email, phone, updated_at)
        VALUES (${uuidv7()}::uuid, ${guest.name}, ${guest.email}, ${phone}, now())
        ON CONFLICT (email) DO NOTHING
        RETURNING id
      ), updated AS (
        UPDATE booking.guests SET name = ${guest.name}, phone = COALESCE(${phone}::text, phone), updated_at = now()
        WHERE email = ${guest.email} AND NOT EXISTS (SELECT 1 FROM inserted)
          AND (name IS DISTINCT FROM ${guest.name} OR phone IS DISTINCT FROM COALESCE(${phone}::text, phone))
        RETURNING id
      )
      SELECT id FROM inserted
      UNION ALL SELECT id FROM updated
      UNION ALL SELECT id FROM booking.guests WHERE email = ${guest.email} AND NOT EXISTS (SELECT 1 FROM inserted)
      LIMIT 1`;
    if (found) return found.id;
    // The email's row was committed by a concurrent booking after this statement's snapshot was taken.
    const [committed] = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM booking.guests WHERE email = ${guest.email}`;
    if (committed) return committed.id;
    throw new ConflictError('The guest record changed while booking; retry', { field: 'input.guest.email' });
  }

  byReference(reference: string): Promise<Booking | null> {
    return this.deps.prisma.booking.findUnique({ where: { reference: reference.trim().toUpperCase() } });
  }

  cancel(id: string, reason: string | null | undefined, caller: Caller): Promise<Booking> {
    if (reason && reason.length > 500) throw new BadUserInputError([{ field: 'reason', message: 'must be at most 500 characters' }]);
    return this.transition(id, TRANSITIONS.cancel, caller, { cancelReason: reason ?? null });
  }

  checkIn(id: string, caller: Caller): Promise<Booking> {
    return this.transition(id, TRANSITIONS.checkIn, caller);
  }

  checkOut(id: string, caller: Caller): Promise<Booking> {
    return this.transition(id, TRANSITIONS.checkOut, caller);
  }

  async availableRoomIds(args: { hotelId: string; checkIn: string; checkOut: string; guests: number }, correlationId: string): Promise<string[]> {
    const stay = validateInput(stayInput, args, '');
    const hotel = await this.deps.inventory.hotel(stay.hotelId, correlationId);
    if (!hotel) throw new NotFoundError('Hotel', stay.hotelId);
    const candidates = hotel.rooms.filter((r) => r.status !== 'OUT_OF_ORDER' && r.roomType.capacity >= stay.guests);
    if (candidates.length === 0) return [];
    const taken = await this.deps.prisma.booking.findMany({
      where: {
        roomId: { in: candidates.map((r) => r.id) },
        status: { in: ACTIVE_STATUSES },
        checkIn: { lt: fromIsoDate(stay.checkOut) },
        checkOut: { gt: fromIsoDate(stay.checkIn) },
      },
      select: { roomId: true },
      distinct: ['roomId'],
    });
    const takenIds = new Set(taken.map((t) => t.roomId));
    return candidates.filter((r) => !takenIds.has(r.id)).map((r) => r.id);
  }

  /**
   * One page of a hotel's or a room's bookings, ordered by (checkIn, id), containing only bookings the
   * caller may see: the count and the cursor never reveal the others.
   */
  async page(owner: { hotelId: string } | { roomId: string }, args: PageArgs, visibility: BookingVisibility): Promise<BookingPage> {
    const filter = validateInput(filterInput, args.filter, 'filter');
    const { first, after } = validateInput(pageInput, { first: args.first, after: args.after }, '');
    const limit = first ?? 20;
    for (const key of ['from', 'to'] as const) {
      const value = filter?.[key];
      if (value && !isIsoDate(value)) throw new BadUserInputError([{ field: `filter.${key}`, message: 'must be a date YYYY-MM-DD' }]);
    }
    const visible = visibleWhere(visibility);
    if (!visible) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    const where = {
      ...visible,
      ...owner,
      ...(filter?.status?.length ? { status: { in: filter.status } } : {}),
      ...(filter?.from ? { checkOut: { gt: fromIsoDate(filter.from) } } : {}),
      ...(filter?.to ? { checkIn: { lt: fromIsoDate(filter.to) } } : {}),
    };
    const cursorWhere = after
      ? (() => {
          const [date, id] = decodeCursor(after);
          const d = fromIsoDate(date);
          return { OR: [{ checkIn: { gt: d } }, { checkIn: d, id: { gt: id } }] };
        })()
      : {};
    const [rows, totalCount] = await Promise.all([
      this.deps.prisma.booking.findMany({
        where: { AND: [where, cursorWhere] },
        orderBy: [{ checkIn: 'asc' }, { id: 'asc' }],
        take: limit + 1,
      }),
      this.deps.prisma.booking.count({ where }),
    ]);
    const nodes = rows.slice(0, limit);
    const last = nodes.at(-1);
    return { nodes, pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor(last) : null }, totalCount };
  }

  private replay(earlier: Booking, input: CreateBookingInput): Booking {
    const same =
      earlier.hotelId === input.hotelId &&
      earlier.roomId === input.roomId &&
      toIsoDate(earlier.checkIn) === input.checkIn &&
      toIsoDate(earlier.checkOut) === input.checkOut;
    if (!same) throw new ConflictError('idempotencyKey was already used for a different booking', { field: 'input.idempotencyKey' });
    return earlier;
  }

  private async transition(id: string, transition: Transition, caller: Caller, extra: { cancelReason?: string | null } = {}): Promise<Booking> {
    if (!isUuid(id)) throw new NotFoundError('Booking', id);
    const booking = await this.deps.prisma.$transaction(async (tx) => {
      // Conditional update: a concurrent transition cannot slip between the read and the write.
      const { count } = await tx.booking.updateMany({
        where: { id, status: { in: transition.from } },
        data: { status: transition.to, ...extra },
      });
      const current = await tx.booking.findUnique({ where: { id } });
      if (!current) throw new NotFoundError('Booking', id);
      if (count === 0) {
        throw new ConflictError(`A ${current.status} booking cannot become ${transition.to}`, { status: current.status });
      }
      await this.recordAudit(tx, current, transition.action, caller, {
        to: transition.to,
        ...(extra.cancelReason ? { reasonGiven: true } : {}),
        ...(caller.source ? { source: caller.source } : {}),
      });
      return current;
    }, this.deps.transactionOptions);
    this.deps.audit.afterCommit();
    this.announce({ type: transition.event, booking, correlationId: caller.correlationId });
    return booking;
  }

  /** Live events are a courtesy to watchers: whatever happens there, the committed change stands. */
  private announce(change: BookingChange): void {
    try {
      this.deps.onChanged?.(change);
    } catch {
      /* feed.ts logs its own failures */
    }
  }

  private async recordAudit(
    tx: RawExecutor,
    booking: Booking,
    action: string,
    { actor, correlationId }: Caller,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.audit.record(
      {
        actor,
        action,
        resourceType: 'Booking',
        resourceId: booking.id,
        hotelId: booking.hotelId,
        correlationId,
        // Never guest PII here: references and facts only.
        details: { reference: booking.reference, status: booking.status, roomId: booking.roomId, checkIn: toIsoDate(booking.checkIn), checkOut: toIsoDate(booking.checkOut), ...details },
      },
      tx,
    );
  }
}

/** The Prisma condition for "visible to the caller"; undefined when nothing is. */
function visibleWhere(visibility: BookingVisibility): Prisma.BookingWhereInput | undefined {
  if (visibility === 'all') return {};
  const any: Prisma.BookingWhereInput[] = [
    ...(visibility.hotelIds.length ? [{ hotelId: { in: [...visibility.hotelIds] } }] : []),
    ...(visibility.guestEmail ? [{ guest: { email: visibility.guestEmail } }] : []),
  ];
  return any.length ? { OR: any } : undefined;
}
