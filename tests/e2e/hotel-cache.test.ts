import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { metric, metricsOf, startProcess, type Proc } from '../chaos/support.js';
import { extraPort } from '../setup/state.js';
import { actAs, countingProxy, createOwnHotel, env, eventually, gql, gatewayUrl, ids, type DemoUser } from './support.js';

/**
 * The gateway's hotel cache and shared reads (docs/performance.md) against the real stack: an answer
 * kept or shared for one identity is never served to another, and writes invalidate at once on the
 * gateway that made them and, through Redis, on every other replica.
 */
actAs('admin@innkeep.test');

// Room.status is not public: who asks decides whether it is there (the room's hotel staff only).
const ROOM = `query($id: ID!) { room(id: $id) { id number status hotel { name } } }`;
const room102 = ids.room('grand-harbor', '102');
const hotelBase = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '');
const hits = async (graphqlUrl: string) => metric(await metricsOf(hotelBase(graphqlUrl)), 'innkeep_upstream_shared_reads_total', { subgraph: 'hotel', outcome: 'hit' }) ?? 0;

/**
 * `read` twice on the gateway at `graphqlUrl`: the second must be a cache hit, so the cache is really in
 * the path a test exercises. Other test files write hotel data on the same stack meanwhile, and any such
 * write empties the cache (by design), so a pair may straddle one: a few pairs are tried, one must hit.
 */
async function expectSecondReadCached(graphqlUrl: string, read: () => Promise<unknown>): Promise<void> {
  await eventually(async () => {
    await read();
    const before = await hits(graphqlUrl);
    await read();
    return (await hits(graphqlUrl)) > before;
  });
}

/**
 * What each identity must see of room 102: staff of grand-harbor the room with its status; anyone else
 * FORBIDDEN / UNAUTHENTICATED on `room.status`, which (non-null) takes the room with it.
 */
async function expectRoomAsSeenBy(user: DemoUser | null, url = gatewayUrl()) {
  const { data, errors } = await gql<any>(ROOM, { id: room102 }, { as: user, url });
  if (user === 'manager@grand-harbor.test' || user === 'frontdesk@grand-harbor.test' || user === 'admin@innkeep.test') {
    expect(errors).toEqual([]);
    expect(data?.room).toMatchObject({ id: room102, number: '102', status: expect.any(String), hotel: { name: expect.any(String) } });
  } else {
    expect(data?.room).toBeNull();
    expect(errors.map((e) => [e.path?.join('.'), e.extensions.code])).toEqual([['room.status', user ? 'FORBIDDEN' : 'UNAUTHENTICATED']]);
  }
}

describe('hotel cache: never across identities', () => {
  it('serves a kept answer again to the same identity only', async () => {
    await expectSecondReadCached(gatewayUrl(), () => expectRoomAsSeenBy('manager@grand-harbor.test'));
    // The manager's answer (with the status) is kept; these identities must not get it.
    await expectRoomAsSeenBy(null);
    await expectRoomAsSeenBy('manager@alpine-lodge.test');
    await expectRoomAsSeenBy('guest@innkeep.test');
    await expectRoomAsSeenBy('frontdesk@grand-harbor.test');
  });

  it('keeps every identity apart under concurrent load', async () => {
    const users: Array<DemoUser | null> = ['manager@grand-harbor.test', null, 'manager@alpine-lodge.test', 'frontdesk@grand-harbor.test', 'guest@innkeep.test'];
    await Promise.all(Array.from({ length: 40 }, (_, i) => expectRoomAsSeenBy(users[i % users.length]!)));
  });
});

describe('hotel cache: invalidation and shared reads across gateway replicas', () => {
  const proxy = countingProxy(env('INNKEEP_HOTEL_URL'), { delayMs: 300 });
  let replica: Proc;
  let sharing: Proc;
  let replicaUrl: string;
  let sharingUrl: string;

  beforeAll(async () => {
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}/graphql`;
    // A second replica of the gateway, same Redis and event channels as the shared stack's.
    replica = await startProcess('gateway', extraPort(17), { LOG_LEVEL: 'info' }, 'gateway-replica');
    // A third, in front of the counting proxy, without the cache: in-flight sharing only.
    sharing = await startProcess('gateway', extraPort(18), { LOG_LEVEL: 'info', HOTEL_URL: proxyUrl, HOTEL_CACHE_TTL_SECONDS: '0' }, 'gateway-sharing');
    replicaUrl = `${replica.url}/graphql`;
    sharingUrl = `${sharing.url}/graphql`;
  }, 90_000);

  afterAll(async () => {
    await Promise.all([replica?.stop(), sharing?.stop()]);
    await new Promise((r) => proxy.server.close(r));
  });

  it('a write is seen at once by the gateway that made it and, through Redis, by the other replica', async () => {
    const slug = `cache-${Date.now()}`;
    const own = await createOwnHotel(slug);
    const read = async (url: string) => (await gql<any>(`query($id: ID!) { hotel(id: $id) { name } room(id: "${own.roomId}") { status } }`, { id: own.hotelId }, { url })).data;
    // Both replicas keep the answer (the second of two reads is served from the cache).
    for (const url of [gatewayUrl(), replicaUrl]) {
      await expectSecondReadCached(url, async () => expect(await read(url)).toEqual({ hotel: { name: `Test ${slug}` }, room: { status: 'CLEAN' } }));
    }

    const renamed = await gql<any>(`mutation($id: ID!) { updateHotel(id: $id, input: { name: "Renamed Cache Hotel" }) { name } }`, { id: own.hotelId });
    expect(renamed.errors).toEqual([]);
    // Same gateway: at once. Other replica: as soon as the hotel-data event arrives (well before the 60 s TTL).
    expect((await read(gatewayUrl())).hotel.name).toBe('Renamed Cache Hotel');
    await eventually(async () => (await read(replicaUrl)).hotel.name === 'Renamed Cache Hotel', 5000);

    // And the other way round: a housekeeping write through the replica.
    const dirty = await gql<any>(`mutation($id: ID!) { setRoomStatus(roomId: $id, status: DIRTY) { status } }`, { id: own.roomId }, { url: replicaUrl });
    expect(dirty.errors).toEqual([]);
    expect((await read(replicaUrl)).room.status).toBe('DIRTY');
    await eventually(async () => (await read(gatewayUrl())).room.status === 'DIRTY', 5000);
  });

  it('identical reads in flight for one identity travel once; other identities never join them', async () => {
    await expectRoomAsSeenBy('manager@grand-harbor.test', sharingUrl); // plans and tokens warm
    proxy.seen.length = 0;
    proxy.tokens.length = 0;
    await Promise.all(Array.from({ length: 12 }, () => expectRoomAsSeenBy('manager@grand-harbor.test', sharingUrl)));
    // 12 identical concurrent reads, each answer held 300 ms by the proxy: merged into (almost) one call.
    expect(proxy.seen.length).toBeGreaterThanOrEqual(1);
    expect(proxy.seen.length).toBeLessThanOrEqual(3);

    proxy.seen.length = 0;
    proxy.tokens.length = 0;
    const users: DemoUser[] = ['manager@grand-harbor.test', 'manager@alpine-lodge.test', 'frontdesk@grand-harbor.test'];
    await Promise.all(Array.from({ length: 12 }, (_, i) => expectRoomAsSeenBy(users[i % users.length]!, sharingUrl)));
    // Each identity got its own answer (checked above) from calls made with its own token.
    const subjects = new Set(proxy.tokens.map((t) => decodeJwt(t.replace(/^Bearer /, '')).sub));
    expect(subjects.size).toBe(users.length);
  });

  it('anonymous callers from different client IPs are one identity: they share a read; a signed-in caller never joins it', async () => {
    // Public fields only (room.status would be UNAUTHENTICATED for them: an error, never shared).
    const PUBLIC = `query($id: ID!) { room(id: $id) { id number hotel { name } } }`;
    const read = (ip: string, as: DemoUser | null = null) => gql<any>(PUBLIC, { id: room102 }, { url: sharingUrl, as, headers: { 'x-forwarded-for': ip } });
    await read('198.51.100.250'); // plans warm
    proxy.seen.length = 0;
    proxy.tokens.length = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => read(`198.51.100.${i + 1}`)));
    for (const { errors, data } of answers) {
      expect(errors).toEqual([]);
      expect(data).toEqual(answers[0]!.data);
    }
    // 12 visitors, 12 IPs, one anonymous identity: merged into (almost) one call, as for one user.
    expect(proxy.seen.length).toBeGreaterThanOrEqual(1);
    expect(proxy.seen.length).toBeLessThanOrEqual(3);

    proxy.seen.length = 0;
    proxy.tokens.length = 0;
    const mixed = await Promise.all(Array.from({ length: 12 }, (_, i) => read(`198.51.100.${i + 1}`, i % 2 ? 'guest@innkeep.test' : null)));
    for (const { errors } of mixed) expect(errors).toEqual([]);
    // The guest's reads went with the guest's own token, the visitors' with the anonymous one: never joined.
    const subjects = new Set(proxy.tokens.map((t) => decodeJwt(t.replace(/^Bearer /, '')).sub));
    expect(subjects.size).toBe(2);
  });

  it('answers with errors are never shared: each caller asks for itself (so each refusal is seen upstream)', async () => {
    proxy.seen.length = 0;
    await Promise.all(Array.from({ length: 6 }, () => expectRoomAsSeenBy('manager@alpine-lodge.test', sharingUrl)));
    expect(proxy.seen).toHaveLength(6);
  });
});
