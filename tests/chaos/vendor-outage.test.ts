/**
 * Chaos: the PMS vendor hangs, then fails, then recovers. Real processes of this test's own — a fake
 * vendor, a pms subgraph speaking to it (adapter alias `chaospms` of the Mews style, so the shared pms never touches this hotel's
 * queue), and a gateway pointing at that pms — and a hotel of its own.
 *
 * Promises: retries are bounded and timeouts honoured; the vendor × hotel breaker opens and then costs
 * the vendor nothing; reads fall back to the last synced data marked stale with its syncedAt; a sync
 * answers QUEUED (never dropped) and the queue keeps retrying at a bounded pace; when the vendor is back
 * the queue drains, the breaker closes and the data is fresh again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extraPort } from '../setup/state.js';
import { eventually, gql, sql } from '../e2e/support.js';
import { createPmsHotel, metric, metricsOf, readiness, sleep, startProcess, vendorControl, type Proc } from './support.js';

const VENDOR_TIMEOUT_MS = 1000;
const RETRY_MAX_ATTEMPTS = 3;
const HALF_OPEN_AFTER_MS = 3000;

const SYNC = `mutation($h: ID!) { syncReservations(hotelId: $h) { status pushed failed syncedAt retryAt reason connection { status lastError } } }`;
const READ = `query($h: ID!, $b: ID!) {
  hotel(id: $h) { pmsConnection { status stale lastSyncAt lastError pendingSync { queuedAt retryAt attempts lastError } } }
  booking(id: $b) { reference pms { externalId syncStatus syncedAt stale } }
}`;

describe('chaos: the PMS vendor hangs, fails and recovers', () => {
  let vendor: Proc;
  let pms: Proc;
  let gateway: Proc;
  let url: string;
  let control: ReturnType<typeof vendorControl>;
  let hotelId: string;
  let bookingId: string;
  const propertyCode = `CH-${Date.now()}`;

  beforeAll(async () => {
    vendor = await startProcess('vendor', extraPort(20), { VENDOR_CONTROL: 'true' }, 'vendor-chaos-vendor');
    pms = await startProcess(
      'pms',
      extraPort(21),
      {
        PMS_VENDOR_URL: vendor.url,
        PMS_ADAPTERS: 'chaospms=mews', // an alias of the Mews style: only this pms serves (and drains) this hotel
        PMS_VENDOR_TIMEOUT_MS: String(VENDOR_TIMEOUT_MS),
        PMS_BREAKER_THRESHOLD: '3',
        PMS_BREAKER_HALF_OPEN_AFTER_MS: String(HALF_OPEN_AFTER_MS),
        PMS_RETRY_MAX_ATTEMPTS: String(RETRY_MAX_ATTEMPTS),
        PMS_RETRY_INITIAL_DELAY_MS: '50',
        PMS_RETRY_MAX_DELAY_MS: '200',
        PMS_SYNC_QUEUE_POLL_MS: '200',
        PMS_SYNC_RETRY_INITIAL_DELAY_MS: '500',
        PMS_SYNC_RETRY_MAX_DELAY_MS: '1500',
      },
      'vendor-chaos-pms',
    );
    gateway = await startProcess('gateway', extraPort(22), { PMS_URL: `${pms.url}/graphql`, LOG_LEVEL: 'info' }, 'vendor-chaos-gateway');
    url = `${gateway.url}/graphql`;
    control = vendorControl(vendor.url);
    const hotel = await createPmsHotel({ gatewayUrl: url, vendor: 'chaospms', propertyCode, bookings: 3 });
    hotelId = hotel.hotelId;
    bookingId = hotel.bookingIds[0]!;
  });

  afterAll(async () => {
    await gateway?.stop();
    await pms?.stop();
    await vendor?.stop();
  });

  const as = { as: 'admin@innkeep.test' as const };
  const sync = async () => {
    const started = Date.now();
    const answer = await gql<any>(SYNC, { h: hotelId }, { url, ...as });
    expect(answer.errors).toEqual([]);
    return { ...answer.data.syncReservations, ms: Date.now() - started };
  };
  const read = async () => {
    const answer = await gql<any>(READ, { h: hotelId, b: bookingId }, { url, ...as });
    expect(answer.errors).toEqual([]);
    return { connection: answer.data.hotel.pmsConnection, booking: answer.data.booking.pms };
  };
  const circuit = async () => metric(await metricsOf(pms.url), 'innkeep_circuit_state', { target: `pms:chaospms:${hotelId}` });

  it('bounded retries, honoured timeouts, open breaker, stale reads, QUEUED writes — then drains and is fresh again', async () => {
    // 0. Healthy: the sync completes and every booking is fresh.
    const first = await sync();
    expect(first).toMatchObject({ status: 'COMPLETED', pushed: 3, failed: 0, retryAt: null });
    const fresh = await read();
    expect(fresh.connection).toMatchObject({ status: 'ACTIVE', stale: false, pendingSync: null });
    expect(fresh.booking).toMatchObject({ syncStatus: 'SYNCED', stale: false });
    const syncedBefore = fresh.booking.syncedAt as string;

    // 1. The vendor hangs: each attempt is cut at PMS_VENDOR_TIMEOUT_MS, retried at most
    //    PMS_RETRY_MAX_ATTEMPTS times in all, the breaker opens, and the sync answers QUEUED.
    await control.reset();
    await control.setFaults({ mode: 'hang' });
    const hung = await sync();
    const hangRequests = (await control.stats()).total;
    // 2. At once (well within the half-open delay): while the circuit is open a new sync costs the vendor
    //    nothing and joins the waiting job.
    const again = await sync();
    const requestsAfterAgain = (await control.stats()).total;

    expect(hung).toMatchObject({ status: 'QUEUED', pushed: 0, retryAt: expect.any(String), reason: `PMS vendor did not answer within ${VENDOR_TIMEOUT_MS} ms` });
    expect(hung.connection).toMatchObject({ status: 'ERROR' });
    expect(hangRequests).toBeGreaterThanOrEqual(1);
    expect(hangRequests).toBeLessThanOrEqual(RETRY_MAX_ATTEMPTS);
    expect(hung.ms).toBeGreaterThanOrEqual(VENDOR_TIMEOUT_MS);
    expect(hung.ms).toBeLessThan(20_000); // generous: 3 × 1 s plus backoff, never the vendor's "forever"
    expect(again).toMatchObject({ status: 'QUEUED', reason: expect.stringContaining('circuit open') });
    expect(requestsAfterAgain).toBe(hangRequests);
    expect(await sql(`SELECT id FROM pms.sync_jobs WHERE hotel_id = $1 AND status = 'PENDING'`, [hotelId])).toHaveLength(1);
    expect(await circuit()).toBe(2);
    expect((await readiness(pms.url)).body.vendorCircuits).toEqual({ [`chaospms:${hotelId}`]: 'open' });

    // Reads fall back to the last synced data, marked stale, with its syncedAt; the queued sync is visible.
    const stale = await read();
    expect(stale.booking).toMatchObject({ syncStatus: 'SYNCED', stale: true, syncedAt: syncedBefore, externalId: expect.stringMatching(/^FPMS-/) });
    expect(stale.connection).toMatchObject({ status: 'ERROR', stale: true, lastSyncAt: expect.any(String), pendingSync: { retryAt: expect.any(String) } });
    const [job] = await sql(`SELECT status, vendor FROM pms.sync_jobs WHERE hotel_id = $1 AND status = 'PENDING'`, [hotelId]);
    expect(job).toEqual({ status: 'PENDING', vendor: 'chaospms' });

    // 3. The vendor now fails fast (503): the queue keeps trying, one half-open probe at a time.
    await control.setFaults({ mode: 'fail', status: 503 });
    const failFrom = (await control.stats()).total;
    const windowMs = 7000;
    await sleep(windowMs);
    const probes = (await control.stats()).total - failFrom;
    expect(probes).toBeGreaterThanOrEqual(1);
    expect(probes).toBeLessThanOrEqual(Math.ceil(windowMs / HALF_OPEN_AFTER_MS) + 2);
    const waiting = await read();
    expect(waiting.connection).toMatchObject({ status: 'ERROR', stale: true });
    expect(waiting.connection.pendingSync.attempts).toBeGreaterThanOrEqual(1);

    // 4. The vendor recovers: the queue drains, the breaker closes, the data is fresh again.
    const recoverFrom = Date.now();
    await control.setFaults({ mode: 'ok' });
    await eventually(async () => {
      const { connection } = await read();
      return connection.status === 'ACTIVE' && connection.pendingSync === null;
    }, 30_000);
    const recoveredInMs = Date.now() - recoverFrom;
    // Read again: the two parts of one read are separate pms fetches and may straddle the queue's run.
    const back = await read();
    expect(back.connection).toMatchObject({ stale: false, lastError: null });
    expect(back.booking.stale).toBe(false);
    expect(Date.parse(back.booking.syncedAt)).toBeGreaterThan(Date.parse(syncedBefore));
    expect(await circuit()).toBe(0);
    const metrics = await metricsOf(pms.url);
    expect(metric(metrics, 'innkeep_circuit_transitions_total', { target: `pms:chaospms:${hotelId}`, state: 'closed' })).toBeGreaterThanOrEqual(1);
    expect(metric(metrics, 'innkeep_pms_sync_jobs_total', { vendor: 'chaospms', outcome: 'completed' })).toBe(1);
    expect(await sql(`SELECT status FROM pms.sync_jobs WHERE hotel_id = $1 ORDER BY created_at`, [hotelId])).toEqual([{ status: 'COMPLETED' }]);
    expect(await sync()).toMatchObject({ status: 'COMPLETED', pushed: 3 });

    console.log(
      `[chaos figures] vendor hang: ${hangRequests} vendor requests for the sync (max attempts ${RETRY_MAX_ATTEMPTS}), answered QUEUED in ${hung.ms} ms ` +
        `(timeout ${VENDOR_TIMEOUT_MS} ms/attempt); open circuit: 0 requests for a new sync (${again.ms} ms); failing vendor: ${probes} probe(s) in ${windowMs} ms ` +
        `(half-open after ${HALF_OPEN_AFTER_MS} ms); recovered (queue drained, circuit closed, fresh) ${recoveredInMs} ms after the vendor came back`,
    );
  }, 120_000);
});
