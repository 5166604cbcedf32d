/**
 * The gateway's upstream policies (gateway/src/upstream), in process against small HTTP servers that
 * play a subgraph: batching stays one call, queries are retried and mutations never, timeouts and the
 * whole-request deadline cancel the fetch, an open circuit and a full bulkhead answer at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { loadGatewayConfig } from '../../gateway/src/config.js';
import { createUpstream } from '../../gateway/src/upstream/index.js';
import { InternalTokenSigner } from '../../lib/src/internal-token.js';
import { createMetrics } from '../../lib/src/metrics.js';

type Handler = (body: any, req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

/** A fake subgraph: records each HTTP call's body and whether the caller hung up before the answer. */
async function fakeSubgraph(handler: Handler) {
  const calls: Array<{ body: any; aborted: boolean }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const call = { body: JSON.parse(Buffer.concat(chunks).toString()), aborted: false };
    calls.push(call);
    res.on('close', () => { if (!res.writableFinished) call.aborted = true; });
    handler(call.body, req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, calls };
}

const answer = (res: http.ServerResponse, body: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const echo: Handler = (body, _req, res) => answer(res, Array.isArray(body) ? body.map((op: any) => ({ data: { op: op.query } })) : { data: { op: body.query } });

function upstream(env: Record<string, string> = {}) {
  const config = loadGatewayConfig({ DATABASE_URL: 'postgresql://x@localhost/db', SUBGRAPH_RETRY_INITIAL_DELAY_MS: '1', SUBGRAPH_RETRY_MAX_DELAY_MS: '5', ...env });
  const metrics = createMetrics('gateway-test', { defaultMetrics: false });
  return { up: createUpstream({ config, signer: new InternalTokenSigner('x'.repeat(32), 'gateway', 60), logger: pino({ level: 'silent' }), metrics }), metrics };
}

const fetchOf = (query: string, context: object) =>
  ({ kind: 'incoming operation', request: { query, variables: {} }, context, incomingRequestContext: {} }) as any;

const codeOf = (error: any) => ({ code: error?.extensions?.code, reason: error?.extensions?.reason, service: error?.extensions?.service });

describe('gateway upstream policies', () => {
  it('keeps batching: parallel query fetches of one request are one upstream call under the policy', async () => {
    const sub = await fakeSubgraph(echo);
    const source = upstream().up.dataSource('hotel', sub.url);
    const request = {};
    const [a, b] = await Promise.all([source.process(fetchOf('query A { a }', request)), source.process(fetchOf('query B { b }', request))]);
    expect([a.data, b.data]).toEqual([{ op: 'query A { a }' }, { op: 'query B { b }' }]);
    expect(sub.calls).toHaveLength(1);
    expect(sub.calls[0]!.body).toHaveLength(2);
  });

  it('retries a failed query fetch with backoff, never a mutation', async () => {
    let failures = 1;
    const sub = await fakeSubgraph((body, req, res) => (failures-- > 0 ? answer(res, { error: 'bad gateway' }, 502) : echo(body, req, res)));
    const source = upstream().up.dataSource('booking', sub.url);
    await expect(source.process(fetchOf('query Q { q }', {}))).resolves.toMatchObject({ data: { op: 'query Q { q }' } });
    expect(sub.calls).toHaveLength(2);

    sub.calls.length = 0;
    failures = 1;
    const refused = await source.process(fetchOf('mutation M { m }', {})).catch((e: unknown) => e);
    expect(codeOf(refused)).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'UNREACHABLE', service: 'booking' });
    expect((refused as any).extensions.retryable).toBe(true);
    expect(sub.calls).toHaveLength(1);
  });

  it('a subgraph slower than its timeout answers UPSTREAM_TIMEOUT and the fetch is cancelled (per-subgraph override)', async () => {
    const sub = await fakeSubgraph(() => undefined); // never answers
    const { up } = upstream({ SUBGRAPH_TIMEOUT_MS: '10000', SUBGRAPH_TIMEOUT_MS_PMS: '100', SUBGRAPH_RETRY_MAX_ATTEMPTS: '1' });
    const started = Date.now();
    const error = await up.dataSource('pms', sub.url).process(fetchOf('mutation { sync }', {})).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(codeOf(error)).toEqual({ code: 'UPSTREAM_TIMEOUT', reason: 'SUBGRAPH_TIMEOUT', service: 'pms' });
    await new Promise((r) => setTimeout(r, 50));
    expect(sub.calls[0]!.aborted).toBe(true);
  });

  it('the whole-request deadline cancels pending fetches: UPSTREAM_TIMEOUT for what did not finish', async () => {
    const sub = await fakeSubgraph(() => undefined);
    const { up } = upstream({ REQUEST_DEADLINE_MS: '150', SUBGRAPH_TIMEOUT_MS: '10000' });
    const contextValue = {};
    const listeners = await (up.plugin as any).requestDidStart({ contextValue });
    const started = Date.now();
    const error = await up.dataSource('audit', sub.url).process(fetchOf('query { slow }', contextValue)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(codeOf(error)).toEqual({ code: 'UPSTREAM_TIMEOUT', reason: 'REQUEST_DEADLINE', service: 'audit' });
    expect(sub.calls).toHaveLength(1); // not retried past the deadline
    await listeners.willSendResponse();
    // Another request has its own clock.
    expect(up.circuits()).toEqual({ audit: 'closed' });
  });

  it('opens the circuit after the threshold: then fails fast without calling the subgraph, and readiness reports it', async () => {
    const sub = await fakeSubgraph((_b, _r, res) => answer(res, 'down', 503));
    const { up, metrics } = upstream({ SUBGRAPH_BREAKER_THRESHOLD: '3', SUBGRAPH_RETRY_MAX_ATTEMPTS: '1' });
    const source = up.dataSource('booking', sub.url);
    for (let i = 0; i < 3; i++) expect(codeOf(await source.process(fetchOf('query { q }', {})).catch((e: unknown) => e)).reason).toBe('UNREACHABLE');
    const fast = await source.process(fetchOf('query { q }', {})).catch((e: unknown) => e);
    expect(codeOf(fast)).toEqual({ code: 'SERVICE_UNAVAILABLE', reason: 'CIRCUIT_OPEN', service: 'booking' });
    expect(sub.calls).toHaveLength(3);
    expect(up.circuits()).toEqual({ booking: 'open' });
    expect(await metrics.registry.getSingleMetricAsString('innkeep_circuit_state')).toMatch(/innkeep_circuit_state\{target="booking"[^}]*\} 2/);
  });

  it('a full bulkhead refuses at once with SERVICE_UNAVAILABLE (OVERLOADED) instead of queueing without bound', async () => {
    const sub = await fakeSubgraph((_b, _r, res) => void setTimeout(() => answer(res, { data: { q: 1 } }), 300));
    // Identical reads would be shared in flight (one slot for all): the bulkhead alone here.
    const { up } = upstream({ SUBGRAPH_BULKHEAD_CONCURRENCY: '2', SUBGRAPH_BULKHEAD_QUEUE: '1', UPSTREAM_SHARED_READS: '', HOTEL_CACHE_TTL_SECONDS: '0' });
    const source = up.dataSource('hotel', sub.url);
    const started = Date.now();
    const settled = Array.from({ length: 6 }, () => source.process(fetchOf('query { q }', {})).then((r) => ({ r, ms: Date.now() - started }), (e: unknown) => ({ e, ms: Date.now() - started })));
    const results = (await Promise.all(settled)) as Array<{ r?: any; e?: any; ms: number }>;
    const refused = results.filter((x) => x.e);
    expect(refused.map((x) => codeOf(x.e))).toEqual(Array(3).fill({ code: 'SERVICE_UNAVAILABLE', reason: 'OVERLOADED', service: 'hotel' }));
    for (const x of refused) expect(x.ms).toBeLessThan(250); // refused at once, not after waiting
    expect(results.filter((x) => x.r?.data?.q === 1)).toHaveLength(3);
    expect(sub.calls).toHaveLength(3);
    expect(up.circuits()).toEqual({ hotel: 'closed' });
  });

  it('with BREAKERS_ENABLED=false and RETRIES_ENABLED=false the data source is a plain pass-through', async () => {
    const sub = await fakeSubgraph((_b, _r, res) => answer(res, 'down', 503));
    const { up } = upstream({ BREAKERS_ENABLED: 'false', RETRIES_ENABLED: 'false' });
    const source = up.dataSource('booking', sub.url);
    for (let i = 0; i < 8; i++) expect(codeOf(await source.process(fetchOf('query { q }', {})).catch((e: unknown) => e)).reason).toBe('UNREACHABLE');
    expect(sub.calls).toHaveLength(8);
    expect(up.circuits()).toEqual({ booking: 'disabled' });
  });
});
