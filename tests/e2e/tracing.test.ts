/**
 * End-to-end tracing: a gateway, hotel and booking of this test's own run with TRACING_EXPORTER=otlp
 * and export to an OTLP/HTTP receiver in this test (it keeps the spans in memory). One client request
 * carrying a W3C `traceparent` must come back as ONE trace: the gateway's spans (continuing the client's
 * span), its fetches to both subgraphs, and each subgraph's request and database spans — and the trace ID
 * must be in the gateway's log line beside the correlation ID.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startProcess, type Proc } from '../chaos/support.js';
import { extraPort } from '../setup/state.js';
import { env, eventually, gql } from './support.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
}

describe('tracing across the gateway and two subgraphs', () => {
  const received: ReceivedSpan[] = [];
  let receiver: http.Server;
  const procs: Proc[] = [];
  let gatewayUrl = '';

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
          };
          for (const rs of body.resourceSpans) {
            const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
            for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ ...span, service });
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    const receiverPort = extraPort(44);
    await new Promise<void>((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
    const ports = { hotel: extraPort(46), booking: extraPort(47), gateway: extraPort(48) };
    const tracing = {
      TRACING_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://127.0.0.1:${receiverPort}/v1/traces`,
      HOTEL_URL: `http://127.0.0.1:${ports.hotel}/graphql`,
      BOOKING_URL: `http://127.0.0.1:${ports.booking}/graphql`,
      LOG_LEVEL: 'info',
    };
    procs.push(...(await Promise.all([startProcess('hotel', ports.hotel, tracing, 'traced-hotel'), startProcess('booking', ports.booking, tracing, 'traced-booking')])));
    procs.push(await startProcess('gateway', ports.gateway, tracing, 'traced-gateway'));
    gatewayUrl = `${procs.at(-1)!.url}/graphql`;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it("one client request → one trace: the client's span → gateway → hotel and booking (with their database spans)", async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const correlationId = `trace-test-${traceId.slice(0, 8)}`;
    const answer = await gql<any>(
      `query TracedDashboard { hotel(slug: "grand-harbor") { name bookings(first: 2) { nodes { reference } } } }`,
      {},
      { url: gatewayUrl, as: 'admin@innkeep.test', headers: { traceparent: `00-${traceId}-${clientSpanId}-01`, 'x-correlation-id': correlationId } },
    );
    expect(answer.errors).toEqual([]);
    expect(answer.data.hotel.bookings.nodes.length).toBeGreaterThan(0);

    // Batches are exported every 500 ms.
    const spans = await eventually(async () => {
      const ours = received.filter((s) => s.traceId === traceId);
      const services = new Set(ours.map((s) => s.service));
      const complete =
        ['innkeep-gateway', 'innkeep-hotel', 'innkeep-booking'].every((s) => services.has(s)) &&
        ours.some((s) => s.service === 'innkeep-booking' && s.name.startsWith('prisma:')) &&
        ours.some((s) => s.service === 'innkeep-gateway' && s.name === 'POST /graphql');
      return complete ? ours : undefined;
    }, 20_000);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    // The gateway continued the client's trace: its entry span's parent is the client's span.
    const gatewayEntry = spans.find((s) => s.service === 'innkeep-gateway' && s.parentSpanId === clientSpanId);
    if (!gatewayEntry) {
      await new Promise((r) => setTimeout(r, 2000));
      console.log('DEBUG', clientSpanId, JSON.stringify(received.filter((s) => s.traceId === traceId || s.service === 'innkeep-gateway').map((s) => [s.traceId.slice(0, 6), s.service, s.name, s.spanId, s.parentSpanId])));
    }
    expect(gatewayEntry?.name).toBe('POST /graphql');
    // Each subgraph's request span is the child of a gateway fetch span (CLIENT = 3, SERVER = 2).
    for (const subgraph of ['hotel', 'booking']) {
      const entry = spans.find((s) => s.service === `innkeep-${subgraph}` && s.kind === 2);
      expect(entry).toBeDefined();
      const parent = byId.get(entry!.parentSpanId ?? '');
      expect({ subgraph, parentService: parent?.service, parentKind: parent?.kind, parentName: parent?.name }).toEqual({ subgraph, parentService: 'innkeep-gateway', parentKind: 3, parentName: `POST ${subgraph}` });
    }
    // Every span but the gateway's entry has its parent inside this trace: one tree, no orphans.
    const orphans = spans.filter((s) => s !== gatewayEntry && !byId.has(s.parentSpanId ?? ''));
    expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([]);

    // The trace ID is in the gateway's log beside the correlation ID.
    const log = readFileSync(path.join(env('INNKEEP_LOG_DIR'), 'chaos-traced-gateway.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(log.some((line) => line.correlationId === correlationId && line.traceId === traceId)).toBe(true);
    console.log(`[tracing] one request → ${spans.length} spans in trace ${traceId}: ${[...new Set(spans.map((s) => `${s.service}:${s.name}`))].slice(0, 25).join(', ')}`);
  }, 60_000);

  it('without a traceparent the gateway starts a new trace', async () => {
    const before = received.length;
    const answer = await gql<any>(`{ hotels { slug } }`, {}, { url: gatewayUrl, as: null });
    expect(answer.errors).toEqual([]);
    await eventually(async () => received.length > before, 10_000);
    const fresh = received.slice(before).filter((s) => s.service === 'innkeep-gateway' && s.name === 'POST /graphql');
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((s) => !s.parentSpanId)).toBe(true);
  }, 30_000);
});
