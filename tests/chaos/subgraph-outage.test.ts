/**
 * Chaos: the booking subgraph dies under load and comes back. Real processes of this test's own — a
 * booking subgraph and a gateway pointing at it (hotel, pms and audit are the shared stack's) — so
 * killing booking disturbs no other test.
 *
 * Promises: the gateway stays up and ready; hotel fields keep answering; booking fields answer
 * SERVICE_UNAVAILABLE (partial data, HTTP 200); the breaker opens within its threshold and then refuses
 * at once (CIRCUIT_OPEN) without calling the dead subgraph; when booking is back the breaker goes
 * half-open, then closed, and every field answers again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extraPort } from '../setup/state.js';
import { eventually, gql, ids, sql, tokenFor } from '../e2e/support.js';
import { metric, metricsOf, readiness, sleep, startProcess, type Proc } from './support.js';

const THRESHOLD = 5;
const HALF_OPEN_AFTER_MS = 1000;
const WORKERS = 8;

interface Sample {
  at: number;
  ms: number;
  status: number;
  hotels: boolean;
  booking: 'ok' | string;
}

describe('chaos: the booking subgraph is killed under load and restarted', () => {
  const bookingPort = extraPort(10);
  const gatewayPort = extraPort(11);
  let booking: Proc;
  let gateway: Proc;
  let bookingId: string;
  // The load loop stops whatever happens to the test (a failing assertion must not leave it spinning).
  let running = true;
  let load: Array<Promise<void>> = [];
  const QUERY = `query($id: ID!) { hotels { slug } booking(id: $id) { reference status } }`;

  beforeAll(async () => {
    [booking] = await Promise.all([startProcess('booking', bookingPort, {}, 'outage-booking')]);
    gateway = await startProcess(
      'gateway',
      gatewayPort,
      {
        BOOKING_URL: `${booking.url}/graphql`,
        SUBGRAPH_BREAKER: 'consecutive',
        SUBGRAPH_BREAKER_THRESHOLD: String(THRESHOLD),
        SUBGRAPH_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
        LOG_LEVEL: 'info',
      },
      'outage-gateway',
    );
    bookingId = (await sql<{ id: string }>(`SELECT id FROM booking.bookings WHERE hotel_id = $1 ORDER BY created_at LIMIT 1`, [ids.grandHarbor]))[0]!.id;
  });

  afterAll(async () => {
    running = false;
    await Promise.all(load);
    await gateway?.stop();
    await booking?.stop();
  });

  it('degrades only booking fields, opens the breaker within its threshold, and recovers half-open → closed', async () => {
    const url = `${gateway.url}/graphql`;
    const samples: Sample[] = [];
    const worker = async () => {
      while (running) {
        const started = Date.now();
        const answer = await gql<any>(QUERY, { id: bookingId }, { url, as: 'admin@innkeep.test' }).catch((error: Error) => ({ failed: String(error.message) }));
        if ('failed' in answer) {
          samples.push({ at: started, ms: Date.now() - started, status: 0, hotels: false, booking: answer.failed });
          await sleep(50);
          continue;
        }
        const { status, data, errors } = answer;
        // A failed fetch's error names its subgraph in extensions.service (fetch-level errors carry no path).
        const bookingError = errors.find((e) => e.extensions.service === 'booking');
        samples.push({
          at: started,
          ms: Date.now() - started,
          status,
          hotels: Array.isArray(data?.hotels) && data.hotels.some((h: any) => h.slug === 'grand-harbor'),
          booking: data?.booking?.reference ? 'ok' : `${bookingError?.extensions.code}:${bookingError?.extensions.reason}:${bookingError?.extensions.service}`,
        });
      }
    };
    await tokenFor('admin@innkeep.test', url); // log in once (password hashing is slow on purpose)
    load = Array.from({ length: WORKERS }, worker);

    // 1. Healthy under load.
    await eventually(async () => samples.length >= 3 * WORKERS, 30_000);
    expect(samples.filter((s) => !(s.status === 200 && s.hotels && s.booking === 'ok'))).toEqual([]);

    // 2. Kill booking (SIGKILL: no drain). The breaker opens within its threshold.
    const before = await metricsOf(gateway.url);
    const failedBefore = metric(before, 'innkeep_policy_failures_total', { target: 'booking' }) ?? 0;
    const killedAt = Date.now();
    await booking.kill();
    await eventually(async () => (await readiness(gateway.url)).body.subgraphs?.booking === 'open', 15_000);
    const openedAfterMs = Date.now() - killedAt;
    const atOpen = await metricsOf(gateway.url);
    const failedUntilOpen = (metric(atOpen, 'innkeep_policy_failures_total', { target: 'booking' }) ?? 0) - failedBefore;
    expect(metric(atOpen, 'innkeep_circuit_state', { target: 'booking' })).toBe(2);
    expect(metric(atOpen, 'innkeep_circuit_transitions_total', { target: 'booking', state: 'open' })).toBeGreaterThanOrEqual(1);
    // Consecutive breaker: THRESHOLD failures open it; fetches already in flight when it opened may fail too.
    expect(failedUntilOpen).toBeGreaterThanOrEqual(1);
    expect(failedUntilOpen).toBeLessThanOrEqual(THRESHOLD + WORKERS);

    // 3. While open: the gateway is up and ready (one dead subgraph must not take it out of the load
    //    balancer), hotel fields answer, booking fields fail fast with SERVICE_UNAVAILABLE.
    const openFrom = Date.now();
    await eventually(async () => samples.filter((s) => s.at >= openFrom).length >= WORKERS, 30_000);
    const ready = await readiness(gateway.url);
    expect(ready.status).toBe(200);
    expect(ready.body.subgraphs).toMatchObject({ booking: 'open', hotel: 'closed' });
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    const whileOpen = samples.filter((s) => s.at >= openFrom);
    expect(whileOpen.length).toBeGreaterThanOrEqual(WORKERS);
    for (const s of whileOpen) {
      expect(s).toMatchObject({ status: 200, hotels: true, booking: 'SERVICE_UNAVAILABLE:CIRCUIT_OPEN:booking' });
      expect(s.ms).toBeLessThan(5000);
    }
    const { errors } = await gql<any>(QUERY, { id: bookingId }, { url, as: 'admin@innkeep.test' });
    const open = await metricsOf(gateway.url);
    expect(errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryable: true, service: 'booking', reason: 'CIRCUIT_OPEN' }) })]);

    // 4. Restart booking on the same port: half-open probe, then closed; every field answers again.
    const restartedAt = Date.now();
    booking = await startProcess('booking', bookingPort, {}, 'outage-booking');
    const bookingReadyMs = Date.now() - restartedAt;
    const backAt = await eventually(async () => {
      const answer = await gql<any>(QUERY, { id: bookingId }, { url, as: 'admin@innkeep.test' });
      return answer.errors.length === 0 && answer.data?.booking?.reference ? Date.now() : undefined;
    }, 20_000);
    const recovered = await metricsOf(gateway.url);
    expect(metric(recovered, 'innkeep_circuit_transitions_total', { target: 'booking', state: 'half_open' })).toBeGreaterThanOrEqual(1);
    expect(metric(recovered, 'innkeep_circuit_transitions_total', { target: 'booking', state: 'closed' })).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await readiness(gateway.url)).body.subgraphs?.booking === 'closed', 5000);
    expect(metric(await metricsOf(gateway.url), 'innkeep_circuit_state', { target: 'booking' })).toBe(0);

    await eventually(async () => samples.filter((s) => s.at > backAt + 200).length >= WORKERS, 30_000);
    running = false;
    await Promise.all(load);
    const afterRecovery = samples.filter((s) => s.at > backAt + 200);
    expect(afterRecovery.every((s) => s.booking === 'ok' && s.hotels)).toBe(true);
    expect(gateway.child.exitCode).toBeNull();

    const refusedFast = metric(open, 'innkeep_policy_calls_total', { target: 'booking', outcome: 'circuit_open' }) ?? 0;
    console.log(
      `[chaos figures] booking killed: breaker open after ${failedUntilOpen} failed attempts (threshold ${THRESHOLD}, ${WORKERS} workers) in ${openedAfterMs} ms; ` +
        `${refusedFast} fetches refused fast while open; booking restarted (ready in ${bookingReadyMs} ms), all fields back ${backAt - restartedAt} ms after restart; ` +
        `${samples.length} requests, none with hotel fields missing: ${samples.every((s) => s.hotels)}`,
    );
    expect(samples.every((s) => s.hotels)).toBe(true);
  }, 120_000);
});
