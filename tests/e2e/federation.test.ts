import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { waitReady } from '../../scripts/lib/stack.js';
import { extraPort } from '../setup/state.js';
import { actAs, eventually, gatewayUrl, gql, ids, logLines } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

describe('the federation end to end', () => {
  it('answers the front-page query with seeded data from hotel, booking and pms', async () => {
    const { status, data, errors } = await gql<any>(`{
      hotels { name rooms { number roomType { name } } bookings(first: 3) { nodes { reference guest { name } room { number } } } pmsConnection { vendor } }
    }`);
    expect(status).toBe(200);
    expect(errors).toEqual([]);
    const names = data.hotels.map((h: any) => h.name);
    expect(names).toEqual(expect.arrayContaining(['Grand Harbor Hotel', 'Alpine Lodge']));
    // Other test files create hotels of their own in parallel: judge the two seeded ones.
    for (const hotel of data.hotels.filter((h: any) => ['Grand Harbor Hotel', 'Alpine Lodge'].includes(h.name))) {
      expect(hotel.rooms.length).toBeGreaterThanOrEqual(10);
      expect(new Set(hotel.rooms.map((r: any) => r.roomType.name)).size).toBeGreaterThanOrEqual(2);
      expect(hotel.bookings.nodes).toHaveLength(3);
      for (const booking of hotel.bookings.nodes) {
        expect(booking.reference).toMatch(/^IK-/);
        expect(booking.guest.name).toEqual(expect.any(String));
        expect(booking.room.number).toMatch(/^\d{3}$/);
      }
      expect(hotel.pmsConnection).toEqual({ vendor: 'mews' });
    }
  });

  it('resolves a booking across all four subgraph-owned parts', async () => {
    const { data, errors } = await gql<any>(
      `query($id: ID!) { hotel(id: $id) { slug bookings(first: 1) { totalCount nodes { reference nights total { amount currency } hotel { slug } room { number roomType { capacity } } pms { externalId syncStatus stale } } } } }`,
      { id: ids.grandHarbor },
    );
    expect(errors).toEqual([]);
    const [booking] = data.hotel.bookings.nodes;
    expect(data.hotel.bookings.totalCount).toBeGreaterThanOrEqual(5);
    expect(booking.hotel.slug).toBe('grand-harbor');
    expect(booking.total.currency).toBe('EUR');
    expect(Number(booking.total.amount)).toBeGreaterThan(0);
    expect(booking.room.roomType.capacity).toBeGreaterThanOrEqual(1);
    expect(booking.pms).toEqual({ externalId: expect.stringMatching(/^FPMS-/), syncStatus: 'SYNCED', stale: false });
  });

  it('returns the caller’s X-Correlation-ID and logs it at the gateway and every subgraph it touched', async () => {
    const correlationId = `e2e-${Date.now()}-corr`;
    const { headers, errors } = await gql(`{ hotels { name bookings(first: 1) { nodes { reference } } pmsConnection { vendor } } }`, {}, {
      headers: { 'X-Correlation-ID': correlationId },
    });
    expect(errors).toEqual([]);
    expect(headers.get('x-correlation-id')).toBe(correlationId);
    for (const service of ['gateway', 'hotel', 'booking', 'pms']) {
      await eventually(async () => logLines(service).some((l) => l.correlationId === correlationId));
    }
  });

  it('generates a correlation ID when none is sent, and the error and the logs carry the same one', async () => {
    const { headers, errors } = await gql(`mutation { cancelBooking(id: "00000000-0000-4000-8000-000000000000") { id } }`);
    const correlationId = headers.get('x-correlation-id');
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(errors[0]!.extensions).toMatchObject({ code: 'NOT_FOUND', correlationId, service: 'booking' });
    await eventually(async () => logLines('booking').some((l) => l.correlationId === correlationId));
    await eventually(async () => logLines('gateway').some((l) => l.correlationId === correlationId));
  });

  it('refuses an unsafe correlation ID and answers with a fresh one', async () => {
    const { headers } = await gql(`{ hotels { slug } }`, {}, { headers: { 'X-Correlation-ID': 'bad id with spaces' } });
    expect(headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers malformed GraphQL with BAD_USER_INPUT and HTTP 400', async () => {
    const parse = await gql(`{ hotels { name `);
    expect(parse.status).toBe(400);
    expect(parse.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_PARSE_FAILED', service: 'gateway' });
    const unknown = await gql(`{ hotels { nope } }`);
    expect(unknown.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('serves Apollo Sandbox on GET /graphql in development', async () => {
    const response = await fetch(gatewayUrl(), { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/sandbox/i);
  });

  it('degrades only what depends on a dead subgraph: pms down → hotels still served, pms fields SERVICE_UNAVAILABLE', async () => {
    const port = extraPort(0);
    const gateway = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
      env: {
        ...process.env,
        GATEWAY_PORT: String(port),
        HOTEL_URL: process.env.INNKEEP_HOTEL_URL,
        BOOKING_URL: process.env.INNKEEP_BOOKING_URL,
        AUDIT_URL: process.env.INNKEEP_AUDIT_URL,
        PMS_URL: 'http://127.0.0.1:9/graphql', // nothing listens on the discard port
        DATABASE_URL: process.env.INNKEEP_DATABASE_URL,
        REDIS_URL: process.env.INNKEEP_REDIS_URL,
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    try {
      await waitReady(`http://127.0.0.1:${port}/health/ready`, 30_000);
      const { status, data, errors } = await gql<any>(`{ hotels { slug pmsConnection { vendor } } }`, {}, { url: `http://127.0.0.1:${port}/graphql` });
      expect(status).toBe(200);
      expect(data.hotels.map((h: any) => h.slug)).toEqual(expect.arrayContaining(['grand-harbor', 'alpine-lodge']));
      expect(data.hotels.every((h: any) => h.pmsConnection === null)).toBe(true);
      expect(errors[0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true, service: 'pms' });
    } finally {
      gateway.kill('SIGTERM');
    }
  });
});
