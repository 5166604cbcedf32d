/**
 * The subgraph side of live subscriptions, spoken to DIRECTLY over graphql-ws as the gateway speaks to it
 * (lib/src/subscriptions.ts): the connection carries the gateway's internal token, each subscription its
 * subscriber's. Mutations go through the real gateway over HTTP; events travel through the real Redis
 * (this run's own channel prefix).
 *
 * Promises: each of the five fields delivers the matching change with the right payload; a caller who may
 * not watch is refused (FORBIDDEN / UNAUTHENTICATED) before any event and nothing is subscribed; a
 * connection without the gateway's token is closed 4401; unsubscribing releases the Redis channel; an
 * event published by one booking process reaches a subscriber of another.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { AUDIT_WRITE_SCOPE } from '../../lib/src/audit-client.js';
import { ANONYMOUS, type Principal, type Role } from '../../lib/src/identity.js';
import { extraPort } from '../setup/state.js';
import { fakeVendorCredentials, startProcess, metric, metricsOf, type Proc } from '../chaos/support.js';
import { eventually, gql, inDays, sql } from '../e2e/support.js';
import { craftToken, expectContractError, GH, principals, subgraphUrl, tokenFor, type Subgraph } from '../security/support.js';

const GATEWAY: Principal = { kind: 'service', id: 'gateway', roles: [], hotelIds: [], scopes: [] };
const user = (roles: Role[], hotelIds: string[]): Principal => ({ kind: 'user', id: `u-live-${randomUUID().slice(0, 8)}`, roles, hotelIds, scopes: [] });
const wsUrl = (httpGraphqlUrl: string) => httpGraphqlUrl.replace(/^http/, 'ws');

const prefix = () => {
  const value = process.env.EVENTS_CHANNEL_PREFIX;
  if (!value) throw new Error('EVENTS_CHANNEL_PREFIX is not set: run through jest (the global setup gives each run its own)');
  return value;
};

let redis: Redis;
/** Subscribers of a channel across every process on the shared Redis (PUBSUB NUMSUB). */
const numsub = async (topicName: string) => Number(((await redis.call('PUBSUB', 'NUMSUB', prefix() + topicName)) as [string, number])[1]);

// ─── graphql-ws as the gateway speaks it ───────────────────────────────────────────────────────────

const clients: Client[] = [];
async function gatewayClient(subgraph: Subgraph, url = subgraphUrl(subgraph)): Promise<Client> {
  const token = await tokenFor(GATEWAY, subgraph);
  const client = createClient({ url: wsUrl(url), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${token}` } });
  clients.push(client);
  return client;
}

interface Watch {
  events: any[];
  errors: any[];
  done: boolean;
  stop(): void;
  /** Waits for the n-th event (1-based) and returns it. */
  event(n: number, timeoutMs?: number): Promise<any>;
  refusal(timeoutMs?: number): Promise<any[]>;
}

async function watch(client: Client, subgraph: Subgraph, query: string, variables: Record<string, unknown>, subscriber: Principal | null, correlationId?: string): Promise<Watch> {
  const extensions = subscriber ? { authorization: `Bearer ${await tokenFor(subscriber, subgraph, correlationId)}` } : {};
  const state: Watch = {
    events: [],
    errors: [],
    done: false,
    stop: () => undefined,
    event: async (n, timeoutMs = 15_000) => eventually(async () => (state.errors.length ? Promise.reject(new Error(JSON.stringify(state.errors))) : state.events[n - 1]), timeoutMs),
    refusal: async (timeoutMs = 10_000) => eventually(async () => state.done && state.errors, timeoutMs),
  };
  state.stop = client.subscribe(
    { query, variables, extensions },
    {
      next: (result) => state.events.push(result),
      error: (error) => {
        state.errors.push(...(Array.isArray(error) ? error : [error]));
        state.done = true;
      },
      complete: () => {
        state.done = true;
      },
    },
  );
  return state;
}

/** Subscribed means Redis has the channel: only then is a published event certain to arrive. */
const subscribedTo = (topicName: string, atLeast = 1) => eventually(async () => (await numsub(topicName)) >= atLeast);

// ─── a hotel of this file's own (UTC, so "today" is the test's today), through the gateway ─────────

const admin = { as: 'admin@innkeep.test' as const };
interface OwnHotel {
  hotelId: string;
  roomIds: string[];
  propertyCode: string;
}

async function createOwnHotel(tag: string): Promise<OwnHotel> {
  const hotel = await gql<any>(
    `mutation($input: CreateHotelInput!) { createHotel(input: $input) { id } }`,
    { input: { name: `Live ${tag}`, slug: `live-${tag}`, timezone: 'UTC', currency: 'EUR', address: { line1: 'Rua 1', city: 'Porto', postalCode: '4000-001', country: 'PT' } } },
    admin,
  );
  expect(hotel.errors).toEqual([]);
  const hotelId = hotel.data!.createHotel.id as string;
  const roomType = await gql<any>(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id } }`, { input: { hotelId, name: 'Double', capacity: 2, baseRateMinor: 10000 } }, admin);
  const roomIds: string[] = [];
  for (const number of ['101', '102']) {
    const room = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, { input: { hotelId, roomTypeId: roomType.data!.createRoomType.id, number, floor: 1 } }, admin);
    expect(room.errors).toEqual([]);
    roomIds.push(room.data!.createRoom.id);
  }
  const propertyCode = `LIVE-${tag}`.toUpperCase();
  const connected = await gql<any>(
    `mutation($input: ConnectPmsInput!) { connectPms(input: $input) { vendor } }`,
    { input: { hotelId, vendor: 'mews', propertyCode, credentials: fakeVendorCredentials('mews') } },
    admin,
  );
  expect(connected.errors).toEqual([]);
  return { hotelId, roomIds, propertyCode };
}

const book = async (own: OwnHotel, roomIndex: number, from: number, to: number) => {
  const answer = await gql<any>(
    `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference status } }`,
    { input: { hotelId: own.hotelId, roomId: own.roomIds[roomIndex], checkIn: inDays(from), checkOut: inDays(to), guests: 1, guest: { name: 'Live Guest', email: `live-${randomUUID().slice(0, 8)}@example.test` } } },
    admin,
  );
  expect(answer.errors).toEqual([]);
  return answer.data!.createBooking as { id: string; reference: string; status: string };
};
const transition = async (mutation: 'cancelBooking' | 'checkIn' | 'checkOut', id: string) => {
  const answer = await gql<any>(`mutation($id: ID!) { ${mutation}(id: $id) { id status } }`, { id }, admin);
  expect(answer.errors).toEqual([]);
  return answer.data![mutation];
};

const BOOKING_CHANGED = `subscription($hotelId: ID!) {
  bookingChanged(hotelId: $hotelId) { type occurredAt booking { __typename id reference status checkIn checkOut nights guests hotel { id } room { id } total { amountMinor currency } guest { name } } }
}`;
const OCCUPANCY_CHANGED = `subscription($hotelId: ID!) { occupancyChanged(hotelId: $hotelId) { hotelId hotel { id } days { date occupiedRooms arrivals departures } } }`;
const ROOM_STATUS_CHANGED = `subscription($hotelId: ID!) { roomStatusChanged(hotelId: $hotelId) { __typename id number status hotel { id } } }`;
const AUDIT_RECORDED = `subscription($hotelId: ID) { auditEventRecorded(hotelId: $hotelId) { id sequence action resourceType resourceId hotelId occurredAt details } }`;
const SYNC_PROGRESS = `subscription($hotelId: ID!) { pmsSyncProgress(hotelId: $hotelId) { hotelId syncId phase total pushed failed reason occurredAt } }`;

let own: OwnHotel;
let staff: Principal;

beforeAll(async () => {
  redis = new Redis(process.env.INNKEEP_REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
  own = await createOwnHotel(randomUUID().slice(0, 8));
  staff = user(['FRONT_DESK'], [own.hotelId]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  redis.disconnect();
});

describe('events are delivered for each live field after the matching mutation', () => {
  it('bookingChanged: CREATED, CHECKED_IN, CHECKED_OUT, CREATED, CANCELLED — each with the booking as it is after the change', async () => {
    const client = await gatewayClient('booking');
    const live = await watch(client, 'booking', BOOKING_CHANGED, { hotelId: own.hotelId }, staff);
    await subscribedTo(`booking:${own.hotelId}`);

    const stay = await book(own, 0, 40, 43);
    await transition('checkIn', stay.id);
    await transition('checkOut', stay.id);
    const cancelled = await book(own, 1, 40, 42);
    await transition('cancelBooking', cancelled.id);

    await live.event(5);
    const events = live.events.map((r) => r.data.bookingChanged);
    expect(live.events.every((r) => r.errors === undefined)).toBe(true);
    expect(events.map((e) => [e.type, e.booking.id, e.booking.status])).toEqual([
      ['CREATED', stay.id, 'CONFIRMED'],
      ['CHECKED_IN', stay.id, 'CHECKED_IN'],
      ['CHECKED_OUT', stay.id, 'CHECKED_OUT'],
      ['CREATED', cancelled.id, 'CONFIRMED'],
      ['CANCELLED', cancelled.id, 'CANCELLED'],
    ]);
    // A normal Booking: the entity reference and the fields the booking subgraph owns, resolved per event.
    expect(events[0]).toEqual({
      type: 'CREATED',
      occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
      booking: {
        __typename: 'Booking',
        id: stay.id,
        reference: stay.reference,
        status: 'CONFIRMED',
        checkIn: inDays(40),
        checkOut: inDays(43),
        nights: 3,
        guests: 1,
        hotel: { id: own.hotelId },
        room: { id: own.roomIds[0] },
        total: { amountMinor: 30000, currency: 'EUR' },
        guest: { name: 'Live Guest' },
      },
    });
    live.stop();
  });

  it('an idempotent replay of createBooking publishes nothing', async () => {
    const client = await gatewayClient('booking');
    const live = await watch(client, 'booking', BOOKING_CHANGED, { hotelId: own.hotelId }, staff);
    await subscribedTo(`booking:${own.hotelId}`);
    const key = `live-replay-${randomUUID()}`;
    const input = { hotelId: own.hotelId, roomId: own.roomIds[0], checkIn: inDays(50), checkOut: inDays(51), guest: { name: 'Replay', email: 'replay-live@example.test' }, idempotencyKey: key };
    const first = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input }, admin);
    const again = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, { input }, admin);
    expect(again.data!.createBooking.id).toBe(first.data!.createBooking.id);
    const marker = await book(own, 1, 52, 53);
    await live.event(2);
    expect(live.events.map((r) => [r.data.bookingChanged.type, r.data.bookingChanged.booking.id])).toEqual([
      ['CREATED', first.data!.createBooking.id],
      ['CREATED', marker.id],
    ]);
    live.stop();
  });

  it('occupancyChanged: today + 14 days in the hotel time zone after a booking change, the same shape as Query.occupancy', async () => {
    const client = await gatewayClient('booking');
    const live = await watch(client, 'booking', OCCUPANCY_CHANGED, { hotelId: own.hotelId }, staff);
    await subscribedTo(`occupancy:${own.hotelId}`);
    // Nights 2 and 3 from today (the hotel is on UTC, like inDays), arrival day 2, departure day 4.
    // (Snapshots of earlier tests' changes may still arrive: wait for the one that shows this booking.)
    const booking = await book(own, 1, 2, 4);
    const updates = () => live.events.map((r) => r.data.occupancyChanged);
    const update = await eventually(async () => updates().find((u) => u.days[2].arrivals === 1));
    expect(update.hotelId).toBe(own.hotelId);
    expect(update.hotel).toEqual({ id: own.hotelId });
    expect(update.days).toHaveLength(15);
    expect(update.days[0].date).toBe(inDays(0));
    expect(update.days[14].date).toBe(inDays(14));
    expect(update.days.slice(1, 5)).toEqual([
      { date: inDays(1), occupiedRooms: 0, arrivals: 0, departures: 0 },
      { date: inDays(2), occupiedRooms: 1, arrivals: 1, departures: 0 },
      { date: inDays(3), occupiedRooms: 1, arrivals: 0, departures: 0 },
      { date: inDays(4), occupiedRooms: 0, arrivals: 0, departures: 1 },
    ]);

    const query = await gql<any>(`query($hotelId: ID!) { occupancy(hotelId: $hotelId) { hotelId days { date occupiedRooms arrivals departures } } }`, { hotelId: own.hotelId }, admin);
    expect(query.errors).toEqual([]);
    expect(query.data!.occupancy).toEqual({ hotelId: own.hotelId, days: update.days });

    // Cancelling frees the nights; a cancelled stay is no departure either.
    const seen = updates().length;
    await transition('cancelBooking', booking.id);
    const after = await eventually(async () => updates().slice(seen).find((u) => u.days[2].arrivals === 0));
    expect(after.days.slice(2, 5)).toEqual([
      { date: inDays(2), occupiedRooms: 0, arrivals: 0, departures: 0 },
      { date: inDays(3), occupiedRooms: 0, arrivals: 0, departures: 0 },
      { date: inDays(4), occupiedRooms: 0, arrivals: 0, departures: 0 },
    ]);
    live.stop();
  });

  it('roomStatusChanged: the room after setRoomStatus; writing the same status again is no change', async () => {
    const client = await gatewayClient('hotel');
    const live = await watch(client, 'hotel', ROOM_STATUS_CHANGED, { hotelId: own.hotelId }, staff);
    await subscribedTo(`room-status:${own.hotelId}`);
    const set = (status: string) => gql<any>(`mutation($roomId: ID!, $status: RoomStatus!) { setRoomStatus(roomId: $roomId, status: $status) { status } }`, { roomId: own.roomIds[0], status }, admin);
    expect((await set('DIRTY')).data!.setRoomStatus.status).toBe('DIRTY');
    expect((await set('DIRTY')).data!.setRoomStatus.status).toBe('DIRTY');
    await set('INSPECTED');
    await live.event(2);
    expect(live.events.map((r) => r.data.roomStatusChanged)).toEqual([
      { __typename: 'Room', id: own.roomIds[0], number: '101', status: 'DIRTY', hotel: { id: own.hotelId } },
      { __typename: 'Room', id: own.roomIds[0], number: '101', status: 'INSPECTED', hotel: { id: own.hotelId } },
    ]);
    live.stop();
  });

  it('auditEventRecorded: the booking change recorded in the trail; without hotelId an AUDITOR sees only their hotels, PLATFORM_ADMIN everything', async () => {
    const client = await gatewayClient('audit');
    const auditor = user(['AUDITOR'], [own.hotelId]);
    const ofHotel = await watch(client, 'audit', AUDIT_RECORDED, { hotelId: own.hotelId }, auditor);
    const auditorAll = await watch(client, 'audit', AUDIT_RECORDED, { hotelId: null }, auditor);
    const adminAll = await watch(client, 'audit', AUDIT_RECORDED, {}, principals.admin);
    await subscribedTo(`audit:${own.hotelId}`);
    await subscribedTo('audit:platform');

    // Through the product: a booking change reaches the trail through the outbox relay (earlier tests'
    // changes of this hotel may still arrive too: events are picked by what they are about).
    const booking = await book(own, 0, 60, 61);
    const events = (w: Watch) => w.events.map((r) => r.data.auditEventRecorded);
    const recorded = await eventually(async () => events(ofHotel).find((e) => e.resourceId === booking.id));
    expect(recorded).toMatchObject({ action: 'booking.created', resourceType: 'Booking', resourceId: booking.id, hotelId: own.hotelId, sequence: expect.stringMatching(/^\d+$/) });
    expect(recorded.details).toMatchObject({ reference: booking.reference });

    // Directly as a producer: one event of this hotel, one of another hotel, one of none.
    const at = new Date().toISOString();
    const event = (hotelId: string | null) => ({ id: randomUUID(), occurredAt: at, actor: 'service:test', action: 'test.live', resourceType: 'Test', resourceId: randomUUID(), hotelId, correlationId: null, details: {} });
    const [mine, foreign, hotelless] = [event(own.hotelId), event(GH), event(null)];
    const post = async (batch: unknown[]) => {
      const token = await tokenFor({ kind: 'service', id: 'booking', roles: [], hotelIds: [], scopes: [AUDIT_WRITE_SCOPE] }, 'audit');
      const response = await fetch(new URL('/internal/audit-events', subgraphUrl('audit')), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ events: batch }) });
      return (await response.json()) as { appended: number };
    };
    expect((await post([mine, foreign, hotelless])).appended).toBe(3);
    // A resend stores nothing, so it announces nothing.
    expect((await post([mine, foreign, hotelless])).appended).toBe(0);
    // Published after the others: once it arrived, everything before it has been delivered (commit order).
    const marker = event(own.hotelId);
    expect((await post([marker])).appended).toBe(1);

    const ids = (w: Watch) => events(w).map((e) => e.id);
    for (const w of [ofHotel, auditorAll, adminAll]) await eventually(async () => ids(w).includes(marker.id));
    expect(ids(adminAll)).toEqual(expect.arrayContaining([recorded.id, mine.id, foreign.id, hotelless.id, marker.id]));
    for (const w of [ofHotel, auditorAll]) {
      expect(ids(w)).toEqual(expect.arrayContaining([recorded.id, mine.id, marker.id]));
      expect(events(w).every((e) => e.hotelId === own.hotelId)).toBe(true);
    }
    // Each event once, in trail order.
    for (const w of [ofHotel, auditorAll, adminAll]) {
      expect(new Set(ids(w)).size).toBe(ids(w).length);
      const sequences = events(w).map((e) => BigInt(e.sequence));
      expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    }
    for (const w of [ofHotel, auditorAll, adminAll]) w.stop();
  });

  it('pmsSyncProgress: STARTED, PROGRESS per booking, COMPLETED — one syncId, counts matching the mutation', async () => {
    const client = await gatewayClient('pms');
    const manager = user(['HOTEL_MANAGER'], [own.hotelId]);
    const live = await watch(client, 'pms', SYNC_PROGRESS, { hotelId: own.hotelId }, manager);
    await subscribedTo(`pms-sync:${own.hotelId}`);
    const answer = await gql<any>(`mutation($hotelId: ID!) { syncReservations(hotelId: $hotelId) { status pushed failed } }`, { hotelId: own.hotelId }, admin);
    expect(answer.errors).toEqual([]);
    expect(answer.data!.syncReservations.status).toBe('COMPLETED');
    const pushed = answer.data!.syncReservations.pushed as number;
    expect(pushed).toBeGreaterThan(0);

    await eventually(async () => live.events.some((r) => r.data.pmsSyncProgress.phase === 'COMPLETED'));
    const steps = live.events.map((r) => r.data.pmsSyncProgress);
    expect(new Set(steps.map((s) => s.syncId)).size).toBe(1);
    expect(steps.every((s) => s.hotelId === own.hotelId)).toBe(true);
    expect(steps[0]).toMatchObject({ phase: 'STARTED', total: pushed, pushed: 0, failed: 0, reason: null });
    expect(steps.slice(1, -1).map((s) => [s.phase, s.pushed])).toEqual(Array.from({ length: pushed }, (_, i) => ['PROGRESS', i + 1]));
    expect(steps.at(-1)).toMatchObject({ phase: 'COMPLETED', total: pushed, pushed, failed: 0 });
    live.stop();
  });
});

describe('refusals: before any event, in the contract error shape, and nothing is subscribed', () => {
  const otherTenant = user(['FRONT_DESK', 'HOTEL_MANAGER', 'AUDITOR'], [GH]);
  const cases: Array<[Subgraph, string, string, string]> = [
    ['booking', 'bookingChanged', BOOKING_CHANGED, 'booking'],
    ['booking', 'occupancyChanged', OCCUPANCY_CHANGED, 'occupancy'],
    ['hotel', 'roomStatusChanged', ROOM_STATUS_CHANGED, 'room-status'],
    ['audit', 'auditEventRecorded', AUDIT_RECORDED, 'audit'],
    ['pms', 'pmsSyncProgress', SYNC_PROGRESS, 'pms-sync'],
  ];

  it.each(cases)('%s %s: FORBIDDEN for staff of another hotel, UNAUTHENTICATED for anonymous and without a subscriber token', async (subgraph, _field, query, kind) => {
    const client = await gatewayClient(subgraph);
    const cid = `live-${randomUUID()}`;
    const forbidden = await watch(client, subgraph, query, { hotelId: own.hotelId }, otherTenant, cid);
    const anonymous = await watch(client, subgraph, query, { hotelId: own.hotelId }, ANONYMOUS);
    const tokenless = await watch(client, subgraph, query, { hotelId: own.hotelId }, null);
    const expectRefused = async (w: Watch, code: string) => {
      const errors = await w.refusal();
      expect(w.events).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0].extensions.code).toBe(code);
      expectContractError(errors[0], subgraph);
      return errors[0];
    };
    expect((await expectRefused(forbidden, 'FORBIDDEN')).extensions.correlationId).toBe(cid);
    await expectRefused(anonymous, 'UNAUTHENTICATED');
    await expectRefused(tokenless, 'UNAUTHENTICATED');
    expect(await numsub(`${kind}:${own.hotelId}`)).toBe(0);
  });

  it('the audit feed is AUDITOR and PLATFORM_ADMIN only (a HOTEL_MANAGER may read the trail, not watch it)', async () => {
    const client = await gatewayClient('audit');
    const managerFeed = await watch(client, 'audit', AUDIT_RECORDED, { hotelId: own.hotelId }, user(['HOTEL_MANAGER'], [own.hotelId]));
    const errors = await managerFeed.refusal();
    expect(errors.map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
  });

  it('a GUEST cannot watch a hotel feed, and a query over the WebSocket is refused with BAD_USER_INPUT', async () => {
    const client = await gatewayClient('booking');
    const guest = await watch(client, 'booking', BOOKING_CHANGED, { hotelId: own.hotelId }, principals.guestOwner);
    expect((await guest.refusal()).map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
    const query = await watch(client, 'booking', `query { booking(id: "${randomUUID()}") { id } }`, {}, principals.admin);
    const [error] = await query.refusal();
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(/subscriptions only.*HTTP/);
    expectContractError(error, 'booking');
  });

  it('Query.occupancy validates days (1–62) and is as private as the hotel’s bookings', async () => {
    const q = `query($hotelId: ID!, $days: Int) { occupancy(hotelId: $hotelId, days: $days) { hotelId } }`;
    for (const days of [0, 63]) {
      const answer = await gql<any>(q, { hotelId: own.hotelId, days }, admin);
      expect(answer.errors.map((e) => [e.extensions.code, (e.extensions.fields as any)?.[0]?.field])).toEqual([['BAD_USER_INPUT', 'days']]);
    }
    const foreign = await gql<any>(q, { hotelId: own.hotelId, days: 3 }, { as: 'frontdesk@grand-harbor.test' });
    expect(foreign.errors.map((e) => e.extensions.code)).toEqual(['FORBIDDEN']);
    const anonymous = await gql<any>(q, { hotelId: own.hotelId, days: 3 }, { as: null });
    expect(anonymous.errors.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('the connection belongs to the gateway', () => {
  /** Opens a raw graphql-transport-ws socket, sends connection_init, resolves with the close code (or 'ack'). */
  const init = (payload: Record<string, unknown>) =>
    new Promise<number | 'ack'>((resolve, reject) => {
      const socket = new WebSocket(wsUrl(subgraphUrl('booking')), 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') {
          resolve('ack');
          socket.close(1000);
        }
      });
      socket.on('close', (code) => resolve(code));
      socket.on('error', reject);
    });
  const bearer = async (token: Promise<string> | string) => ({ authorization: `Bearer ${await token}` });

  it('acknowledges the gateway’s internal token for this subgraph', async () => {
    expect(await init(await bearer(tokenFor(GATEWAY, 'booking')))).toBe('ack');
  });

  it.each([
    ['no token', async () => ({})],
    ['a user’s token (not the gateway)', () => bearer(tokenFor(principals.admin, 'booking'))],
    ['another service’s token', () => bearer(tokenFor({ ...GATEWAY, id: 'pms' }, 'booking'))],
    ['the gateway’s token for another subgraph', () => bearer(tokenFor(GATEWAY, 'hotel'))],
    ['a forged token', () => bearer(craftToken({ audience: 'booking', principal: GATEWAY, secret: 'x'.repeat(48) }))],
    ['garbage', async () => ({ authorization: 'Bearer nope' })],
  ])('closes 4401 for %s', async (_label, payload) => {
    expect(await init(await payload())).toBe(4401);
  });
});

describe('subscriptions release what they hold', () => {
  it('unsubscribing releases the Redis channel and the active-subscription gauge', async () => {
    const base = new URL(subgraphUrl('booking')).origin;
    const gaugeOf = async () => metric(await metricsOf(base), 'innkeep_subscriptions_active', { field: 'bookingChanged' }) ?? 0;
    const hotelId = randomUUID(); // a topic nobody else uses
    const before = await gaugeOf();
    const client = await gatewayClient('booking');
    const first = await watch(client, 'booking', BOOKING_CHANGED, { hotelId }, principals.admin);
    const second = await watch(client, 'booking', BOOKING_CHANGED, { hotelId }, principals.admin);
    await subscribedTo(`booking:${hotelId}`);
    await eventually(async () => (await gaugeOf()) === before + 2);
    // One Redis subscription per process, however many local subscribers (refcounting).
    expect(await numsub(`booking:${hotelId}`)).toBe(1);
    first.stop();
    await eventually(async () => (await gaugeOf()) === before + 1);
    expect(await numsub(`booking:${hotelId}`)).toBe(1);
    second.stop();
    await eventually(async () => (await numsub(`booking:${hotelId}`)) === 0);
    await eventually(async () => (await gaugeOf()) === before);
  });

  it('closing the connection ends its subscriptions and releases their channels', async () => {
    const hotelId = randomUUID();
    const client = await gatewayClient('hotel');
    await watch(client, 'hotel', ROOM_STATUS_CHANGED, { hotelId }, principals.admin);
    await subscribedTo(`room-status:${hotelId}`);
    await client.dispose();
    await eventually(async () => (await numsub(`room-status:${hotelId}`)) === 0);
  });
});

describe('across processes: two booking replicas on one Redis', () => {
  let second: Proc;
  beforeAll(async () => {
    second = await startProcess('booking', extraPort(23), {}, 'live-booking-2');
  }, 90_000);
  afterAll(async () => {
    await second?.stop();
  });

  it('a booking created through one replica reaches a subscriber of the other', async () => {
    const client = await gatewayClient('booking', `${second.url}/graphql`);
    const live = await watch(client, 'booking', BOOKING_CHANGED, { hotelId: own.hotelId }, staff);
    // Both processes may now hold the channel (other tests' subscribers on the shared one).
    await subscribedTo(`booking:${own.hotelId}`);
    await eventually(async () => metric(await metricsOf(second.url), 'innkeep_event_channels') === 1);
    // The gateway sends the mutation to the shared booking process, never to ours.
    const booking = await book(own, 0, 70, 71);
    const event = (await live.event(1)).data.bookingChanged;
    expect(event).toMatchObject({ type: 'CREATED', booking: { id: booking.id, reference: booking.reference, hotel: { id: own.hotelId } } });
    live.stop();
    await eventually(async () => metric(await metricsOf(second.url), 'innkeep_event_channels') === 0);
  });
});
