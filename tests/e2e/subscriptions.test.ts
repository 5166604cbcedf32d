/**
 * Federated subscriptions through the gateway over graphql-ws (issue "Live"): real WebSocket clients, the
 * real gateway, real subgraphs, Redis fan-out. Also the contract test of the @apollo/gateway internals the
 * engine relies on (gateway/src/subscriptions/engine.ts): if a gateway upgrade changes them, the first
 * test fails.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extraPort } from '../setup/state.js';
import { actAs, env, gql, gatewayUrl, ids, inDays, tokenFor, type DemoUser } from './support.js';
import { connect, wsUrl, type TestClient } from './ws-support.js';

const BOOKING_EVENT = `subscription BookingFeed($hotelId: ID!) {
  bookingChanged(hotelId: $hotelId) {
    type
    occurredAt
    booking {
      id reference status checkIn checkOut
      guest { name email }
      room { number status }
      hotel { name }
      pms { syncStatus }
    }
  }
}`;

const clients: TestClient[] = [];
async function client(as: DemoUser | null, url?: string): Promise<TestClient> {
  const c = connect({ ...(as ? { token: await tokenFor(as) } : {}), ...(url ? { url } : {}) });
  clients.push(c);
  return c;
}

let rooms: Array<{ id: string; number: string }> = [];
/** A free stay far in the future (other test files book the near future). */
function stay() {
  const start = 400 + Math.floor(Math.random() * 1500);
  return { checkIn: inDays(start), checkOut: inDays(start + 1) };
}
async function createBooking(options: { as?: DemoUser; url?: string; hotelId?: string } = {}) {
  const hotelId = options.hotelId ?? ids.grandHarbor;
  for (let attempt = 0; attempt < 5; attempt++) {
    const room = rooms[Math.floor(Math.random() * rooms.length)]!;
    const answer = await gql<any>(
      `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference } }`,
      { input: { hotelId, roomId: room.id, ...stay(), guests: 1, guest: { name: 'Live Test Guest', email: 'live.guest@example.test' } } },
      { as: options.as ?? 'manager@grand-harbor.test', ...(options.url ? { url: options.url } : {}) },
    );
    if (answer.errors[0]?.extensions.code === 'CONFLICT') continue;
    expect(answer.errors).toEqual([]);
    return answer.data.createBooking as { id: string; reference: string };
  }
  throw new Error('no free room found in 5 attempts');
}

beforeAll(async () => {
  actAs('manager@grand-harbor.test');
  const answer = await gql<any>(`query($id: ID!) { hotel(id: $id) { rooms { id number } } }`, { id: ids.grandHarbor });
  // Not 101: tests/e2e/bookings.test.ts asserts that nothing is ever written for grand-harbor's room 101.
  rooms = (answer.data.hotel.rooms as typeof rooms).filter((r) => r.number !== '101');
  expect(rooms.length).toBeGreaterThan(0);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

describe('bookingChanged through the gateway', () => {
  it('delivers CREATED and CANCELLED with fields of booking, hotel and pms filled per event', async () => {
    const ws = await client('manager@grand-harbor.test');
    await ws.connected;
    const feed = ws.subscribe(BOOKING_EVENT, { hotelId: ids.grandHarbor });
    // The subscription is live once the upstream subscription is: give it a moment, then act.
    await new Promise((r) => setTimeout(r, 300));

    const booking = await createBooking();
    const created = await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === booking.id && e.data.bookingChanged.type === 'CREATED');
    expect(created.errors).toBeUndefined();
    expect(created.data!.bookingChanged).toMatchObject({
      type: 'CREATED',
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      booking: {
        id: booking.id,
        reference: booking.reference,
        status: 'CONFIRMED',
        guest: { name: 'Live Test Guest', email: 'live.guest@example.test' }, // booking subgraph, PII visible to the manager
        room: { number: expect.any(String), status: expect.stringMatching(/^(CLEAN|DIRTY|INSPECTED|OUT_OF_ORDER)$/) }, // hotel subgraph
        hotel: { name: 'Grand Harbor Hotel' }, // hotel subgraph
      },
    });
    // pms subgraph: a booking the PMS never saw has no PMS status yet (the field is resolved, and null).
    expect(created.data!.bookingChanged.booking).toHaveProperty('pms', null);

    // Push it to the PMS, so the next event has a PMS status to show.
    const sync = await gql<any>(`mutation($h: ID!) { syncReservations(hotelId: $h) { status pushed } }`, { h: ids.grandHarbor });
    expect(sync.errors).toEqual([]);

    const cancelled = await gql<any>(`mutation($id: ID!) { cancelBooking(id: $id, reason: "live test") { status } }`, { id: booking.id });
    expect(cancelled.errors).toEqual([]);
    const event = await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === booking.id && e.data.bookingChanged.type === 'CANCELLED');
    expect(event.errors).toBeUndefined();
    expect(event.data!.bookingChanged.booking).toMatchObject({
      status: 'CANCELLED',
      guest: { name: 'Live Test Guest' },
      room: { number: expect.any(String) },
      hotel: { name: 'Grand Harbor Hotel' },
      pms: { syncStatus: expect.stringMatching(/^(PENDING|SYNCED|FAILED)$/) },
    });
    // Order: CREATED came before CANCELLED.
    const mine = feed.events.filter((e) => e.data?.bookingChanged?.booking?.id === booking.id).map((e) => e.data!.bookingChanged.type);
    expect(mine).toEqual(['CREATED', 'CANCELLED']);
    feed.stop();
  });

  it('a front-desk user of alpine-lodge subscribing to grand-harbor gets an error and never an event', async () => {
    const ws = await client('frontdesk@alpine-lodge.test');
    await ws.connected;
    const feed = ws.subscribe(BOOKING_EVENT, { hotelId: ids.grandHarbor });
    await feed.ended();
    await createBooking();
    await new Promise((r) => setTimeout(r, 500));
    expect(feed.events.every((e) => !e.data?.bookingChanged)).toBe(true);
    const errors = feed.events.flatMap((e) => e.errors ?? []).concat(Array.isArray(feed.error) ? feed.error : []);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', correlationId: expect.any(String) });
  });

  it('anonymous subscribers are refused (UNAUTHENTICATED), per event rules still hold for PII', async () => {
    const anon = await client(null);
    await anon.connected;
    const refused = anon.subscribe(BOOKING_EVENT, { hotelId: ids.grandHarbor });
    await refused.ended();
    const errors = refused.events.flatMap((e) => e.errors ?? []).concat(Array.isArray(refused.error) ? refused.error : []);
    expect(errors[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });

    // An API key with bookings:read sees the booking but not the guest's email (PII): the same rule as
    // for queries, applied to every event.
    const key = await gql<any>(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`,
      { input: { name: `live-${Date.now()}`, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] } },
      { as: 'manager@grand-harbor.test' },
    );
    expect(key.errors).toEqual([]);
    const partner = connect({ apiKey: key.data.createApiKey.secret });
    clients.push(partner);
    await partner.connected;
    // (Room.status is not selected: it needs hotels:write, and as a non-null field its denial would null
    // the whole event — exactly as in a query.)
    const feed = partner.subscribe(
      `subscription($hotelId: ID!) { bookingChanged(hotelId: $hotelId) { type booking { id guest { name email } room { number } hotel { name } } } }`,
      { hotelId: ids.grandHarbor },
    );
    await new Promise((r) => setTimeout(r, 300));
    const booking = await createBooking();
    const event = await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === booking.id);
    expect(event.data!.bookingChanged.booking).toMatchObject({ guest: { name: 'Live Test Guest', email: null }, room: { number: expect.any(String) }, hotel: { name: 'Grand Harbor Hotel' } });
    expect(event.errors).toHaveLength(1);
    expect(event.errors![0]).toMatchObject({ path: ['bookingChanged', 'booking', 'guest', 'email'], extensions: { code: 'FORBIDDEN', correlationId: expect.any(String) } });
    feed.stop();
  });

  it('refuses what is not a subscription, bad documents and bad variables with coded errors', async () => {
    const ws = await client('manager@grand-harbor.test');
    await ws.connected;
    const query = ws.subscribe(`{ hotels { id } }`);
    await query.ended();
    expect((query.error as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_A_SUBSCRIPTION', correlationId: expect.any(String) });
    const invalid = ws.subscribe(`subscription { bookingChanged(hotelId: "x") { nope } }`);
    await invalid.ended();
    expect((invalid.error as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
    const badVariables = ws.subscribe(BOOKING_EVENT, {});
    await badVariables.ended();
    expect((badVariables.error as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BAD_VARIABLES' });
  });

  it('limits subscriptions per connection (25), message size (64 KB) and the time to connection_init (5 s)', async () => {
    const ws = await client('manager@grand-harbor.test');
    await ws.connected;
    const feeds = Array.from({ length: 26 }, () => ws.subscribe(BOOKING_EVENT, { hotelId: ids.grandHarbor }));
    const refused = feeds[25]!;
    await refused.ended();
    expect((refused.error as any[])[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'TOO_MANY_SUBSCRIPTIONS' });
    expect(feeds.slice(0, 25).every((f) => !f.error && !f.completed)).toBe(true);
    feeds.forEach((f) => f.stop());

    // A message over WS_MAX_MESSAGE_BYTES: the socket is closed 1009 (message too big).
    const raw = new WebSocket(wsUrl(), 'graphql-transport-ws');
    const bigClosed = new Promise<number>((r) => raw.on('close', (code) => r(code)));
    await new Promise((r) => raw.once('open', r));
    raw.send(JSON.stringify({ type: 'connection_init', payload: { padding: 'x'.repeat(70 * 1024) } }));
    expect(await bigClosed).toBe(1009);

    // No connection_init: closed 4408 after the init timeout.
    const silent = new WebSocket(wsUrl(), 'graphql-transport-ws');
    const started = Date.now();
    const silentClosed = new Promise<number>((r) => silent.on('close', (code) => r(code)));
    expect(await silentClosed).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
  });

  it('closes the socket 4401 on a bad token', async () => {
    const ws = connect({ token: 'not.a.jwt' });
    clients.push(ws);
    const { code } = await ws.closed;
    expect(code).toBe(4401);
  });
});

describe('roomStatusChanged and occupancyChanged', () => {
  it('delivers a room status change with its room type (hotel) and the occupancy after a booking', async () => {
    const ws = await client('frontdesk@grand-harbor.test');
    await ws.connected;
    const roomsFeed = ws.subscribe(`subscription($h: ID!) { roomStatusChanged(hotelId: $h) { id number status roomType { name } hotel { name } } }`, { h: ids.grandHarbor });
    const occupancy = ws.subscribe(`subscription($h: ID!) { occupancyChanged(hotelId: $h) { hotelId days { date occupiedRooms arrivals departures } } }`, { h: ids.grandHarbor });
    await new Promise((r) => setTimeout(r, 300));
    // Room 204: the dashboard test watches 303 and bookings.test.ts relies on 101 staying untouched.
    const room = rooms.find((r) => r.number === '204') ?? rooms[0]!;
    const before = await gql<any>(`query($id: ID!) { room(id: $id) { status } }`, { id: room.id }, { as: 'frontdesk@grand-harbor.test' });
    const next = before.data.room.status === 'DIRTY' ? 'CLEAN' : 'DIRTY';
    const set = await gql<any>(`mutation($id: ID!, $s: RoomStatus!) { setRoomStatus(roomId: $id, status: $s) { status } }`, { id: room.id, s: next }, { as: 'frontdesk@grand-harbor.test' });
    expect(set.errors).toEqual([]);
    const event = await roomsFeed.waitFor((e) => e.data?.roomStatusChanged?.id === room.id && e.data.roomStatusChanged.status === next);
    expect(event.data!.roomStatusChanged).toMatchObject({ number: room.number, roomType: { name: expect.any(String) }, hotel: { name: 'Grand Harbor Hotel' } });

    await createBooking({ as: 'frontdesk@grand-harbor.test' });
    const update = await occupancy.waitFor((e) => !!e.data?.occupancyChanged);
    expect(update.data!.occupancyChanged.hotelId).toBe(ids.grandHarbor);
    expect(update.data!.occupancyChanged.days).toHaveLength(15);
    for (const day of update.data!.occupancyChanged.days) {
      expect(day.occupiedRooms).toBeGreaterThanOrEqual(0);
      expect(day.occupiedRooms).toBeLessThanOrEqual(rooms.length);
    }
  });
});

describe('the WebSocket path shares the HTTP path', () => {
  it('answers GraphQL over HTTP and graphql-ws on the same /graphql URL', async () => {
    expect(wsUrl().endsWith('/graphql')).toBe(true);
    const http = await gql<any>(`{ hotels { id } }`, {}, { as: null });
    expect(http.status).toBe(200);
    const ws = await client(null);
    await expect(ws.connected).resolves.toBeUndefined();
    expect(gatewayUrl()).toBe(env('INNKEEP_GATEWAY_URL'));
    void extraPort;
  });
});
