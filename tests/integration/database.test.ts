/**
 * The database keeps its own promises, whatever the application code does: every Prisma model matches
 * the hand-written migration, a room cannot be double-booked, stays have a positive length, an
 * idempotency key books once, and the audit trail cannot be rewritten. Runs against the real local
 * PostgreSQL, in a database of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createDatabase, PgErrorCode, pgErrorCode, type Database } from '../../lib/src/db.js';
import { migrate } from '../../lib/src/migrate.js';
import { fromIsoDate } from '../../lib/src/scalars.js';
import { seedDemoData, seedId } from '../../scripts/lib/seed.js';
import { scratchDatabase } from './scratch-database.js';

const scratch = scratchDatabase('innkeep_db_test');
const testUrl = scratch.url;



let db: Database;

beforeAll(async () => {
  await scratch.create();
  await migrate(testUrl);
  db = createDatabase({ url: testUrl, poolSize: 4, acquireTimeoutMs: 5000, applicationName: 'innkeep-database-test' });
});

afterAll(async () => {
  await db?.close();
  await scratch.drop();
});

/** Runs `work`, which must fail, and returns the SQLSTATE pgErrorCode finds in what it threw. */
async function sqlStateOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
  } catch (error) {
    return pgErrorCode(error) ?? `no SQLSTATE found in ${String(error)}`;
  }
  throw new Error('expected the database to refuse this');
}

/** A hotel with one room type and one room, to hang bookings on. */
async function aRoom() {
  const { prisma } = db;
  const slug = `test-${randomUUID().slice(0, 8)}`;
  const hotel = await prisma.hotel.create({
    data: { slug, name: 'Test Inn', timezone: 'Europe/Lisbon', currency: 'EUR', addressLine1: 'Rua 1', city: 'Lisbon', postalCode: '1000-001', country: 'PT' },
  });
  const roomType = await prisma.roomType.create({ data: { hotelId: hotel.id, name: 'Double', capacity: 2, baseRateMinor: 10000 } });
  const room = await prisma.room.create({ data: { hotelId: hotel.id, roomTypeId: roomType.id, number: '101', floor: 1 } });
  const guest = await prisma.guest.create({ data: { name: 'Ada Lovelace', email: `${slug}@example.test` } });
  return { hotel, room, guest };
}

type Stay = { checkIn: string; checkOut: string; status?: 'PENDING' | 'CONFIRMED' | 'CHECKED_IN' | 'CHECKED_OUT' | 'CANCELLED'; idempotencyKey?: string };

function book(r: Awaited<ReturnType<typeof aRoom>>, stay: Stay) {
  return db.prisma.booking.create({
    data: {
      reference: `IK-${randomUUID().slice(0, 8).toUpperCase()}`,
      hotelId: r.hotel.id,
      roomId: r.room.id,
      guestId: r.guest.id,
      status: stay.status ?? 'CONFIRMED',
      checkIn: fromIsoDate(stay.checkIn),
      checkOut: fromIsoDate(stay.checkOut),
      totalMinor: 20000,
      currency: 'EUR',
      idempotencyKey: stay.idempotencyKey,
    },
  });
}

describe('every Prisma model matches the migration (create, then read back)', () => {
  it('Hotel, RoomType and Room (hotel schema)', async () => {
    const { prisma } = db;
    const hotelData = {
      slug: 'model-check-hotel',
      name: 'Model Check Hotel',
      timezone: 'Pacific/Auckland',
      currency: 'NZD',
      addressLine1: '1 Queen Street',
      addressLine2: 'Level 2',
      city: 'Auckland',
      postalCode: '1010',
      country: 'NZ',
    };
    const hotel = await prisma.hotel.create({ data: hotelData });
    expect(await prisma.hotel.findUniqueOrThrow({ where: { slug: 'model-check-hotel' } })).toEqual({
      ...hotelData,
      id: hotel.id,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });

    const roomType = await prisma.roomType.create({ data: { hotelId: hotel.id, name: 'Harbour Suite', capacity: 3, baseRateMinor: 45000 } });
    expect(await prisma.roomType.findUniqueOrThrow({ where: { hotelId_name: { hotelId: hotel.id, name: 'Harbour Suite' } } })).toMatchObject({
      id: roomType.id,
      hotelId: hotel.id,
      capacity: 3,
      baseRateMinor: 45000,
    });

    const room = await prisma.room.create({ data: { hotelId: hotel.id, roomTypeId: roomType.id, number: '1204', floor: 12, status: 'OUT_OF_ORDER' } });
    const readBack = await prisma.room.findUniqueOrThrow({ where: { id: room.id }, include: { hotel: true, roomType: true } });
    expect(readBack).toMatchObject({ number: '1204', floor: 12, status: 'OUT_OF_ORDER', hotel: { slug: 'model-check-hotel' }, roomType: { name: 'Harbour Suite' } });
    const defaulted = await prisma.room.create({ data: { hotelId: hotel.id, roomTypeId: roomType.id, number: '1205', floor: 12 } });
    expect(defaulted.status).toBe('CLEAN');
  });

  it('Guest and Booking (booking schema)', async () => {
    const { prisma } = db;
    const r = await aRoom();
    const guest = await prisma.guest.create({ data: { name: 'Grace Hopper', email: 'grace@example.test', phone: '+1 555 0100' } });
    expect(await prisma.guest.findUniqueOrThrow({ where: { email: 'grace@example.test' } })).toMatchObject({ id: guest.id, phone: '+1 555 0100' });

    const booking = await prisma.booking.create({
      data: {
        reference: 'IK-MODEL001',
        hotelId: r.hotel.id,
        roomId: r.room.id,
        guestId: guest.id,
        status: 'CANCELLED',
        checkIn: fromIsoDate('2026-05-01'),
        checkOut: fromIsoDate('2026-05-04'),
        guests: 2,
        totalMinor: 56700,
        currency: 'EUR',
        idempotencyKey: 'model-check-key-0001',
        cancelReason: 'Flight cancelled',
      },
    });
    const readBack = await prisma.booking.findUniqueOrThrow({ where: { reference: 'IK-MODEL001' }, include: { guest: true } });
    expect(readBack).toMatchObject({
      id: booking.id,
      status: 'CANCELLED',
      checkIn: fromIsoDate('2026-05-01'),
      checkOut: fromIsoDate('2026-05-04'),
      guests: 2,
      totalMinor: 56700,
      currency: 'EUR',
      idempotencyKey: 'model-check-key-0001',
      cancelReason: 'Flight cancelled',
      guest: { email: 'grace@example.test' },
    });
    const defaulted = await book(r, { checkIn: '2026-06-01', checkOut: '2026-06-02' });
    expect(defaulted).toMatchObject({ guests: 1, idempotencyKey: null, cancelReason: null });
  });

  it('BookingOutbox (booking schema)', async () => {
    const { prisma } = db;
    const first = await prisma.bookingOutbox.create({ data: { id: randomUUID(), topic: 'booking.created', payload: { reference: 'IK-1', nights: [1, 2] } } });
    const second = await prisma.bookingOutbox.create({ data: { id: randomUUID(), topic: 'booking.cancelled', payload: { reference: 'IK-1' } } });
    expect(second.sequence).toBeGreaterThan(first.sequence);
    expect(await prisma.bookingOutbox.findUniqueOrThrow({ where: { id: first.id } })).toEqual({
      id: first.id,
      sequence: first.sequence,
      topic: 'booking.created',
      payload: { reference: 'IK-1', nights: [1, 2] },
      createdAt: expect.any(Date),
      deliveredAt: null,
      attempts: 0,
      lastError: null,
    });
    const delivered = await prisma.bookingOutbox.update({ where: { id: first.id }, data: { deliveredAt: new Date(), attempts: 1, lastError: 'earlier failure' } });
    expect(delivered).toMatchObject({ attempts: 1, lastError: 'earlier failure', deliveredAt: expect.any(Date) });
  });

  it('PmsConnection and PmsReservation (pms schema)', async () => {
    const { prisma } = db;
    const hotelId = randomUUID();
    const syncedAt = new Date('2026-03-01T10:00:00.123Z');
    const sealed = 'v1.keyid123.aXY.dGFn.Y2lwaGVydGV4dA'; // the shape credentials.ts writes (a CHECK refuses others)
    const connection = await prisma.pmsConnection.create({
      data: { hotelId, vendor: 'mews', propertyCode: 'HTL1', status: 'ERROR', lastSyncAt: syncedAt, lastError: 'vendor 503', credentialsCiphertext: sealed, credentialsHint: '…oken', pullCursor: '2026-03-01T10:00:00.000Z', lastPullAt: syncedAt },
    });
    expect(await prisma.pmsConnection.findUniqueOrThrow({ where: { hotelId } })).toMatchObject({
      id: connection.id,
      vendor: 'mews',
      propertyCode: 'HTL1',
      status: 'ERROR',
      lastSyncAt: syncedAt,
      lastError: 'vendor 503',
      credentialsCiphertext: sealed,
      credentialsHint: '…oken',
      pullCursor: '2026-03-01T10:00:00.000Z',
      lastPullAt: syncedAt,
    });

    const bookingId = randomUUID();
    await prisma.pmsReservation.create({ data: { bookingId, hotelId, externalId: 'FPMS-1', syncStatus: 'SYNCED', syncedAt } });
    expect(await prisma.pmsReservation.findUniqueOrThrow({ where: { bookingId } })).toEqual({
      bookingId,
      hotelId,
      externalId: 'FPMS-1',
      syncStatus: 'SYNCED',
      syncedAt,
      lastError: null,
      updatedAt: expect.any(Date),
      pushedStatus: null,
      vendorStatus: null,
      vendorUpdatedAt: null,
      conflictVendorStatus: null,
      conflictInnkeepStatus: null,
      conflictAt: null,
    });
    const conflicted = await prisma.pmsReservation.update({
      where: { bookingId },
      data: { pushedStatus: 'CONFIRMED', vendorStatus: 'CANCELLED', vendorUpdatedAt: syncedAt, conflictVendorStatus: 'CANCELLED', conflictInnkeepStatus: 'CONFIRMED', conflictAt: syncedAt },
    });
    expect(conflicted).toMatchObject({ pushedStatus: 'CONFIRMED', vendorStatus: 'CANCELLED', vendorUpdatedAt: syncedAt, conflictVendorStatus: 'CANCELLED', conflictInnkeepStatus: 'CONFIRMED', conflictAt: syncedAt });
    expect(await prisma.pmsReservation.findFirst({ where: { hotelId, externalId: 'FPMS-1' } })).toMatchObject({ bookingId });
    const pending = await prisma.pmsReservation.create({ data: { bookingId: randomUUID(), hotelId } });
    expect(pending.syncStatus).toBe('PENDING');
  });

  it('PmsSyncJob (pms schema): at most one PENDING job per hotel', async () => {
    const { prisma } = db;
    const hotelId = randomUUID();
    const nextAttemptAt = new Date('2026-03-01T10:00:05.250Z');
    const job = await prisma.pmsSyncJob.create({ data: { hotelId, vendor: 'fakepms', nextAttemptAt, correlationId: 'req-0123456789', lastError: 'PMS vendor answered 503' } });
    expect(await prisma.pmsSyncJob.findUniqueOrThrow({ where: { id: job.id } })).toEqual({
      id: job.id,
      hotelId,
      vendor: 'fakepms',
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt,
      lockedUntil: null,
      lastError: 'PMS vendor answered 503',
      correlationId: 'req-0123456789',
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
      completedAt: null,
    });
    const second = await prisma.pmsSyncJob.create({ data: { hotelId, vendor: 'fakepms', nextAttemptAt } }).catch((e: unknown) => e);
    expect(pgErrorCode(second) ?? (second as { code?: string }).code).toMatch(/^(23505|P2002)$/);
    await prisma.pmsSyncJob.update({ where: { id: job.id }, data: { status: 'COMPLETED', completedAt: new Date() } });
    await expect(prisma.pmsSyncJob.create({ data: { hotelId, vendor: 'fakepms', nextAttemptAt } })).resolves.toMatchObject({ status: 'PENDING' });
  });

  it('AuditEvent (audit schema)', async () => {
    const { prisma } = db;
    const occurredAt = new Date('2026-03-01T10:00:00.456Z');
    const event = await prisma.auditEvent.create({
      data: {
        id: randomUUID(),
        occurredAt,
        actor: 'user:manager-1',
        action: 'booking.cancelled',
        resourceType: 'Booking',
        resourceId: 'IK-1',
        hotelId: randomUUID(),
        correlationId: 'req-0123456789',
        details: { reason: 'no show', refundMinor: 0 },
      },
    });
    expect(await prisma.auditEvent.findUniqueOrThrow({ where: { sequence: event.sequence } })).toEqual({ ...event, recordedAt: expect.any(Date) });
    expect(event).toMatchObject({ occurredAt, details: { reason: 'no show', refundMinor: 0 } });
    const minimal = await prisma.auditEvent.create({
      data: { id: randomUUID(), occurredAt, actor: 'system', action: 'x', resourceType: 'Hotel', resourceId: 'h' },
    });
    expect(minimal).toMatchObject({ details: {}, hotelId: null, correlationId: null });
    expect(minimal.sequence).toBeGreaterThan(event.sequence);
  });
});

describe('bookings: the database refuses what the rules forbid', () => {
  it('refuses a second active booking of the same room on overlapping nights (23P01)', async () => {
    const r = await aRoom();
    await book(r, { checkIn: '2026-07-10', checkOut: '2026-07-14' });
    // Overlaps the middle, the start, the end, and covers the whole stay; for every active status.
    const overlapping: Stay[] = [
      { checkIn: '2026-07-11', checkOut: '2026-07-12' },
      { checkIn: '2026-07-08', checkOut: '2026-07-11', status: 'PENDING' },
      { checkIn: '2026-07-13', checkOut: '2026-07-20', status: 'CHECKED_IN' },
      { checkIn: '2026-07-01', checkOut: '2026-07-31' },
    ];
    for (const stay of overlapping) {
      expect(await sqlStateOf(() => book(r, stay))).toBe(PgErrorCode.exclusionViolation);
    }
    expect(await db.prisma.booking.count({ where: { roomId: r.room.id } })).toBe(1);
  });

  it('lets a cancelled or checked-out booking free its nights', async () => {
    const r = await aRoom();
    await book(r, { checkIn: '2026-08-01', checkOut: '2026-08-05', status: 'CANCELLED' });
    await book(r, { checkIn: '2026-08-10', checkOut: '2026-08-12', status: 'CHECKED_OUT' });
    await expect(book(r, { checkIn: '2026-08-01', checkOut: '2026-08-05' })).resolves.toMatchObject({ status: 'CONFIRMED' });
    await expect(book(r, { checkIn: '2026-08-10', checkOut: '2026-08-12' })).resolves.toMatchObject({ status: 'CONFIRMED' });
  });

  it('refuses to reactivate a cancelled booking onto nights someone else now holds', async () => {
    const r = await aRoom();
    const cancelled = await book(r, { checkIn: '2026-09-01', checkOut: '2026-09-03', status: 'CANCELLED' });
    await book(r, { checkIn: '2026-09-02', checkOut: '2026-09-04' });
    expect(await sqlStateOf(() => db.prisma.booking.update({ where: { id: cancelled.id }, data: { status: 'CONFIRMED' } }))).toBe(
      PgErrorCode.exclusionViolation,
    );
  });

  it('allows back-to-back stays: one guest checks out the day the next checks in', async () => {
    const r = await aRoom();
    await book(r, { checkIn: '2026-10-01', checkOut: '2026-10-03' });
    await expect(book(r, { checkIn: '2026-10-03', checkOut: '2026-10-05' })).resolves.toBeDefined();
    await expect(book(r, { checkIn: '2026-09-29', checkOut: '2026-10-01' })).resolves.toBeDefined();
    expect(await db.prisma.booking.count({ where: { roomId: r.room.id } })).toBe(3);
  });

  it('lets two different rooms be booked for the same nights', async () => {
    const a = await aRoom();
    const b = await aRoom();
    await book(a, { checkIn: '2026-11-01', checkOut: '2026-11-03' });
    await expect(book(b, { checkIn: '2026-11-01', checkOut: '2026-11-03' })).resolves.toBeDefined();
  });

  it('refuses a stay whose check-out is not after its check-in (23514)', async () => {
    const r = await aRoom();
    expect(await sqlStateOf(() => book(r, { checkIn: '2026-12-05', checkOut: '2026-12-05' }))).toBe(PgErrorCode.checkViolation);
    expect(await sqlStateOf(() => book(r, { checkIn: '2026-12-05', checkOut: '2026-12-04' }))).toBe(PgErrorCode.checkViolation);
  });

  it('books an idempotency key once: a duplicate is refused (23505)', async () => {
    const r = await aRoom();
    await book(r, { checkIn: '2027-01-01', checkOut: '2027-01-02', idempotencyKey: 'client-retry-0001' });
    expect(await sqlStateOf(() => book(r, { checkIn: '2027-02-01', checkOut: '2027-02-02', idempotencyKey: 'client-retry-0001' }))).toBe(
      PgErrorCode.uniqueViolation,
    );
  });

  it('finds the SQLSTATE in a plain pg error too', async () => {
    const r = await aRoom();
    const error = await db.pool
      .query(`INSERT INTO booking.bookings (id, reference, hotel_id, room_id, guest_id, check_in, check_out, total_minor, currency, updated_at)
              VALUES ($1, $2, $3, $4, $5, '2027-03-02', '2027-03-01', 1, 'EUR', now())`, [randomUUID(), 'IK-PGRAW', r.hotel.id, r.room.id, r.guest.id])
      .catch((e: unknown) => e);
    expect(pgErrorCode(error)).toBe(PgErrorCode.checkViolation);
    expect(pgErrorCode(new Error('not from the database'))).toBeUndefined();
  });
});

describe('the audit trail is append-only', () => {
  const INSUFFICIENT_PRIVILEGE = '42501';

  it('takes new events but refuses UPDATE, DELETE and TRUNCATE', async () => {
    const { prisma } = db;
    const id = randomUUID();
    await prisma.auditEvent.create({
      data: { id, occurredAt: new Date(), actor: 'user:1', action: 'booking.created', resourceType: 'Booking', resourceId: 'IK-APPEND' },
    });

    const updated = await prisma.auditEvent.updateMany({ where: { id }, data: { actor: 'someone-else' } }).catch((e: unknown) => e);
    expect(pgErrorCode(updated)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(String((updated as Error).message)).toMatch(/append-only/);

    const deleted = await prisma.auditEvent.deleteMany({ where: { id } }).catch((e: unknown) => e);
    expect(pgErrorCode(deleted)).toBe(INSUFFICIENT_PRIVILEGE);

    const truncated = await db.pool.query('TRUNCATE audit.events').catch((e: unknown) => e);
    expect(pgErrorCode(truncated)).toBe(INSUFFICIENT_PRIVILEGE);
    expect((truncated as Error).message).toMatch(/append-only: TRUNCATE/);

    // Nothing changed, and appending still works afterwards.
    expect(await prisma.auditEvent.findUniqueOrThrow({ where: { id } })).toMatchObject({ actor: 'user:1' });
    await prisma.auditEvent.create({
      data: { id: randomUUID(), occurredAt: new Date(), actor: 'user:1', action: 'booking.cancelled', resourceType: 'Booking', resourceId: 'IK-APPEND' },
    });
    expect(await prisma.auditEvent.count({ where: { resourceId: 'IK-APPEND' } })).toBe(2);
  });
});

describe('demo seed', () => {
  const counts = async () => {
    const { prisma } = db;
    return {
      hotels: await prisma.hotel.count(),
      roomTypes: await prisma.roomType.count(),
      rooms: await prisma.room.count(),
      guests: await prisma.guest.count(),
      bookings: await prisma.booking.count(),
      pmsConnections: await prisma.pmsConnection.count(),
      pmsReservations: await prisma.pmsReservation.count(),
    };
  };

  it('creates grand-harbor and alpine-lodge, each with rooms of several types and bookings', async () => {
    const { prisma } = db;
    await expect(seedDemoData(prisma, '2026-06-01')).resolves.toEqual({ seeded: ['grand-harbor', 'alpine-lodge'] });
    for (const slug of ['grand-harbor', 'alpine-lodge']) {
      const hotel = await prisma.hotel.findUniqueOrThrow({ where: { slug } });
      expect(hotel.id).toBe(seedId(`hotel:${slug}`));
      const rooms = await prisma.room.findMany({ where: { hotelId: hotel.id } });
      expect(rooms.length).toBeGreaterThanOrEqual(10);
      expect(new Set(rooms.map((room) => room.roomTypeId)).size).toBeGreaterThanOrEqual(2);
      expect(await prisma.booking.count({ where: { hotelId: hotel.id } })).toBeGreaterThanOrEqual(5);
      expect(await prisma.pmsConnection.count({ where: { hotelId: hotel.id } })).toBe(1);
    }
  });

  it('changes nothing when run again', async () => {
    const before = await counts();
    expect(before.hotels).toBeGreaterThanOrEqual(2);
    await expect(seedDemoData(db.prisma, '2026-06-01')).resolves.toEqual({ seeded: [] });
    await expect(seedDemoData(db.prisma)).resolves.toEqual({ seeded: [] });
    expect(await counts()).toEqual(before);
  });
});
