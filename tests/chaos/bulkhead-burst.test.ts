/**
 * Chaos: a burst of slow requests far beyond a subgraph's bulkhead. A gateway of this test's own whose
 * hotel subgraph sits behind a proxy that holds every call for SLOW_MS (the real hotel answers after it).
 *
 * Promises: at most concurrency + queue fetches reach the slow subgraph; everything beyond is refused at
 * once with SERVICE_UNAVAILABLE (OVERLOADED) instead of waiting; the gateway's memory stays bounded (RSS
 * from its /metrics) and it does not crash — it answers normally once the burst is over.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extraPort } from '../setup/state.js';
import { env, gql } from '../e2e/support.js';
import { metric, metricsOf, sleep, startProcess, type Proc } from './support.js';

const SLOW_MS = 6000;
const CONCURRENCY = 4;
const QUEUE = 4;
const BURST = 150;

/** Holds each call SLOW_MS, then forwards it to the real hotel subgraph. */
function slowProxy(target: string) {
  let calls = 0;
  let inFlight = 0;
  let peak = 0;
  const server = http.createServer(async (req, res) => {
    calls += 1;
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      await sleep(SLOW_MS);
      const upstream = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: String(req.headers.authorization ?? ''), 'x-correlation-id': String(req.headers['x-correlation-id'] ?? '') },
        body: Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      res.destroy();
    } finally {
      inFlight -= 1;
    }
  });
  return { server, stats: () => ({ calls, peak }) };
}

describe('chaos: a burst of slow requests beyond the bulkhead', () => {
  const proxy = slowProxy(env('INNKEEP_HOTEL_URL'));
  let gateway: Proc;
  let url: string;

  beforeAll(async () => {
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}/graphql`;
    gateway = await startProcess(
      'gateway',
      extraPort(45),
      {
        HOTEL_URL: proxyUrl,
        SUBGRAPH_BULKHEAD_CONCURRENCY: String(CONCURRENCY),
        SUBGRAPH_BULKHEAD_QUEUE: String(QUEUE),
        SUBGRAPH_TIMEOUT_MS_HOTEL: String(SLOW_MS * 3),
        REQUEST_DEADLINE_MS: String(SLOW_MS * 4),
        LOG_LEVEL: 'info',
        // The burst is one identical read: shared in flight it would take a single slot. The bulkhead alone here.
        UPSTREAM_SHARED_READS: '',
        HOTEL_CACHE_TTL_SECONDS: '0',
      },
      'burst-gateway',
    );
    url = `${gateway.url}/graphql`;
  });

  afterAll(async () => {
    await gateway?.stop();
    proxy.server.closeAllConnections();
    await new Promise((r) => proxy.server.close(r));
  });

  it('refuses fast beyond concurrency + queue, keeps RSS bounded and does not crash', async () => {
    const rssBefore = metric(await metricsOf(gateway.url), 'process_resident_memory_bytes')!;
    expect(rssBefore).toBeGreaterThan(0);

    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const t = Date.now();
        const answer = await gql<any>(`{ hotels { slug } }`, {}, { url, as: null });
        return { ms: Date.now() - t, status: answer.status, served: Array.isArray(answer.data?.hotels), error: answer.errors[0]?.extensions };
      }),
    );
    const burstMs = Date.now() - started;
    const rssAfter = metric(await metricsOf(gateway.url), 'process_resident_memory_bytes')!;

    const served = results.filter((r) => r.served);
    const refused = results.filter((r) => !r.served);
    const outcomes = new Map<string, number>();
    for (const r of results) {
      const key = r.served ? `served ${r.status}` : `${r.status} ${r.error?.code ?? '-'} ${r.error?.reason ?? ''}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    // On failure, say what the burst got (e.g. the wrong limits, or a proxy that never answered).
    if (served.length === 0) throw new Error(`no request of the burst was served: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // Only what the bulkhead admits reaches the slow subgraph; the rest is refused, not queued.
    expect(proxy.stats().peak).toBeLessThanOrEqual(CONCURRENCY);
    expect(proxy.stats().calls).toBeLessThanOrEqual(CONCURRENCY + QUEUE);
    expect(served.length).toBeLessThanOrEqual(CONCURRENCY + QUEUE);
    expect(served.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(BURST - CONCURRENCY - QUEUE);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true, service: 'hotel', reason: 'OVERLOADED' });
      // Fast: a refusal never waits for the slow subgraph (generous bound: less than one slow call).
      expect(r.ms).toBeLessThan(SLOW_MS);
    }
    const refusedMs = refused.map((r) => r.ms).sort((a, b) => a - b);
    const metrics = await metricsOf(gateway.url);
    expect(metric(metrics, 'innkeep_policy_calls_total', { target: 'hotel', outcome: 'bulkhead_full' })).toBeGreaterThanOrEqual(refused.length);
    // Bounded memory: the refused requests left nothing behind (generous bound).
    expect(rssAfter - rssBefore).toBeLessThan(200 * 1024 * 1024);

    // No crash: live, and a normal answer once the burst is over.
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
    const after = await gql<any>(`{ hotels { slug } }`, {}, { url, as: null });
    expect(after.status).toBe(200);
    expect(after.data.hotels.length).toBeGreaterThanOrEqual(2);
    expect(gateway.child.exitCode).toBeNull();

    console.log(
      `[chaos figures] burst of ${BURST} slow requests (subgraph holds each ${SLOW_MS} ms; bulkhead ${CONCURRENCY} + queue ${QUEUE}): ` +
        `${served.length} served, ${refused.length} refused 503 OVERLOADED (median ${refusedMs[Math.floor(refusedMs.length / 2)]} ms, max ${refusedMs.at(-1)} ms); ` +
        `${proxy.stats().calls} calls reached the subgraph (peak ${proxy.stats().peak} in flight); burst over in ${burstMs} ms; ` +
        `gateway RSS ${(rssBefore / 2 ** 20).toFixed(1)} MB before → ${(rssAfter / 2 ** 20).toFixed(1)} MB after`,
    );
  }, 120_000);
});
