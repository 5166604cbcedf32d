/**
 * The rules of GUIDE §3, proven on the running subgraphs: each is called directly with an internal token
 * minted here for every kind of caller (GUEST owner / non-owner, FRONT_DESK, HOTEL_MANAGER, AUDITOR,
 * PLATFORM_ADMIN, API keys by scope, services, anonymous) × own hotel / another tenant's hotel.
 *
 * Reads use the seed data of grand-harbor (GH; guest@innkeep.test has bookings there). Writes act on
 * alpine-lodge (AL) with far-future nights of rooms no other test books, and hotel writes that are permitted
 * are sent with invalid input: a permitted caller reaches validation (BAD_USER_INPUT), a refused one never
 * does — so nothing in the shared catalog changes.
 *
 * Two promises run through every table:
 *  - a caller without the role / scope gets UNAUTHENTICATED (anonymous) or FORBIDDEN, whatever the object;
 *  - an object of another tenant answers EXACTLY like a missing one (compared with a random ID), and no
 *    response ever contains another tenant's data.
 */
import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { actorOf } from '../../lib/src/identity.js';
import { seedId } from '../../scripts/lib/seed.js';
import { sql } from './db.js';
import { AL, call, eventually, GH, hotelIdsIn, inDays, principals as P, RANDOM_ID, room, seedBooking, shapeOf, type Answer, type Subgraph, type Who } from './support.js';

type Code = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT';
const CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT']);
const isCode = (x: string): x is Code => CODES.has(x);

/** The caller's hotels: nothing of any other hotel may appear in what it is answered. */
const HOTELS_OF: Partial<Record<Who, string[]>> = {
  frontDeskGH: [GH], managerGH: [GH], auditorGH: [GH], keyBookingsReadGH: [GH], keyBookingsWriteGH: [GH], keyPmsSyncGH: [GH], keyAuditReadGH: [GH], keyHotelsWriteGH: [GH], servicePmsGH: [GH],
  frontDeskAL: [AL], managerAL: [AL], auditorAL: [AL], keyBookingsReadAL: [AL], keyBookingsWriteAL: [AL], keyPmsSyncAL: [AL], keyAuditReadAL: [AL], keyHotelsWriteAL: [AL],
};
function expectNoForeignData(who: Who, answer: Answer): void {
  const own = HOTELS_OF[who];
  if (own) expect([...hotelIdsIn(answer.data)].filter((id) => !own.includes(id))).toEqual([]);
}

/** A refusal: exactly one error with `code` on `field`, and no data for it. */
function expectRefused(answer: Answer, field: string, code: Code): void {
  expect(answer.errors.map((e) => e.extensions.code)).toEqual([code]);
  expect(answer.errors[0]!.path?.[0]).toBe(field);
  expect(answer.data?.[field] ?? null).toBeNull();
}

/** What an invisible object must look like: the same answer as for an ID that does not exist. */
async function expectSameAsMissing(subgraph: Subgraph, who: Who, query: string, foreign: Record<string, unknown>, missing: Record<string, unknown>) {
  const [a, b] = [await call(subgraph, P[who], query, foreign), await call(subgraph, P[who], query, missing)];
  expect(shapeOf(a)).toEqual(shapeOf(b));
  return a;
}

// ─── booking subgraph: reads ─────────────────────────────────────────────────────────────────────────

const GWEN_GH = seedBooking('grand-harbor', 0);
const BOOKING = `query($id: ID!) { booking(id: $id) { id reference hotel { id } guest { name email phone } } }`;
const BY_REFERENCE = `query($ref: String!) { bookingByReference(reference: $ref) { id hotel { id } guest { name email phone } } }`;

type Read = 'pii' | 'noPii' | 'hidden' | Code;
const BOOKING_READS: Array<[Who, Read]> = [
  ['anonymous', 'UNAUTHENTICATED'],
  ['guestOwner', 'pii'],
  ['guestOther', 'hidden'],
  ['frontDeskGH', 'pii'],
  ['frontDeskAL', 'hidden'],
  ['managerGH', 'pii'],
  ['managerAL', 'hidden'],
  ['auditorGH', 'FORBIDDEN'],
  ['auditorAL', 'FORBIDDEN'],
  ['admin', 'pii'],
  ['keyBookingsReadGH', 'noPii'],
  ['keyBookingsReadAL', 'hidden'],
  ['keyBookingsWriteGH', 'noPii'],
  ['keyBookingsWriteAL', 'hidden'],
  ['keyPmsSyncGH', 'FORBIDDEN'],
  ['keyAuditReadGH', 'FORBIDDEN'],
  ['keyHotelsWriteGH', 'FORBIDDEN'],
  ['servicePmsGH', 'noPii'],
  ['serviceBooking', 'FORBIDDEN'],
  ['serviceNoScope', 'FORBIDDEN'],
];

function expectBookingRead(answer: Answer, field: string, outcome: Read): void {
  if (isCode(outcome)) return expectRefused(answer, field, outcome);
  if (outcome === 'hidden') {
    expect(answer.errors).toEqual([]);
    expect(answer.data[field]).toBeNull();
    return;
  }
  const booking = answer.data[field];
  expect(booking).toMatchObject({ id: GWEN_GH, hotel: { id: GH }, guest: { name: 'Gwen Guest' } });
  if (outcome === 'pii') {
    expect(answer.errors).toEqual([]);
    expect(booking.guest).toMatchObject({ email: 'guest@innkeep.test', phone: expect.any(String) });
  } else {
    // The booking is served; the guest's personal data is not — a FORBIDDEN error on each field.
    expect(booking.guest).toMatchObject({ email: null, phone: null });
    expect(answer.errors.map((e) => [e.extensions.code, e.path!.join('.')]).sort()).toEqual([
      ['FORBIDDEN', `${field}.guest.email`],
      ['FORBIDDEN', `${field}.guest.phone`],
    ]);
  }
}

describe('reading one booking (booking, bookingByReference)', () => {
  it.each(BOOKING_READS)('%s → %s', async (who, outcome) => {
    const byId = await call('booking', P[who], BOOKING, { id: GWEN_GH });
    expectBookingRead(byId, 'booking', outcome);
    expectBookingRead(await call('booking', P[who], BY_REFERENCE, { ref: 'IK-GH1000' }), 'bookingByReference', outcome);
    expectNoForeignData(who, byId);
    if (outcome === 'hidden' || isCode(outcome)) {
      await expectSameAsMissing('booking', who, BOOKING, { id: GWEN_GH }, { id: RANDOM_ID });
      await expectSameAsMissing('booking', who, BY_REFERENCE, { ref: 'IK-GH1000' }, { ref: 'IK-NOPE0000' });
    }
  });

  it.each(BOOKING_READS.filter(([, o]) => !isCode(o)))('%s: a Booking entity lookup answers the same (null when hidden, never an error)', async (who, outcome) => {
    const answer = await call('booking', P[who], `query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id hotel { id } } } }`, {
      r: [{ __typename: 'Booking', id: GWEN_GH }],
    });
    expect(answer.errors).toEqual([]);
    expect(answer.data._entities).toEqual([outcome === 'hidden' ? null : { id: GWEN_GH, hotel: { id: GH } }]);
  });
});

const HOTEL_BOOKINGS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Hotel { id bookings(first: 100) { totalCount nodes { id hotel { id } guest { name } } } } } }`;
const ROOM_BOOKINGS = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Room { id bookings(first: 100) { totalCount nodes { id hotel { id } } } } } }`;

type ListOutcome = 'all' | 'own' | 'empty' | Code;
const BOOKING_LISTS: Array<[Who, ListOutcome]> = [
  ['anonymous', 'UNAUTHENTICATED'],
  ['guestOwner', 'own'],
  ['guestOther', 'empty'],
  ['frontDeskGH', 'all'],
  ['frontDeskAL', 'empty'],
  ['managerGH', 'all'],
  ['managerAL', 'empty'],
  ['auditorGH', 'FORBIDDEN'],
  ['admin', 'all'],
  ['keyBookingsReadGH', 'all'],
  ['keyBookingsReadAL', 'empty'],
  ['keyBookingsWriteGH', 'all'],
  ['keyPmsSyncGH', 'FORBIDDEN'],
  ['keyAuditReadGH', 'FORBIDDEN'],
  ['servicePmsGH', 'all'],
  ['serviceBooking', 'FORBIDDEN'],
];

const gwensBookingsAt = async (hotelId: string) =>
  (await sql(`SELECT b.id FROM booking.bookings b JOIN booking.guests g ON g.id = b.guest_id WHERE g.email = 'guest@innkeep.test' AND b.hotel_id = $1`, [hotelId])).map((r) => r.id as string);

describe('listing bookings (Hotel.bookings, Room.bookings): only what the caller may see, counts included', () => {
  it.each(BOOKING_LISTS)('%s → %s', async (who, outcome) => {
    const hotel = await call('booking', P[who], HOTEL_BOOKINGS, { r: [{ __typename: 'Hotel', id: GH }] });
    const roomList = await call('booking', P[who], ROOM_BOOKINGS, { r: [{ __typename: 'Room', id: room('grand-harbor', '101') }] });
    expectNoForeignData(who, hotel);
    expectNoForeignData(who, roomList);
    if (isCode(outcome)) {
      for (const answer of [hotel, roomList]) {
        expect(answer.errors.map((e) => [e.extensions.code, e.path!.join('.')])).toEqual([[outcome, '_entities.0.bookings']]);
        expect(answer.data._entities).toEqual([null]);
      }
      return;
    }
    expect(hotel.errors).toEqual([]);
    expect(roomList.errors).toEqual([]);
    const list = hotel.data._entities[0].bookings;
    expect(list.totalCount).toBe(list.nodes.length);
    expect(list.nodes.every((b: any) => b.hotel.id === GH)).toBe(true);
    if (outcome === 'empty') {
      expect(list).toEqual({ totalCount: 0, nodes: [] });
      expect(roomList.data._entities[0].bookings).toEqual({ totalCount: 0, nodes: [] });
    } else if (outcome === 'own') {
      const gwens = await gwensBookingsAt(GH);
      expect(list.nodes.length).toBeGreaterThanOrEqual(2);
      expect(list.nodes.map((b: any) => b.id).filter((id: string) => !gwens.includes(id))).toEqual([]);
      expect(roomList.data._entities[0].bookings.nodes.map((b: any) => b.id)).toEqual([GWEN_GH]);
    } else {
      expect(list.totalCount).toBeGreaterThanOrEqual(6);
      expect(roomList.data._entities[0].bookings.nodes.map((b: any) => b.id)).toContain(GWEN_GH);
    }
  });

  it.each([
    ['frontDeskGH', 'visible'],
    ['managerGH', 'visible'],
    ['admin', 'visible'],
    ['keyBookingsReadGH', 'FORBIDDEN'],
    ['servicePmsGH', 'FORBIDDEN'],
  ] as Array<[Who, string]>)('guest PII in a list, as %s: %s', async (who, outcome) => {
    const answer = await call('booking', P[who], `query($r: [_Any!]!) { _entities(representations: $r) { ... on Hotel { bookings(first: 100) { nodes { id guest { name email } } } } } }`, {
      r: [{ __typename: 'Hotel', id: GH }],
    });
    const nodes = answer.data._entities[0].bookings.nodes;
    expect(nodes.length).toBeGreaterThanOrEqual(6);
    if (outcome === 'visible') {
      expect(answer.errors).toEqual([]);
      expect(nodes.every((b: any) => typeof b.guest.email === 'string')).toBe(true);
    } else {
      expect(nodes.every((b: any) => b.guest.email === null && typeof b.guest.name === 'string')).toBe(true);
      expect(answer.errors).toHaveLength(nodes.length);
      expect(new Set(answer.errors.map((e) => e.extensions.code))).toEqual(new Set(['FORBIDDEN']));
    }
  });

  it('a GUEST sees their own email, and no other guest’s booking at all', async () => {
    const answer = await call('booking', P.guestOwner, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Hotel { bookings(first: 100) { nodes { guest { email } } } } } }`, {
      r: [{ __typename: 'Hotel', id: GH }],
    });
    expect(answer.errors).toEqual([]);
    expect(new Set(answer.data._entities[0].bookings.nodes.map((b: any) => b.guest.email))).toEqual(new Set(['guest@innkeep.test']));
  });
});

// ─── booking subgraph: writes (alpine-lodge, far-future nights) ──────────────────────────────────────

let night = 700 + (Date.now() % 50) * 2; // a run of its own, far beyond what other tests book
const nextStay = () => {
  night += 2;
  return { checkIn: inDays(night), checkOut: inDays(night + 1) };
};
const GUESTS = { 'guest@innkeep.test': 'Gwen Guest', 'mallory@example.test': 'Mallory Example' } as Record<string, string>;
const bookingInput = (email: string, hotelId = AL) => ({
  hotelId,
  roomId: room('alpine-lodge', '104'),
  ...nextStay(),
  guest: { name: GUESTS[email] ?? 'Walk In', email },
});
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id status hotel { id } } }`;

async function bookAsAdmin(email = 'guest@innkeep.test'): Promise<string> {
  const answer = await call('booking', P.admin, CREATE, { input: bookingInput(email) });
  expect(answer.errors).toEqual([]);
  return answer.data.createBooking.id;
}
const statusOf = async (id: string) => (await sql(`SELECT status FROM booking.bookings WHERE id = $1`, [id]))[0]?.status;
const auditActorOf = (bookingId: string, action: string) =>
  eventually(async () => {
    const answer = await call('audit', P.admin, `query($id: ID!, $action: String) { auditEvents(filter: { resourceId: $id, action: $action }) { nodes { actor details } } }`, { id: bookingId, action });
    return answer.data.auditEvents.nodes[0] as { actor: string; details: unknown } | undefined;
  });

describe('createBooking', () => {
  const CASES: Array<[Who, string, 'ok' | Code]> = [
    ['anonymous', 'guest@innkeep.test', 'UNAUTHENTICATED'],
    ['guestOwner', 'guest@innkeep.test', 'ok'],
    ['guestOwner', 'ana.sousa@example.test', 'FORBIDDEN'],
    ['guestOther', 'mallory@example.test', 'ok'],
    ['guestOther', 'guest@innkeep.test', 'FORBIDDEN'],
    ['frontDeskAL', 'walk-in@example.test', 'ok'],
    ['frontDeskGH', 'walk-in@example.test', 'NOT_FOUND'],
    ['managerAL', 'walk-in@example.test', 'ok'],
    ['managerGH', 'walk-in@example.test', 'NOT_FOUND'],
    ['auditorAL', 'walk-in@example.test', 'FORBIDDEN'],
    ['admin', 'walk-in@example.test', 'ok'],
    ['keyBookingsWriteAL', 'walk-in@example.test', 'ok'],
    ['keyBookingsWriteGH', 'walk-in@example.test', 'NOT_FOUND'],
    ['keyBookingsReadAL', 'walk-in@example.test', 'FORBIDDEN'],
    ['keyHotelsWriteAL', 'walk-in@example.test', 'FORBIDDEN'],
    ['servicePmsGH', 'walk-in@example.test', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s booking for %s → %s', async (who, email, outcome) => {
    const input = bookingInput(email);
    const answer = await call('booking', P[who], CREATE, { input });
    if (outcome !== 'ok') {
      expectRefused(answer, 'createBooking', outcome);
      const written = await sql(`SELECT id FROM booking.bookings WHERE room_id = $1 AND check_in = $2`, [input.roomId, input.checkIn]);
      expect(written).toEqual([]);
      if (outcome === 'NOT_FOUND') expect(shapeOf(answer)).toEqual(shapeOf(await call('booking', P[who], CREATE, { input: bookingInput(email, RANDOM_ID) })));
      return;
    }
    expect(answer.errors).toEqual([]);
    expect(answer.data.createBooking).toMatchObject({ status: 'CONFIRMED', hotel: { id: AL } });
    // The audit trail names who acted (never an email).
    const event = await auditActorOf(answer.data.createBooking.id, 'booking.created');
    expect(event.actor).toBe(actorOf(P[who]));
    expect(JSON.stringify(event.details)).not.toContain('@');
  });

  it('an idempotency key replays its booking only to a caller who may see it (CONFLICT for anyone else)', async () => {
    const input = { ...bookingInput('guest@innkeep.test'), idempotencyKey: `sec-${randomUUID()}` };
    const first = await call('booking', P.guestOwner, CREATE, { input });
    expect(first.errors).toEqual([]);
    const replay = await call('booking', P.guestOwner, CREATE, { input });
    expect(replay.data.createBooking.id).toBe(first.data.createBooking.id);

    const stolen = await call('booking', P.guestOther, CREATE, { input: { ...input, guest: { name: 'Mallory Example', email: 'mallory@example.test' } } });
    expectRefused(stolen, 'createBooking', 'CONFLICT');
    expect(JSON.stringify(stolen)).not.toContain(first.data.createBooking.id);
  });
});

describe('cancelBooking (a booking of guest@innkeep.test at alpine-lodge)', () => {
  const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id, reason: "security test") { id status hotel { id } } }`;
  const CASES: Array<[Who, 'ok' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'ok'],
    ['guestOther', 'NOT_FOUND'],
    ['frontDeskAL', 'ok'],
    ['frontDeskGH', 'NOT_FOUND'],
    ['managerAL', 'ok'],
    ['managerGH', 'NOT_FOUND'],
    ['auditorAL', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyBookingsWriteAL', 'ok'],
    ['keyBookingsWriteGH', 'NOT_FOUND'],
    ['keyBookingsReadAL', 'FORBIDDEN'],
    ['servicePmsGH', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    const id = await bookAsAdmin();
    if (outcome === 'ok') {
      const answer = await call('booking', P[who], CANCEL, { id });
      expect(answer.errors).toEqual([]);
      expect(answer.data.cancelBooking).toEqual({ id, status: 'CANCELLED', hotel: { id: AL } });
      expect((await auditActorOf(id, 'booking.cancelled')).actor).toBe(actorOf(P[who]));
      return;
    }
    const answer = await expectSameAsMissing('booking', who, CANCEL, { id }, { id: RANDOM_ID });
    expectRefused(answer, 'cancelBooking', outcome);
    expect(await statusOf(id)).toBe('CONFIRMED');
  });
});

describe('checkIn / checkOut (staff and bookings:write keys of the hotel only)', () => {
  const CHECK_IN = `mutation($id: ID!) { checkIn(id: $id) { id status } }`;
  const CHECK_OUT = `mutation($id: ID!) { checkOut(id: $id) { id status } }`;
  const CASES: Array<[Who, 'ok' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskAL', 'ok'],
    ['frontDeskGH', 'NOT_FOUND'],
    ['managerAL', 'ok'],
    ['managerGH', 'NOT_FOUND'],
    ['auditorAL', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyBookingsWriteAL', 'ok'],
    ['keyBookingsWriteGH', 'NOT_FOUND'],
    ['keyBookingsReadAL', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    const id = await bookAsAdmin();
    if (outcome === 'ok') {
      expect((await call('booking', P[who], CHECK_IN, { id })).data.checkIn).toEqual({ id, status: 'CHECKED_IN' });
      expect((await call('booking', P[who], CHECK_OUT, { id })).data.checkOut).toEqual({ id, status: 'CHECKED_OUT' });
      return;
    }
    expectRefused(await expectSameAsMissing('booking', who, CHECK_IN, { id }, { id: RANDOM_ID }), 'checkIn', outcome);
    expectRefused(await expectSameAsMissing('booking', who, CHECK_OUT, { id }, { id: RANDOM_ID }), 'checkOut', outcome);
    expect(await statusOf(id)).toBe('CONFIRMED');
  });
});

// ─── hotel subgraph ──────────────────────────────────────────────────────────────────────────────────

describe('the public catalog', () => {
  it('anyone, anonymous included, reads hotels, room types with rates, and rooms (without housekeeping status)', async () => {
    const answer = await call('hotel', P.anonymous, `{ hotels { id name slug timezone currency address { line1 city country } roomTypes { id name capacity baseRate { amount currency } hotel { id } } rooms { id number floor roomType { id } hotel { id } } } }`);
    expect(answer.errors).toEqual([]);
    expect(answer.data.hotels.map((h: any) => h.slug)).toEqual(expect.arrayContaining(['grand-harbor', 'alpine-lodge']));
    const one = await call('hotel', P.anonymous, `query($id: ID!) { room(id: $id) { number floor roomType { name } hotel { slug } } hotel(slug: "grand-harbor") { id } }`, { id: room('grand-harbor', '101') });
    expect(one.errors).toEqual([]);
    expect(one.data.room).toEqual({ number: '101', floor: 1, roomType: { name: 'Harbor King' }, hotel: { slug: 'grand-harbor' } });
  });

  it('availableRooms is public too', async () => {
    const answer = await call('booking', P.anonymous, `query($h: ID!, $in: Date!, $out: Date!) { availableRooms(hotelId: $h, checkIn: $in, checkOut: $out) { id } }`, { h: GH, in: inDays(900), out: inDays(901) });
    expect(answer.errors).toEqual([]);
    expect(answer.data.availableRooms.length).toBeGreaterThan(0);
  });
});

describe('room housekeeping status (Room.status, Hotel.rooms(status:))', () => {
  const CASES: Array<[Who, 'ok' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskGH', 'ok'],
    ['frontDeskAL', 'FORBIDDEN'],
    ['managerGH', 'ok'],
    ['managerAL', 'FORBIDDEN'],
    ['auditorGH', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyHotelsWriteGH', 'ok'],
    ['keyHotelsWriteAL', 'FORBIDDEN'],
    ['keyBookingsReadGH', 'FORBIDDEN'],
    ['serviceBooking', 'ok'],
    ['servicePmsGH', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    const status = await call('hotel', P[who], `query($id: ID!) { room(id: $id) { number status } }`, { id: room('grand-harbor', '204') });
    const filtered = await call('hotel', P[who], `query($id: ID!) { hotel(id: $id) { rooms(status: DIRTY) { number } } }`, { id: GH });
    if (outcome === 'ok') {
      expect(status.errors).toEqual([]);
      expect(status.data.room).toEqual({ number: '204', status: expect.any(String) });
      expect(filtered.errors).toEqual([]);
      return;
    }
    expect(status.errors.map((e) => [e.extensions.code, e.path!.join('.')])).toEqual([[outcome, 'room.status']]);
    expect(status.data.room).toBeNull();
    expect(filtered.errors.map((e) => [e.extensions.code, e.path!.join('.')])).toEqual([[outcome, 'hotel.rooms']]);
  });
});

describe('catalog writes (permitted callers reach validation: BAD_USER_INPUT; nothing is written)', () => {
  const AL_ROOM_TYPE = seedId('room-type:alpine-lodge:Mountain Double');
  const AL_ROOM = room('alpine-lodge', '104');
  const MANAGE: Array<[Who, 'BAD_USER_INPUT' | Exclude<Code, 'BAD_USER_INPUT'>]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskAL', 'FORBIDDEN'],
    ['managerAL', 'BAD_USER_INPUT'],
    ['managerGH', 'NOT_FOUND'],
    ['auditorAL', 'FORBIDDEN'],
    ['admin', 'BAD_USER_INPUT'],
    ['keyHotelsWriteAL', 'BAD_USER_INPUT'],
    ['keyHotelsWriteGH', 'NOT_FOUND'],
    ['keyBookingsWriteAL', 'FORBIDDEN'],
    ['servicePmsGH', 'FORBIDDEN'],
  ];
  const WRITES: Array<[string, string, (target: string) => Record<string, unknown>, string]> = [
    ['updateHotel', `mutation($id: ID!) { updateHotel(id: $id, input: { timezone: "Mars/Olympus_Mons" }) { id } }`, (id) => ({ id }), AL],
    ['createRoomType', `mutation($h: ID!) { createRoomType(input: { hotelId: $h, name: "Sec", capacity: 0, baseRateMinor: 100 }) { id } }`, (h) => ({ h }), AL],
    ['updateRoomType', `mutation($id: ID!) { updateRoomType(id: $id, input: { capacity: 0 }) { id } }`, (id) => ({ id }), AL_ROOM_TYPE],
    ['createRoom', `mutation($h: ID!, $t: ID!) { createRoom(input: { hotelId: $h, roomTypeId: $t, number: "S1", floor: 999 }) { id } }`, (h) => ({ h, t: AL_ROOM_TYPE }), AL],
    ['updateRoom', `mutation($id: ID!) { updateRoom(id: $id, input: { floor: 999 }) { id } }`, (id) => ({ id }), AL_ROOM],
  ];
  describe.each(WRITES)('%s', (field, mutation, variables, target) => {
    it.each(MANAGE)('%s → %s', async (who, outcome) => {
      const answer = outcome === 'NOT_FOUND' ? await expectSameAsMissing('hotel', who, mutation, variables(target), variables(RANDOM_ID)) : await call('hotel', P[who], mutation, variables(target));
      expectRefused(answer, field, outcome);
    });
  });

  it.each([
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['managerAL', 'FORBIDDEN'],
    ['keyHotelsWriteAL', 'FORBIDDEN'],
    ['admin', 'BAD_USER_INPUT'],
  ] as Array<[Who, Code]>)('createHotel (PLATFORM_ADMIN only): %s → %s', async (who, outcome) => {
    const answer = await call('hotel', P[who], `mutation { createHotel(input: { name: "Sec", slug: "Not A Slug!", timezone: "Europe/Lisbon", currency: "EUR", address: { line1: "x", city: "y", postalCode: "1", country: "PT" } }) { id } }`);
    expectRefused(answer, 'createHotel', outcome);
  });

  const HOUSEKEEPING: Array<[Who, 'ok' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskAL', 'ok'],
    ['frontDeskGH', 'NOT_FOUND'],
    ['managerAL', 'ok'],
    ['managerGH', 'NOT_FOUND'],
    ['auditorAL', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyHotelsWriteAL', 'ok'],
    ['keyHotelsWriteGH', 'NOT_FOUND'],
    ['keyBookingsWriteAL', 'FORBIDDEN'],
  ];
  it.each(HOUSEKEEPING)('setRoomStatus: %s → %s', async (who, outcome) => {
    // CLEAN is the room's status already: a permitted write changes nothing.
    const SET = `mutation($id: ID!) { setRoomStatus(roomId: $id, status: CLEAN) { id status hotel { id } } }`;
    if (outcome === 'ok') {
      const answer = await call('hotel', P[who], SET, { id: AL_ROOM });
      expect(answer.errors).toEqual([]);
      expect(answer.data.setRoomStatus).toEqual({ id: AL_ROOM, status: 'CLEAN', hotel: { id: AL } });
      return;
    }
    const answer = outcome === 'NOT_FOUND' ? await expectSameAsMissing('hotel', who, SET, { id: AL_ROOM }, { id: RANDOM_ID }) : await call('hotel', P[who], SET, { id: AL_ROOM });
    expectRefused(answer, 'setRoomStatus', outcome);
  });
});

// ─── pms subgraph ────────────────────────────────────────────────────────────────────────────────────

describe('PMS connection (pmsConnection, Hotel.pmsConnection)', () => {
  const QUERY = `query($h: ID!) { pmsConnection(hotelId: $h) { vendor propertyCode status hotel { id } } }`;
  const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Hotel { id pmsConnection { propertyCode hotel { id } } } } }`;
  const CASES: Array<[Who, 'ok' | 'hidden' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskGH', 'FORBIDDEN'],
    ['managerGH', 'ok'],
    ['managerAL', 'hidden'],
    ['auditorGH', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyPmsSyncGH', 'ok'],
    ['keyPmsSyncAL', 'hidden'],
    ['keyBookingsReadGH', 'FORBIDDEN'],
    ['servicePmsGH', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    const direct = await call('pms', P[who], QUERY, { h: GH });
    const entity = await call('pms', P[who], ENTITY, { r: [{ __typename: 'Hotel', id: GH }] });
    expectNoForeignData(who, direct);
    if (outcome === 'ok') {
      expect(direct.errors).toEqual([]);
      expect(direct.data.pmsConnection).toEqual({ vendor: 'mews', propertyCode: 'GH-001', status: expect.any(String), hotel: { id: GH } });
      expect(entity.data._entities[0].pmsConnection).toEqual({ propertyCode: 'GH-001', hotel: { id: GH } });
      return;
    }
    if (outcome === 'hidden') {
      await expectSameAsMissing('pms', who, QUERY, { h: GH }, { h: RANDOM_ID });
      expect(direct.errors).toEqual([]);
      expect(direct.data.pmsConnection).toBeNull();
      expect(entity.data._entities).toEqual([{ id: GH, pmsConnection: null }]);
      return;
    }
    expectRefused(direct, 'pmsConnection', outcome);
    expect(entity.errors.map((e) => [e.extensions.code, e.path!.join('.')])).toEqual([[outcome, '_entities.0.pmsConnection']]);
  });
});

describe('a booking’s PMS status (Booking.pms)', () => {
  const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id pms { externalId syncStatus } } } }`;
  const CASES: Array<[Who, 'ok' | 'hidden' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskGH', 'ok'],
    ['frontDeskAL', 'hidden'],
    ['managerGH', 'ok'],
    ['auditorGH', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyBookingsReadGH', 'ok'],
    ['keyBookingsReadAL', 'hidden'],
    ['keyPmsSyncGH', 'ok'],
    ['keyBookingsWriteGH', 'FORBIDDEN'],
    ['keyAuditReadGH', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    const answer = await call('pms', P[who], ENTITY, { r: [{ __typename: 'Booking', id: GWEN_GH }] });
    if (outcome === 'ok') {
      expect(answer.errors).toEqual([]);
      expect(answer.data._entities[0].pms).toEqual({ externalId: expect.stringMatching(/^FPMS-GH-001-/), syncStatus: expect.any(String) });
    } else if (outcome === 'hidden') {
      // Exactly what a booking the PMS never saw answers.
      const missing = await call('pms', P[who], ENTITY, { r: [{ __typename: 'Booking', id: RANDOM_ID }] });
      expect(answer.errors).toEqual([]);
      expect(missing.errors).toEqual([]);
      expect(answer.data._entities).toEqual([{ id: GWEN_GH, pms: null }]);
      expect(missing.data._entities).toEqual([{ id: RANDOM_ID, pms: null }]);
    } else {
      expect(answer.errors.map((e) => [e.extensions.code, e.path!.join('.')])).toEqual([[outcome, '_entities.0.pms']]);
    }
  });
});

describe('syncReservations (alpine-lodge)', () => {
  const SYNC = `mutation($h: ID!) { syncReservations(hotelId: $h) { pushed failed connection { status hotel { id } } } }`;
  const CASES: Array<[Who, 'ok' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskAL', 'FORBIDDEN'],
    ['managerAL', 'ok'],
    ['managerGH', 'NOT_FOUND'],
    ['auditorAL', 'FORBIDDEN'],
    ['admin', 'ok'],
    ['keyPmsSyncAL', 'ok'],
    ['keyPmsSyncGH', 'NOT_FOUND'],
    ['keyBookingsWriteAL', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    if (outcome === 'ok') {
      // pushed ≥ 1: pms read the hotel's bookings from booking with its own service identity, narrowed to AL.
      const answer = await call('pms', P[who], SYNC, { h: AL });
      expect(answer.errors).toEqual([]);
      expect(answer.data.syncReservations).toMatchObject({ failed: 0, connection: { status: 'ACTIVE', hotel: { id: AL } } });
      expect(answer.data.syncReservations.pushed).toBeGreaterThanOrEqual(1);
      return;
    }
    const answer = outcome === 'NOT_FOUND' ? await expectSameAsMissing('pms', who, SYNC, { h: AL }, { h: RANDOM_ID }) : await call('pms', P[who], SYNC, { h: AL });
    expectRefused(answer, 'syncReservations', outcome);
  });

  it('pms, with a token narrowed to one hotel, cannot read another hotel’s bookings from booking', async () => {
    const answer = await call('booking', P.servicePmsGH, HOTEL_BOOKINGS, { r: [{ __typename: 'Hotel', id: AL }] });
    expect(answer.errors).toEqual([]);
    expect(answer.data._entities[0].bookings).toEqual({ totalCount: 0, nodes: [] });
  });
});

// ─── audit subgraph ──────────────────────────────────────────────────────────────────────────────────

describe('the audit trail (events of alpine-lodge exist: the write tests above produced them)', () => {
  const EVENTS = `query($f: AuditEventFilter) { auditEvents(filter: $f, first: 200) { totalCount nodes { id hotelId actor details } } }`;
  const CASES: Array<[Who, 'AL' | 'GH' | 'any' | Code]> = [
    ['anonymous', 'UNAUTHENTICATED'],
    ['guestOwner', 'FORBIDDEN'],
    ['frontDeskAL', 'FORBIDDEN'],
    ['auditorAL', 'AL'],
    ['auditorGH', 'GH'],
    ['managerAL', 'AL'],
    ['admin', 'any'],
    ['keyAuditReadAL', 'AL'],
    ['keyAuditReadGH', 'GH'],
    ['keyBookingsReadAL', 'FORBIDDEN'],
    ['keyPmsSyncAL', 'FORBIDDEN'],
    ['servicePmsGH', 'FORBIDDEN'],
  ];
  it.each(CASES)('%s → %s', async (who, outcome) => {
    await eventually(async () => (await sql(`SELECT 1 FROM audit.events WHERE hotel_id = $1 LIMIT 1`, [AL])).length > 0);
    const all = await call('audit', P[who], EVENTS, {});
    const filteredOnAL = await call('audit', P[who], EVENTS, { f: { hotelId: AL } });
    if (isCode(outcome)) {
      expectRefused(all, 'auditEvents', outcome);
      expectRefused(filteredOnAL, 'auditEvents', outcome);
      return;
    }
    expect(all.errors).toEqual([]);
    const hotels = new Set(all.data.auditEvents.nodes.map((e: any) => e.hotelId));
    if (outcome === 'any') {
      expect(hotels.has(AL)).toBe(true);
      return;
    }
    expect([...hotels]).toEqual(outcome === 'AL' ? [AL] : hotels.size ? [GH] : []);
    expect(all.data.auditEvents.totalCount).toBeGreaterThanOrEqual(all.data.auditEvents.nodes.length);
    // A filter on another tenant's hotel answers like a hotel without events.
    if (outcome === 'GH') {
      expect(filteredOnAL.data.auditEvents).toEqual({ totalCount: 0, nodes: [] });
      expect(shapeOf(filteredOnAL)).toEqual(shapeOf(await call('audit', P[who], EVENTS, { f: { hotelId: RANDOM_ID } })));
    } else {
      expect(filteredOnAL.data.auditEvents.nodes.length).toBeGreaterThan(0);
    }
    expect(JSON.stringify(all.data)).not.toMatch(/@(innkeep|example)\.test/);
  });

  it('an AuditEvent entity lookup answers null to anyone who may not read it', async () => {
    const [{ id }] = await sql(`SELECT id FROM audit.events WHERE hotel_id = $1 LIMIT 1`, [AL]);
    const lookup = (who: Who) => call('audit', P[who], `query($r: [_Any!]!) { _entities(representations: $r) { ... on AuditEvent { id hotelId actor } } }`, { r: [{ __typename: 'AuditEvent', id }] });
    expect((await lookup('auditorAL')).data._entities).toEqual([{ id, hotelId: AL, actor: expect.any(String) }]);
    for (const who of ['auditorGH', 'anonymous', 'frontDeskAL', 'keyAuditReadGH'] as Who[]) {
      const answer = await lookup(who);
      expect(answer.errors).toEqual([]);
      expect(answer.data._entities).toEqual([null]);
    }
  });
});
