/**
 * A guest's bookings do not wait for each other (subgraphs/booking/src/bookings.ts `guestFor`). The test
 * holds one booking's transaction open: its audit record waits on a gate, after the guest and the booking
 * rows are written. A second booking of the same guest must still complete. The old upsert always updated
 * the guest row (`ON CONFLICT DO UPDATE`), so it held that row until commit and the second booking
 * waited for the first. Also covered: two first bookings of one new email at the same time give one
 * guest row. Real PostgreSQL, in a database of its own. The hotel subgraph is replaced by the room's
 * facts (bookings keep the room's ID only).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createDatabase, type Database } from '../../lib/src/db.js';
import { migrate } from '../../lib/src/migrate.js';
import { Bookings } from '../../subgraphs/booking/src/bookings.js';
import type { HotelInventory, RoomFacts } from '../../subgraphs/booking/src/inventory.js';
import { scratchDatabase } from './scratch-database.js';

const scratch = scratchDatabase('innkeep_booking_guest_test');
let db: Database;

beforeAll(async () => {
  await scratch.create();
  await migrate(scratch.url);
  db = createDatabase({ url: scratch.url, poolSize: 6, acquireTimeoutMs: 5000, applicationName: 'innkeep-booking-guest-test' });
});

afterAll(async () => {
  await db?.close();
  await scratch.drop();
});

const HOTEL = randomUUID();
const room = (): RoomFacts => ({ id: randomUUID(), status: 'CLEAN', hotel: { id: HOTEL, timezone: 'Europe/Lisbon', currency: 'EUR' }, roomType: { capacity: 2, baseRate: { amountMinor: 10000 } } });
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const caller = { actor: 'user:test', correlationId: randomUUID() };

/** Bookings whose FIRST audit record waits until `release()`: that booking's transaction stays open meanwhile. */
function bookingsWithHeldFirst() {
  const rooms = new Map<string, RoomFacts>();
  const inventory = { room: async (roomId: string) => rooms.get(roomId) ?? null } as unknown as HotelInventory;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let firstInside!: () => void;
  const inside = new Promise<void>((resolve) => (firstInside = resolve));
  let records = 0;
  const audit = {
    async record() {
      if (++records === 1) {
        firstInside();
        await gate;
      }
      return undefined as never;
    },
    afterCommit() {},
  };
  const bookings = new Bookings({ prisma: db.prisma, transactionOptions: { maxWait: 5_000, timeout: 30_000 }, inventory, audit });
  const input = (email: string, nights: number) => {
    const r = room();
    rooms.set(r.id, r);
    return { hotelId: HOTEL, roomId: r.id, checkIn: day(100 + nights), checkOut: day(101 + nights), guest: { name: 'Group Contact', email } };
  };
  return { bookings, input, release, inside };
}

const within = <T>(work: Promise<T>, ms: number) => {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  return Promise.race([work, waited]).finally(() => clearTimeout(timer));
};

describe('bookings of one guest', () => {
  it('a repeat guest: the second booking completes while the first one’s transaction is still open', async () => {
    const email = `group-${randomUUID().slice(0, 8)}@example.test`;
    const guest = await db.prisma.guest.create({ data: { name: 'Group Contact', email } });
    const { bookings, input, release, inside } = bookingsWithHeldFirst();
    const first = bookings.create(input(email, 1), caller);
    try {
      await inside;
      const second = await within(bookings.create(input(email, 2), caller), 10_000);
      expect(second).not.toBe('still waiting');
      expect(second).toMatchObject({ status: 'CONFIRMED', guestId: guest.id });
    } finally {
      release();
    }
    await expect(first).resolves.toMatchObject({ status: 'CONFIRMED', guestId: guest.id });
  });

  it('two first bookings of one new email at the same time: both succeed, on one guest row', async () => {
    const email = `new-${randomUUID().slice(0, 8)}@example.test`;
    const { bookings, input, release, inside } = bookingsWithHeldFirst();
    const first = bookings.create(input(email, 3), caller);
    await inside;
    // The first transaction has inserted the guest and not committed: the second waits on the email's
    // unique index, then finds the committed row.
    const second = bookings.create(input(email, 4), caller);
    release();
    const [a, b] = await Promise.all([first, second]);
    const guests = await db.prisma.guest.findMany({ where: { email } });
    expect(guests).toHaveLength(1);
    expect([a.guestId, b.guestId]).toEqual([guests[0]!.id, guests[0]!.id]);
  });
});
