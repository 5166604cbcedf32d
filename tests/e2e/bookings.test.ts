import { describe, expect, it } from '@jest/globals';
import { actAs, eventually, gql, ids, inDays, inDaysAt, sql } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

const CREATE = `mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) { id reference status checkIn checkOut nights total { amountMinor currency } guest { email } room { number } hotel { slug } }
}`;

const bookingInput = (overrides: Record<string, unknown> = {}) => ({
  hotelId: ids.alpineLodge,
  roomId: ids.room('alpine-lodge', '302'),
  checkIn: inDays(400),
  checkOut: inDays(402),
  guests: 2,
  guest: { name: 'Erin Example', email: 'erin@example.test', phone: '+41 79 123 45 67' },
  ...overrides,
});

const countBookings = async (roomId: string) => Number((await sql(`SELECT count(*) AS n FROM booking.bookings WHERE room_id = $1`, [roomId]))[0]!.n);

describe('booking a room', () => {
  it('prices the stay from the hotel subgraph and returns the booking through the federation', async () => {
    const input = bookingInput({ roomId: ids.room('alpine-lodge', '301'), checkIn: inDays(410), checkOut: inDays(413), guests: 4 });
    const { data, errors } = await gql<any>(CREATE, { input });
    expect(errors).toEqual([]);
    expect(data.createBooking).toMatchObject({
      status: 'CONFIRMED',
      nights: 3,
      total: { amountMinor: 3 * 41000, currency: 'CHF' },
      guest: { email: 'erin@example.test' },
      room: { number: '301' },
      hotel: { slug: 'alpine-lodge' },
    });
  });

  it('50 concurrent bookings of the same room and night: exactly one succeeds, 49 get CONFLICT, the database holds one', async () => {
    const roomId = ids.room('alpine-lodge', '304');
    const night = inDays(420);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gql<any>(CREATE, { input: bookingInput({ roomId, checkIn: night, checkOut: inDays(421), guest: { name: `Racer ${i}`, email: `racer${i}@example.test` } }) }),
      ),
    );
    const succeeded = results.filter((r) => r.data?.createBooking?.id);
    const conflicts = results.filter((r) => r.errors[0]?.extensions.code === 'CONFLICT');
    const others = results.filter((r) => !r.data?.createBooking?.id && r.errors[0]?.extensions.code !== 'CONFLICT');
    expect(others.map((r) => r.errors)).toEqual([]);
    expect(succeeded).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    expect(await countBookings(roomId)).toBe(1);
  });

  it('the same idempotencyKey sent twice yields one booking; reused for another stay it is a CONFLICT', async () => {
    const roomId = ids.room('alpine-lodge', '102');
    const input = bookingInput({ roomId, checkIn: inDays(430), checkOut: inDays(431), idempotencyKey: `idem-${Date.now()}` });
    const [first, second] = await Promise.all([gql<any>(CREATE, { input }), gql<any>(CREATE, { input })]);
    const third = await gql<any>(CREATE, { input });
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(second.data.createBooking.id).toBe(first.data.createBooking.id);
    expect(third.data.createBooking.id).toBe(first.data.createBooking.id);
    expect(await countBookings(roomId)).toBe(1);

    const reused = await gql<any>(CREATE, { input: { ...input, checkIn: inDays(440), checkOut: inDays(441) } });
    expect(reused.errors[0]!.extensions.code).toBe('CONFLICT');
    expect(await countBookings(roomId)).toBe(1);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['checkOut before checkIn', { checkIn: inDays(450), checkOut: inDays(449) }, 'input.checkOut'],
    ['checkOut equal to checkIn', { checkIn: inDays(450), checkOut: inDays(450) }, 'input.checkOut'],
    ['an unknown room', { roomId: '5f0e8a3c-1d2b-4c5d-9e6f-7a8b9c0d1e2f' }, 'input.roomId'],
    // grand-harbor 101 is never booked by any test file (the outbox check below relies on it).
    ['a room of another hotel', { roomId: ids.room('grand-harbor', '101') }, 'input.roomId'],
    ['a check-in in the past', { checkIn: inDays(-3), checkOut: inDays(-1) }, 'input.checkIn'],
    ['a bad email', { guest: { name: 'Bad Email', email: 'not-an-email' } }, 'input.guest.email'],
    ['guests < 1', { guests: 0 }, 'input.guests'],
    ['more guests than the room takes', { guests: 6 }, 'input.guests'],
    ['a date that does not exist', { checkIn: '2031-02-30' }, 'input.checkIn'],
  ];
  it.each(invalid)('refuses %s with BAD_USER_INPUT naming the field, and writes nothing', async (_label, overrides, field) => {
    const roomId = (overrides.roomId as string | undefined) ?? ids.room('alpine-lodge', '302');
    // Other test files run in parallel: count what this request could have written (its room, its guest).
    const before = await countBookings(roomId);
    const { data, errors } = await gql<any>(CREATE, { input: bookingInput({ guest: { name: 'Nobody Written', email: 'nobody-written@example.test' }, ...overrides }) });
    expect(data?.createBooking ?? null).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect((errors[0]!.extensions.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
    expect(await countBookings(roomId)).toBe(before);
    expect(await sql(`SELECT 1 FROM booking.guests WHERE email IN ('nobody-written@example.test', 'not-an-email')`)).toEqual([]);
    expect(await sql(`SELECT 1 FROM booking.outbox WHERE payload->'details'->>'roomId' = $1`, [roomId])).toEqual([]);
  });

  it('walks a booking through check-in and check-out, refuses illegal transitions, and audits every change', async () => {
    // Arriving today in the hotel's time zone (check-in is refused before the arrival day).
    const { timezone } = (await gql<any>(`query($id: ID!) { hotel(id: $id) { timezone } }`, { id: ids.alpineLodge })).data.hotel;
    const created = await gql<any>(CREATE, { input: bookingInput({ roomId: ids.room('alpine-lodge', '202'), checkIn: inDaysAt(timezone, 0), checkOut: inDaysAt(timezone, 2), guests: 1 }) });
    expect(created.errors).toEqual([]);
    const id = created.data.createBooking.id;
    const correlationId = `audit-trail-${Date.now()}`;
    const headers = { 'X-Correlation-ID': correlationId };

    expect((await gql<any>(`mutation($id: ID!) { checkOut(id: $id) { status } }`, { id })).errors[0]!.extensions.code).toBe('CONFLICT');
    expect((await gql<any>(`mutation($id: ID!) { checkIn(id: $id) { status } }`, { id }, { headers })).data.checkIn.status).toBe('CHECKED_IN');
    expect((await gql<any>(`mutation($id: ID!) { cancelBooking(id: $id, reason: "x") { status } }`, { id })).errors[0]!.extensions.code).toBe('CONFLICT');
    expect((await gql<any>(`mutation($id: ID!) { checkOut(id: $id) { status } }`, { id }, { headers })).data.checkOut.status).toBe('CHECKED_OUT');

    const trail = await eventually(async () => {
      const { data } = await gql<any>(`query($id: ID!) { auditEvents(filter: { resourceId: $id }) { totalCount nodes { action actor correlationId hotelId details } } }`, { id });
      return data.auditEvents.totalCount === 3 ? data.auditEvents.nodes : null;
    });
    expect(trail.map((e: any) => e.action)).toEqual(['booking.checked_out', 'booking.checked_in', 'booking.created']);
    expect(trail[0]).toMatchObject({ correlationId, hotelId: ids.alpineLodge, actor: expect.stringMatching(/^user:[0-9a-f-]{36}$/) });
    expect(JSON.stringify(trail)).not.toContain('erin@example.test');
  });

  it('cancels a booking, audits it, and frees the room for those nights', async () => {
    const roomId = ids.room('alpine-lodge', '203');
    const stay = { checkIn: inDays(460), checkOut: inDays(462) };
    const available = async () =>
      ((await gql<any>(`query($h: ID!, $i: Date!, $o: Date!) { availableRooms(hotelId: $h, checkIn: $i, checkOut: $o, guests: 2) { id number } }`, { h: ids.alpineLodge, i: stay.checkIn, o: stay.checkOut })).data.availableRooms as Array<{ id: string }>).map((r) => r.id);

    expect(await available()).toContain(roomId);
    const created = await gql<any>(CREATE, { input: bookingInput({ roomId, ...stay }) });
    expect(await available()).not.toContain(roomId);
    const cancelled = await gql<any>(`mutation($id: ID!) { cancelBooking(id: $id, reason: "Guest changed plans") { status cancelReason } }`, { id: created.data.createBooking.id });
    expect(cancelled.data.cancelBooking).toEqual({ status: 'CANCELLED', cancelReason: 'Guest changed plans' });
    expect(await available()).toContain(roomId);
    await eventually(async () => (await sql(`SELECT 1 FROM audit.events WHERE resource_id = $1 AND action = 'booking.cancelled'`, [created.data.createBooking.id])).length === 1);
  });

  it('pages through a hotel’s bookings with cursors and a stable total', async () => {
    const page = async (after?: string) =>
      (await gql<any>(`query($id: ID!, $after: String) { hotel(id: $id) { bookings(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }`, { id: ids.grandHarbor, after })).data.hotel.bookings;
    const first = await page();
    const second = await page(first.pageInfo.endCursor);
    expect(first.nodes).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    expect(second.totalCount).toBe(first.totalCount);
    expect(second.nodes.map((n: any) => n.id)).not.toEqual(expect.arrayContaining(first.nodes.map((n: any) => n.id)));
    const bad = await gql<any>(`query($id: ID!) { hotel(id: $id) { bookings(first: 2, after: "garbage") { totalCount } } }`, { id: ids.grandHarbor });
    expect(bad.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'after', message: expect.any(String) }] });
  });

  describe('a repeat guest (bookings.ts guestFor)', () => {
    const roomId = ids.room('alpine-lodge', '203');
    const guestRow = async (email: string) => (await sql(`SELECT id, name, phone FROM booking.guests WHERE email = $1`, [email]))[0];

    it('keeps one guest per email: a changed name and phone are updated, an omitted phone keeps the one on file', async () => {
      const email = `repeat-${Date.now()}@example.test`;
      const book = (day: number, guest: Record<string, unknown>) => gql<any>(CREATE, { input: bookingInput({ roomId, checkIn: inDays(day), checkOut: inDays(day + 1), guest: { email, ...guest } }) });
      expect((await book(480, { name: 'Rita Repeat', phone: '+351 21 000 0001' })).errors).toEqual([]);
      const first = await guestRow(email);
      expect(first).toMatchObject({ name: 'Rita Repeat', phone: '+351 21 000 0001' });
      expect((await book(481, { name: 'Rita R. Repeat', phone: '+351 21 000 0002' })).errors).toEqual([]);
      expect(await guestRow(email)).toEqual({ id: first!.id, name: 'Rita R. Repeat', phone: '+351 21 000 0002' });
      expect((await book(482, { name: 'Rita R. Repeat' })).errors).toEqual([]);
      expect(await guestRow(email)).toEqual({ id: first!.id, name: 'Rita R. Repeat', phone: '+351 21 000 0002' });
      expect(Number((await sql(`SELECT count(*) AS n FROM booking.bookings WHERE guest_id = $1`, [first!.id]))[0]!.n)).toBe(3);
    });
  });
});
