/**
 * `npm run bench:subscriptions` — how the gateway's subscription fan-out holds up (issue "Live").
 *
 * Starts the real stack on its own ports (PostgreSQL database `innkeep_bench`, Redis, the four subgraphs,
 * the gateway), then for each N in BENCH_SUBSCRIBERS (default 1000,5000):
 *   - opens N graphql-ws connections to ONE gateway, each with one `bookingChanged` subscription selecting
 *     fields of three subgraphs (booking → guest, room + hotel from hotel, pms);
 *   - memory: gateway RSS before and after the N subscribers settled → bytes per subscriber;
 *   - latency: EVENTS bookings created one after another (gap GAP_MS); per event and subscriber the time
 *     from sending the mutation to the event arriving → p50 / p99, and the same from the moment the
 *     mutation's response arrived (the commit is done by then: what fan-out itself adds);
 *   - throughput: a burst of BURST bookings sent back to back → deliveries per second (events × subscribers)
 *     until the last subscriber has the last event.
 * Figures are printed and written to bench/results/subscriptions-<timestamp>.json. Not a test: nothing
 * here passes or fails; the load generator shares the 2 cores with the stack (say so when quoting).
 *
 * All subscribers are the same user (one authorization scope), so they share one upstream subscription
 * and one federated execution per event — the design under test (GUIDE §1).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import type { Stack } from '../scripts/lib/stack.js';
import { BENCH_HOTEL, login, post, prepareDatabase, startBenchStack } from './lib.js';

const SUBSCRIBER_COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 30);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 150);
const BURST = Number(process.env.BENCH_BURST ?? 30);
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 15000);
const HOTEL = BENCH_HOTEL;
const QUERY = `subscription Feed($h: ID!) { bookingChanged(hotelId: $h) { type booking { id reference status guest { name } room { number status } hotel { name } pms { syncStatus } } } }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);

async function gatewayRss(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
  return Number(line?.split(/\s+/).at(-1));
}

/** One raw graphql-ws subscriber: records, per booking ID, when its event arrived. */
class Subscriber {
  readonly arrivals = new Map<string, number>();
  private readonly socket: WebSocket;
  readonly ready: Promise<void>;
  constructor(url: string, token: string) {
    this.socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('open', () => this.socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
      this.socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: any };
        if (message.type === 'connection_ack') {
          this.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { h: HOTEL } } }));
          resolve();
        } else if (message.type === 'next') {
          const id = message.payload?.data?.bookingChanged?.booking?.id;
          if (id) this.arrivals.set(id, performance.now());
        } else if (message.type === 'error') reject(new Error(JSON.stringify(message.payload)));
      });
      this.socket.once('close', (code) => reject(new Error(`closed ${code}`)));
    });
  }
  close() {
    this.socket.close(1000);
  }
}

async function main() {
  const { url: databaseUrl, rooms } = await prepareDatabase('innkeep_bench');
  const stack: Stack = await startBenchStack({
    databaseUrl,
    portBase: PORT_BASE,
    runName: 'bench',
    env: { WS_MAX_CONNECTIONS_PER_CLIENT: '10000', WS_MAX_CONNECTIONS: '100000' },
  });
  const base = stack.urls.gateway;
  const graphql = `${base}/graphql`;
  const wsUrl = graphql.replace(/^http/, 'ws');
  const results: Array<Record<string, number>> = [];
  try {
    const token = await login(base, 'manager@grand-harbor.test');
    let day = 3000;
    const book = async () => {
      for (;;) {
        day += 1;
        const room = rooms[day % rooms.length]!;
        const { body: answer } = await post(graphql, `Bearer ${token}`, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
          input: { hotelId: HOTEL, roomId: room, checkIn: isoDay(day), checkOut: isoDay(day + 1), guest: { name: 'Bench Guest', email: 'bench@example.test' } },
        });
        if (answer.data?.createBooking?.id) return answer.data.createBooking.id as string;
        if (answer.errors?.[0]?.extensions?.code !== 'CONFLICT') throw new Error(JSON.stringify(answer.errors));
      }
    };

    for (const n of SUBSCRIBER_COUNTS) {
      await sleep(1000);
      const rssBefore = await gatewayRss(base);
      const connectStarted = performance.now();
      const subscribers: Subscriber[] = [];
      for (let i = 0; i < n; i += 200) {
        const batch = Array.from({ length: Math.min(200, n - i) }, () => new Subscriber(wsUrl, token));
        await Promise.all(batch.map((s) => s.ready));
        subscribers.push(...batch);
      }
      const connectMs = performance.now() - connectStarted;
      await sleep(1500);
      const rssAfter = await gatewayRss(base);

      // Warm-up (not measured): the first event plans the subscription's per-event fetches and warms the JIT.
      {
        const id = await book();
        const deadline = performance.now() + 15_000;
        while (subscribers.some((s) => !s.arrivals.has(id)) && performance.now() < deadline) await sleep(5);
      }
      // Latency: one event at a time.
      const latencies: number[] = [];
      const afterCommit: number[] = [];
      const mutationMs: number[] = [];
      for (let e = 0; e < EVENTS; e++) {
        const sent = performance.now();
        const id = await book();
        const answered = performance.now();
        mutationMs.push(answered - sent);
        const deadline = performance.now() + 15_000;
        while (subscribers.some((s) => !s.arrivals.has(id)) && performance.now() < deadline) await sleep(5);
        for (const s of subscribers) {
          const at = s.arrivals.get(id);
          if (at !== undefined) {
            latencies.push(at - sent);
            afterCommit.push(at - answered);
          }
        }
        await sleep(GAP_MS);
      }
      for (const list of [latencies, afterCommit, mutationMs]) list.sort((a, b) => a - b);
      const expected = EVENTS * n;

      // Throughput: a burst of bookings back to back.
      const burstStarted = performance.now();
      const burstIds: string[] = [];
      for (let e = 0; e < BURST; e++) burstIds.push(await book());
      const last = burstIds.at(-1)!;
      const deadline = performance.now() + 60_000;
      while (subscribers.some((s) => !s.arrivals.has(last)) && performance.now() < deadline) await sleep(10);
      const burstEnd = Math.max(...subscribers.map((s) => s.arrivals.get(last) ?? performance.now()));
      const delivered = subscribers.reduce((sum, s) => sum + burstIds.filter((id) => s.arrivals.has(id)).length, 0);
      const burstSeconds = (burstEnd - burstStarted) / 1000;

      results.push({
        subscribers: n,
        connectSeconds: +(connectMs / 1000).toFixed(2),
        rssBeforeMB: +(rssBefore / 2 ** 20).toFixed(1),
        rssAfterMB: +(rssAfter / 2 ** 20).toFixed(1),
        bytesPerSubscriber: Math.round((rssAfter - rssBefore) / n),
        latencyP50ms: +percentile(latencies, 50).toFixed(1),
        latencyP99ms: +percentile(latencies, 99).toFixed(1),
        latencyMaxMs: +(latencies.at(-1) ?? NaN).toFixed(1),
        mutationP50ms: +percentile(mutationMs, 50).toFixed(1),
        afterResponseP50ms: +percentile(afterCommit, 50).toFixed(1),
        afterResponseP99ms: +percentile(afterCommit, 99).toFixed(1),
        deliveredShare: +(latencies.length / expected).toFixed(4),
        burstEvents: BURST,
        burstEventsPerSecond: +(BURST / burstSeconds).toFixed(1),
        burstDeliveriesPerSecond: Math.round(delivered / burstSeconds),
        burstDeliveredShare: +(delivered / (BURST * n)).toFixed(4),
      });
      for (const s of subscribers) s.close();
      await sleep(2000);
    }
  } finally {
    await stack.stop();
  }

  console.log('\nSubscriptions through one gateway (same user: one shared upstream subscription):\n');
  console.table(results);
  const dir = path.resolve('bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `subscriptions-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ when: new Date().toISOString(), node: process.version, events: EVENTS, gapMs: GAP_MS, results }, null, 2));
  console.log(`\nWritten to ${path.relative(process.cwd(), file)}`);
}

const isoDay = (daysFromNow: number) => new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10);

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
