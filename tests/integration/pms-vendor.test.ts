import { randomUUID } from 'node:crypto';
import { createLogger } from '../../lib/src/logger.js';
import { startVendor, type VendorOptions } from '../../pms-vendor/src/server.js';

const TOKEN = 'test-vendor-token';
const RES = '/v1/properties/HTL1/reservations';

function options(overrides: Partial<VendorOptions> = {}): VendorOptions {
  return { port: 0, apiToken: TOKEN, controlEnabled: true, logger: createLogger('pms-vendor', 'silent'), ...overrides };
}

type Vendor = Awaited<ReturnType<typeof startVendor>>;
let vendor: Vendor;

interface CallOptions {
  body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  raw?: string;
  token?: string | null;
  signal?: AbortSignal;
  base?: Vendor;
}

async function call(method: string, path: string, opts: CallOptions = {}) {
  const token = opts.token === undefined ? TOKEN : opts.token;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const res = await fetch(`${(opts.base ?? vendor).url}${path}`, { method, headers, body, signal: opts.signal });
  const text = await res.text();
  // `any`: each test asserts the shape it expects.
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

function reservation(overrides: Record<string, unknown> = {}) {
  return {
    bookingId: randomUUID(),
    status: 'CONFIRMED',
    checkIn: '2030-05-01',
    checkOut: '2030-05-04',
    guestName: 'Ada Lovelace',
    ...overrides,
  };
}

const setFaults = (faults: Record<string, unknown>) => call('PUT', '/__control/faults', { body: faults });

beforeAll(async () => {
  vendor = await startVendor(options());
});

afterAll(async () => {
  await vendor.stop();
});

beforeEach(async () => {
  expect((await call('POST', '/__control/reset')).status).toBe(204);
});

describe('auth and routing', () => {
  it('serves /health without auth', async () => {
    expect(await call('GET', '/health', { token: null })).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('rejects /v1 calls without the right bearer token', async () => {
    for (const token of [null, 'wrong-token']) {
      const res = await call('GET', `${RES}/R1`, { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(typeof res.body.error.message).toBe('string');
    }
    expect((await call('GET', `${RES}/R1`)).status).toBe(404); // authorized, just not there
  });

  it('answers unknown routes with 404 JSON and malformed JSON with 400 JSON', async () => {
    const unknown = await call('GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');

    const malformed = await call('PUT', `${RES}/R1`, { raw: '{"bookingId": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    expect((await call('GET', '/health')).status).toBe(200); // still alive
  });
});

describe('reservations', () => {
  it('upserts idempotently: stable externalId, version bumps only on change', async () => {
    const body = reservation();
    const first = await call('PUT', `${RES}/R1`, { body });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ...body, externalId: 'FPMS-HTL1-1', reference: 'R1', version: 1 });
    expect(first.body.roomNumber).toBeNull();

    const again = await call('PUT', `${RES}/R1`, { body });
    expect(again.body).toEqual(first.body);

    const changed = await call('PUT', `${RES}/R1`, { body: { ...body, roomNumber: '101' } });
    expect(changed.body).toMatchObject({ externalId: 'FPMS-HTL1-1', roomNumber: '101', version: 2 });
    expect(changed.body.updatedAt > first.body.updatedAt).toBe(true);

    expect((await call('PUT', `${RES}/R2`, { body: reservation() })).body.externalId).toBe('FPMS-HTL1-2');
    const other = await call('PUT', '/v1/properties/HTL2/reservations/R1', { body: reservation() });
    expect(other.body.externalId).toBe('FPMS-HTL2-1');

    expect((await call('GET', `${RES}/R1`)).body).toEqual(changed.body);
  });

  it('lists changes since a cursor', async () => {
    const a = (await call('PUT', `${RES}/A`, { body: reservation() })).body;
    const b = (await call('PUT', `${RES}/B`, { body: reservation() })).body;

    const all = await call('GET', RES);
    expect(all.body.reservations.map((r: { reference: string }) => r.reference)).toEqual(['A', 'B']);
    expect(all.body.cursor).toBe(b.updatedAt);

    const none = await call('GET', `${RES}?updatedSince=${encodeURIComponent(all.body.cursor)}`);
    expect(none.body).toEqual({ reservations: [], cursor: b.updatedAt });

    await call('PUT', `${RES}/A`, { body: { ...reservation(), bookingId: a.bookingId, guestName: 'Grace Hopper' } });
    const since = await call('GET', `${RES}?updatedSince=${encodeURIComponent(b.updatedAt)}`);
    expect(since.body.reservations).toHaveLength(1);
    expect(since.body.reservations[0]).toMatchObject({ reference: 'A', guestName: 'Grace Hopper', version: 2 });
    expect(since.body.cursor).toBe(since.body.reservations[0].updatedAt);

    expect((await call('GET', '/v1/properties/EMPTY/reservations')).body).toEqual({ reservations: [], cursor: null });
    expect((await call('GET', `${RES}?updatedSince=yesterday`)).status).toBe(422);
  });

  it('cancels idempotently', async () => {
    await call('PUT', `${RES}/R1`, { body: reservation() });
    const cancelled = await call('POST', `${RES}/R1/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', version: 2 });
    expect((await call('POST', `${RES}/R1/cancel`)).body).toEqual(cancelled.body);
    expect((await call('POST', `${RES}/R404/cancel`)).status).toBe(404);
  });

  it('rejects an invalid body with 422 and the offending fields', async () => {
    const res = await call('PUT', `${RES}/R1`, {
      body: { bookingId: 'not-a-uuid', status: 'LOST', checkIn: '2030-13-01', checkOut: '2030-05-04' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    const fields = res.body.error.fields.map((f: { field: string }) => f.field).sort();
    expect(fields).toEqual(['bookingId', 'checkIn', 'guestName', 'status']);

    const backwards = await call('PUT', `${RES}/R1`, { body: reservation({ checkOut: '2030-04-01' }) });
    expect(backwards.body.error.fields).toEqual([{ field: 'checkOut', message: 'must be after checkIn' }]);
  });
});

describe('fault injection', () => {
  it('fail: answers /v1 with the configured status, leaves /health and /__control alone', async () => {
    expect((await setFaults({ mode: 'fail' })).status).toBe(200);
    const res = await call('GET', `${RES}/R1`);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('injected_fault');
    expect((await call('GET', '/health')).status).toBe(200);

    expect((await setFaults({ mode: 'fail', status: 500 })).status).toBe(200);
    expect((await call('GET', `${RES}/R1`)).status).toBe(500);
  });

  it('fail: propertyCodes limits the fault, failRate fails that fraction', async () => {
    await setFaults({ mode: 'fail', propertyCodes: ['HTL1'] });
    expect((await call('GET', `${RES}/R1`)).status).toBe(503);
    expect((await call('GET', '/v1/properties/HTL2/reservations/R1')).status).toBe(404);

    await setFaults({ mode: 'fail', failRate: 0.5 });
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await call('GET', `${RES}/R1`)).status);
    expect(statuses.filter((s) => s === 503)).toHaveLength(5);
    expect(statuses.filter((s) => s === 404)).toHaveLength(5);
  });

  it('slow: delays /v1 responses by at least latencyMs', async () => {
    expect((await setFaults({ mode: 'slow' })).status).toBe(422); // latencyMs is required
    await setFaults({ mode: 'slow', latencyMs: 250 });
    const started = Date.now();
    expect((await call('GET', `${RES}/R1`)).status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('hang: the client times out, and stop() still returns promptly', async () => {
    const own = await startVendor(options()); // stop() is part of the test, so not the shared server
    try {
      await call('PUT', '/__control/faults', { base: own, body: { mode: 'hang' } });
      await expect(call('GET', `${RES}/R1`, { base: own, signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });

      // A request still hanging when stop() is called must not keep the server open.
      const pending = call('GET', `${RES}/R2`, { base: own, signal: AbortSignal.timeout(10_000) });
      pending.catch(() => undefined);
      while ((await call('GET', '/__control/stats', { base: own })).body.requests.total < 2) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const started = Date.now();
      await own.stop();
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(pending).rejects.toThrow();
    } finally {
      await own.stop();
    }
  });

  it('stats count /v1 calls by route; reset clears state, faults and stats', async () => {
    await call('PUT', `${RES}/R1`, { body: reservation() });
    await call('GET', `${RES}/R1`);
    await call('GET', `${RES}/R2`);
    await setFaults({ mode: 'fail', failRate: 0.25 });

    const stats = await call('GET', '/__control/stats');
    expect(stats.body).toEqual({
      requests: {
        total: 3,
        byRoute: {
          'PUT /v1/properties/:propertyCode/reservations/:reference': 1,
          'GET /v1/properties/:propertyCode/reservations/:reference': 2,
        },
      },
      faults: { mode: 'fail', status: 503, failRate: 0.25 },
    });

    await call('POST', '/__control/reset');
    expect((await call('GET', '/__control/stats')).body).toEqual({
      requests: { total: 0, byRoute: {} },
      faults: { mode: 'ok', status: 503, failRate: 1 },
    });
    expect((await call('GET', `${RES}/R1`)).status).toBe(404);
    expect((await call('PUT', `${RES}/R9`, { body: reservation() })).body.externalId).toBe('FPMS-HTL1-1');
  });

  it('has no /__control routes when control is disabled', async () => {
    const locked = await startVendor(options({ controlEnabled: false }));
    try {
      const res = await call('PUT', '/__control/faults', { base: locked, body: { mode: 'fail' } });
      expect(res.status).toBe(404);
      expect((await call('GET', `${RES}/R1`, { base: locked })).status).toBe(404);
    } finally {
      await locked.stop();
    }
  });
});
