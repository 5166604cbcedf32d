/**
 * Subscriptions across replicas and under the gateway's limits, on processes of this file's own (so the
 * counts asserted here are not disturbed by other test files):
 *  - gateway B → booking B (own processes) next to the shared gateway A → booking A: a booking made on
 *    either replica reaches subscribers on both gateways (Redis pub/sub between the booking replicas);
 *  - gateway C (own, tight limits): equal subscriptions share one upstream subscription, which is released
 *    when the last subscriber leaves; token expiry and revocation close the socket 4401; too many
 *    connections 4430; a slow consumer is cut off 4431 while the gateway stays healthy.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSigningKeyStore } from '../../gateway/src/auth/signing-keys.js';
import { DEVELOPMENT_KEY_ENCRYPTION_SECRET } from '../../gateway/src/auth/config.js';
import { createDatabase } from '../../lib/src/db.js';
import { createLogger } from '../../lib/src/logger.js';
import { seedId } from '../../scripts/lib/seed.js';
import { metric, metricsOf, startProcess, type Proc } from '../chaos/support.js';
import { extraPort } from '../setup/state.js';
import { DEMO_PASSWORD, env, eventually, gql, gatewayUrl, ids, inDays, tokenFor } from './support.js';
import { connect, wsUrl, type TestClient } from './ws-support.js';

const FEED = `subscription Feed($hotelId: ID!) { bookingChanged(hotelId: $hotelId) { type booking { id reference guest { name } hotel { name } } } }`;

let bookingB: Proc;
let gatewayB: Proc;
let gatewayC: Proc;
const graphqlOf = (p: Proc) => `${p.url}/graphql`;
const clients: TestClient[] = [];
const open = (options: Parameters<typeof connect>[0]) => {
  const c = connect(options);
  clients.push(c);
  return c;
};

let rooms: Array<{ id: string }> = [];
async function book(url: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const start = 2000 + Math.floor(Math.random() * 1500);
    const answer = await gql<any>(
      `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
      { input: { hotelId: ids.grandHarbor, roomId: rooms[Math.floor(Math.random() * rooms.length)]!.id, checkIn: inDays(start), checkOut: inDays(start + 1), guest: { name: 'Replica Guest', email: 'replica.guest@example.test' } } },
      { url, as: 'manager@grand-harbor.test' },
    );
    if (answer.errors[0]?.extensions.code === 'CONFLICT') continue;
    expect(answer.errors).toEqual([]);
    return answer.data.createBooking.id;
  }
  throw new Error('no free room in 5 attempts');
}

beforeAll(async () => {
  [bookingB, gatewayC] = await Promise.all([
    startProcess('booking', extraPort(32), {}, 'live-booking-b'),
    startProcess(
      'gateway',
      extraPort(34),
      {
        WS_AUTH_RECHECK_MS: '300',
        WS_MAX_CONNECTIONS_PER_CLIENT: '3',
        WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '60',
        SUBSCRIPTION_BUFFER_EVENTS: '4',
        SUBSCRIPTION_MAX_BUFFERED_BYTES: '65536',
        LOG_LEVEL: 'info',
      },
      'live-gateway-c',
    ),
  ]);
  gatewayB = await startProcess('gateway', extraPort(33), { BOOKING_URL: graphqlOf(bookingB), LOG_LEVEL: 'info' }, 'live-gateway-b');
  const answer = await gql<any>(`query($id: ID!) { hotel(id: $id) { rooms { id number } } }`, { id: ids.grandHarbor }, { as: 'manager@grand-harbor.test' });
  // Not 101: tests/e2e/bookings.test.ts asserts that nothing is ever written for grand-harbor's room 101.
  rooms = (answer.data.hotel.rooms as Array<{ id: string; number: string }>).filter((r) => r.number !== '101');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose().catch(() => undefined)));
  await Promise.all([gatewayB?.stop(), gatewayC?.stop()]);
  await bookingB?.stop();
});

describe('two gateways, two booking replicas, one Redis', () => {
  it('a booking made on either replica reaches subscribers on both gateways', async () => {
    const token = await tokenFor('manager@grand-harbor.test');
    const onA = open({ token });
    const onB = open({ token, url: wsUrl(graphqlOf(gatewayB)) });
    await Promise.all([onA.connected, onB.connected]);
    const feedA = onA.subscribe(FEED, { hotelId: ids.grandHarbor });
    const feedB = onB.subscribe(FEED, { hotelId: ids.grandHarbor });
    await new Promise((r) => setTimeout(r, 500));

    const viaA = await book(gatewayUrl()); // gateway A → booking A
    const viaB = await book(graphqlOf(gatewayB)); // gateway B → booking B
    for (const feed of [feedA, feedB]) {
      for (const id of [viaA, viaB]) {
        const event = await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === id);
        expect(event.data!.bookingChanged).toMatchObject({ type: 'CREATED', booking: { guest: { name: 'Replica Guest' }, hotel: { name: 'Grand Harbor Hotel' } } });
      }
    }
    feedA.stop();
    feedB.stop();
  });
});

describe('gateway C: sharing, release, expiry, revocation, limits, slow consumers', () => {
  const urlC = () => wsUrl(graphqlOf(gatewayC));
  const gauges = async () => {
    const text = await metricsOf(gatewayC.url);
    return {
      upstream: metric(text, 'innkeep_subscriptions_upstream', { subgraph: 'booking' }) ?? 0,
      shared: metric(text, 'innkeep_subscriptions_shared') ?? 0,
      subscriptions: metric(text, 'innkeep_ws_subscriptions') ?? 0,
      connections: metric(text, 'innkeep_ws_connections') ?? 0,
    };
  };

  it('subscribers with the same document, variables and rights share one upstream subscription, released when the last leaves', async () => {
    const manager = await tokenFor('manager@grand-harbor.test');
    const frontDesk = await tokenFor('frontdesk@grand-harbor.test');
    const admin = await tokenFor('admin@innkeep.test');
    const a = open({ url: urlC(), token: manager });
    const b = open({ url: urlC(), token: manager });
    const c = open({ url: urlC(), token: admin });
    const d = open({ url: urlC(), token: frontDesk });
    await Promise.all([a.connected, b.connected, c.connected, d.connected]);
    const feeds = [a, b].map((x) => x.subscribe(FEED, { hotelId: ids.grandHarbor }));
    await eventually(async () => (await gauges()).upstream === 1 || undefined);
    expect(await gauges()).toMatchObject({ upstream: 1, shared: 1, subscriptions: 2, connections: 4 });
    // Other rights (a PLATFORM_ADMIN, a FRONT_DESK): their own upstream subscription each.
    feeds.push(c.subscribe(FEED, { hotelId: ids.grandHarbor }), d.subscribe(FEED, { hotelId: ids.grandHarbor }));
    await eventually(async () => (await gauges()).upstream === 3 || undefined);
    expect(await gauges()).toMatchObject({ upstream: 3, shared: 3, subscriptions: 4 });

    const id = await book(gatewayUrl());
    for (const feed of feeds) await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === id);
    // One execution per shared subscription and event, delivered to each subscriber.
    const text = await metricsOf(gatewayC.url);
    expect(metric(text, 'innkeep_subscription_deliveries_total', { subgraph: 'booking' })).toBeGreaterThanOrEqual(4);

    feeds[0]!.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect((await gauges()).upstream).toBe(3); // b still watches
    feeds[1]!.stop();
    feeds[2]!.stop();
    await d.dispose(); // a socket closed without `complete`
    await eventually(async () => {
      const g = await gauges();
      return (g.upstream === 0 && g.shared === 0 && g.subscriptions === 0) || undefined;
    });
    await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
    await eventually(async () => (await gauges()).connections === 0 || undefined);
  });

  it('closes the socket 4401 when the access token expires', async () => {
    // A token of the built-in issuer signed with its real key, expiring in 3 s.
    const db = createDatabase({ url: env('INNKEEP_DATABASE_URL'), poolSize: 1, acquireTimeoutMs: 5000, applicationName: 'innkeep-test-live' });
    try {
      const store = createSigningKeyStore({ prisma: db.prisma, logger: createLogger('test', 'silent'), encryptionSecret: DEVELOPMENT_KEY_ENCRYPTION_SECRET, production: false });
      await store.initialize();
      const key = await store.signingKey();
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ roles: ['HOTEL_MANAGER'], hotelIds: [ids.grandHarbor], email: 'manager@grand-harbor.test', jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
        .setIssuer('innkeep')
        .setAudience('innkeep-api')
        .setSubject(seedId('user:manager@grand-harbor.test'))
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 3)
        .sign(key.privateKey);
      const started = Date.now();
      const ws = open({ url: urlC(), token });
      await ws.connected;
      const feed = ws.subscribe(FEED, { hotelId: ids.grandHarbor });
      const closed = await ws.closed;
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(/expired/i);
      expect(Date.now() - started).toBeGreaterThan(1500);
      expect(Date.now() - started).toBeLessThan(10_000);
      await feed.ended(5000); // the client's subscription ends with the socket (it re-subscribes after reconnecting)
    } finally {
      await db.close();
    }
  });

  it('closes the socket 4401 soon after the token is revoked (logout)', async () => {
    const login = await fetch(`${gatewayC.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'frontdesk@grand-harbor.test', password: DEMO_PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const ws = open({ url: urlC(), token: accessToken });
    await ws.connected;
    ws.subscribe(FEED, { hotelId: ids.grandHarbor });
    await new Promise((r) => setTimeout(r, 500));
    const logout = await fetch(`${gatewayC.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, body: '{}' });
    expect(logout.status).toBeLessThan(300);
    const revokedAt = Date.now();
    const closed = await ws.closed;
    expect(closed.code).toBe(4401);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
  });

  it('refuses a client its fourth connection (limit 3) with 4430', async () => {
    const token = await tokenFor('auditor@grand-harbor.test');
    const three = [0, 1, 2].map(() => open({ url: urlC(), token }));
    await Promise.all(three.map((c) => c.connected));
    const fourth = open({ url: urlC(), token });
    expect((await fourth.closed).code).toBe(4430);
    await Promise.all(three.map((c) => c.dispose()));
    // Released: a new one is accepted again.
    await eventually(async () => (await gauges()).connections === 0 || undefined);
    const again = open({ url: urlC(), token });
    await expect(again.connected).resolves.toBeUndefined();
    await again.dispose();
  });

  it('cuts off a consumer that stops reading (4431) and stays healthy', async () => {
    const token = await tokenFor('admin@innkeep.test');
    const socket = new WebSocket(urlC(), 'graphql-transport-ws');
    const messages: string[] = [];
    let closeCode = 0;
    const closed = new Promise<void>((resolve) =>
      socket.on('close', (code) => {
        closeCode = code;
        resolve();
      }),
    );
    socket.on('message', (data) => messages.push(String(data)));
    await new Promise((r) => socket.once('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await eventually(async () => messages.some((m) => m.includes('connection_ack')) || undefined);
    const room = ids.room('grand-harbor', '202'); // not 101 (direct-mode, bookings) nor 303/204 (dashboard, subscriptions)
    // A large selection, 50 times on one connection: each event is ~50 results for this one client.
    const query = `subscription($h: ID!) { roomStatusChanged(hotelId: $h) { id number floor status roomType { id name capacity baseRate { amount currency } } hotel { id name slug timezone currency rooms { id number floor status } } } }`;
    for (let i = 0; i < 50; i++) socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query, variables: { h: ids.grandHarbor } } }));
    await new Promise((r) => setTimeout(r, 500));
    // Stop reading: the client's TCP buffers fill, then the gateway's.
    (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();

    const before = metric(await metricsOf(gatewayC.url), 'process_resident_memory_bytes')!;
    let cutOff = false;
    for (let i = 0; i < 400 && !cutOff; i++) {
      await gql(`mutation($id: ID!, $s: RoomStatus!) { setRoomStatus(roomId: $id, status: $s) { id } }`, { id: room, s: i % 2 ? 'CLEAN' : 'INSPECTED' }, { as: 'admin@innkeep.test' });
      if (i % 10 === 9) cutOff = (metric(await metricsOf(gatewayC.url), 'innkeep_ws_closed_total', { reason: 'slow_consumer' }) ?? 0) >= 1;
    }
    await gql(`mutation($id: ID!) { setRoomStatus(roomId: $id, status: CLEAN) { id } }`, { id: room }, { as: 'admin@innkeep.test' });
    expect(cutOff).toBe(true);
    (socket as unknown as { _socket: import('node:net').Socket })._socket.resume();
    await closed;
    expect(closeCode).toBe(4431);
    const after = await metricsOf(gatewayC.url);
    expect(metric(after, 'process_resident_memory_bytes')! - before).toBeLessThan(150 * 1024 * 1024);
    expect((await fetch(`${gatewayC.url}/health/live`)).status).toBe(200);
    expect(gatewayC.child.exitCode).toBeNull();
  }, 120_000);
});
