import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitReady } from '../../scripts/lib/stack.js';
import { extraPort } from '../setup/state.js';
import { actAs, countingProxy, env, gql, ids, inDays } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

describe('entity batching', () => {
  const proxy = countingProxy(env('INNKEEP_HOTEL_URL'));
  let gateway: ChildProcess;
  let url: string;
  const port = extraPort(1);

  beforeAll(async () => {
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}/graphql`;
    gateway = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      env: { ...process.env, GATEWAY_PORT: String(port), HOTEL_URL: proxyUrl, BOOKING_URL: env('INNKEEP_BOOKING_URL'), PMS_URL: env('INNKEEP_PMS_URL'), AUDIT_URL: env('INNKEEP_AUDIT_URL'), DATABASE_URL: env('INNKEEP_DATABASE_URL'), REDIS_URL: env('INNKEEP_REDIS_URL'), LOG_LEVEL: 'warn',
        // Batching alone: no cache or shared reads hiding calls (tests/e2e/hotel-cache.test.ts covers those).
        HOTEL_CACHE_TTL_SECONDS: '0', UPSTREAM_SHARED_READS: '' },
      stdio: 'ignore',
    });
    url = `http://127.0.0.1:${port}/graphql`;
    await waitReady(`http://127.0.0.1:${port}/health/ready`, 30_000);

    // 50 one-night stays over five rooms of grand-harbor, far in the future.
    const rooms = ['102', '104', '202', '204', '302'];
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
          input: {
            hotelId: ids.grandHarbor,
            roomId: ids.room('grand-harbor', rooms[i % 5]!),
            checkIn: inDays(600 + Math.floor(i / 5) * 2),
            checkOut: inDays(601 + Math.floor(i / 5) * 2),
            guest: { name: `Batch Guest ${i}`, email: `batch${i}@example.test` },
          },
        }),
      ),
    );
    expect(created.flatMap((c) => c.errors)).toEqual([]);
  });

  afterAll(async () => {
    gateway?.kill('SIGTERM');
    await new Promise((r) => proxy.server.close(r));
  });

  it('a page of 50 bookings with their hotel and room costs at most 2 calls to the hotel subgraph', async () => {
    proxy.seen.length = 0;
    const { data, errors } = await gql<any>(
      `query($id: ID!, $from: Date!) { hotel(id: $id) { name bookings(first: 50, filter: { from: $from }) { nodes { reference hotel { name } room { number roomType { name baseRate { amount } } } } } } }`,
      { id: ids.grandHarbor, from: inDays(599) },
      { url },
    );
    expect(errors).toEqual([]);
    const nodes = data.hotel.bookings.nodes;
    expect(nodes).toHaveLength(50);
    expect(nodes.every((n: any) => n.hotel.name === 'Grand Harbor Hotel' && /^\d{3}$/.test(n.room.number) && n.room.roomType.baseRate.amount)).toBe(true);
    // One call for the root field; one call carrying the `_entities` fetches for all 50 Hotel and Room
    // representations (the planner makes two parallel fetches; the gateway batches them into one request).
    expect(proxy.seen).toHaveLength(2);
    const entityCall = proxy.seen.find((ops) => ops.some((q) => q.includes('_entities')))!;
    expect(entityCall.join(' ')).toMatch(/on Hotel/);
    expect(entityCall.join(' ')).toMatch(/on Room/);
    console.log(`hotel subgraph calls for 50 bookings: ${proxy.seen.length} (${proxy.seen.map((ops) => ops.length).join(' + ')} operations)`);
  });
});
