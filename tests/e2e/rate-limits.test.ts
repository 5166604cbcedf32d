/**
 * Rate limits end to end, on processes of this file's own: two gateway replicas, each in front of its
 * own booking replica, all four sharing the run's Redis under a fresh key prefix and reading a limits
 * file of this file's own (config/rate-limits.yaml plus a few entries). Hotel, pms and audit are the
 * shared stack's. The callers are API keys created here, so no other test shares their counters, and
 * the bookings go to a hotel created here, so no other test sees them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { waitReady } from '../../scripts/lib/stack.js';
import { extraPort } from '../setup/state.js';
import { actAs, deliverWebhook, env, eventually, gql, ids, inDays, type GqlResult } from './support.js';

actAs('admin@innkeep.test');

interface Service {
  name: string;
  port: number;
  child: ChildProcess;
  /** Every JSON log line it printed so far. */
  lines: Array<Record<string, unknown>>;
}

const run = randomUUID().slice(0, 8);
const keyPrefix = `innkeep:test:e2e-rate-limits:${run}:`;
const limitsPath = path.join(mkdtempSync(path.join(tmpdir(), 'innkeep-e2e-limits-')), 'rate-limits.yaml');
const services: Service[] = [];
const PORTS = { bookingA: extraPort(40), bookingB: extraPort(41), gatewayA: extraPort(42), gatewayB: extraPort(43) };
const gatewayA = `http://127.0.0.1:${PORTS.gatewayA}/graphql`;
const gatewayB = `http://127.0.0.1:${PORTS.gatewayB}/graphql`;
const gateways = [gatewayA, gatewayB];

const keys: Record<'book' | 'budget' | 'reload', { id: string; secret: string }> = {} as never;
let hotelId = '';
let rooms: string[] = [];

/** config/rate-limits.yaml as shipped, plus this file's entries: what an operator would write. */
function writeLimits(extra: { apiKeys?: Record<string, unknown>; fields?: Record<string, unknown>; webhookPerIp?: Record<string, unknown> }): void {
  const shipped = parseYaml(readFileSync('config/rate-limits.yaml', 'utf8')) as Record<string, any>;
  const file = { ...shipped, fields: { ...shipped.fields, ...extra.fields }, apiKeys: { ...extra.apiKeys }, ...(extra.webhookPerIp ? { webhookPerIp: extra.webhookPerIp } : {}) };
  writeFileSync(limitsPath, stringifyYaml(file));
}
const baseLimits = () => ({
  // A tight budget for one API key (15 / min + a burst of 5 = 20) — a per-key override.
  apiKeys: { [keys.budget.id]: { budget: { perMinute: 15, burst: 5, burstWindow: '10m' } } },
  // A tier override: anonymous callers get 3 availability searches a minute.
  fields: { 'Query.availableRooms': { anonymous: { max: 3, window: '1m' }, internal: 'off' } },
  // PMS webhook deliveries: 3 a minute per client IP (shipped: 600), so a test can reach the limit.
  webhookPerIp: { max: 3, window: '1m' },
});

async function startService(name: string, entry: string, port: number, extraEnv: Record<string, string>): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: env('INNKEEP_DATABASE_URL'),
      REDIS_URL: env('INNKEEP_REDIS_URL'),
      RATE_LIMITS_FILE: limitsPath,
      RATE_LIMIT_KEY_PREFIX: keyPrefix,
      HOTEL_URL: env('INNKEEP_HOTEL_URL'),
      PMS_URL: env('INNKEEP_PMS_URL'),
      AUDIT_URL: env('INNKEEP_AUDIT_URL'),
      PEER_TIMEOUT_MS: '10000',
      // This file measures limits, not timeouts or breakers: on a slow, busy CI machine 200 parallel
      // requests must not turn into UPSTREAM_TIMEOUT, pool timeouts or an open circuit.
      SUBGRAPH_TIMEOUT_MS: '30000',
      REQUEST_DEADLINE_MS: '60000',
      SUBGRAPH_BREAKER_THRESHOLD: '1000',
      DB_POOL_ACQUIRE_TIMEOUT_MS: '30000',
      // A starved event loop can outlast the 1 s default and count in memory (per instance) meanwhile —
      // the documented outage behaviour, tested in tests/integration/rate-limit-fallback.test.ts, not here.
      REDIS_COMMAND_TIMEOUT_MS: '15000',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = { name, port, child, lines: [] };
  // Kept in memory for the assertions, and in the run's log folder (the log-hygiene scan reads it too).
  const file = createWriteStream(path.join(env('INNKEEP_LOG_DIR'), `rate-limits-${name}.log`), { flags: 'a' });
  child.once('exit', () => file.end());
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      file.write(`${line}\n`);
      if (line.startsWith('{')) service.lines.push(JSON.parse(line) as Record<string, unknown>);
    });
  }
  services.push(service);
  await waitReady(`http://127.0.0.1:${port}/health/ready`, 60_000);
  return service;
}

async function metric(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const codeOf = (r: GqlResult) => (r.errors[0]?.extensions.code as string | undefined) ?? 'OK';
const asKey = (secret: string, correlationId = `rl-${run}-${randomUUID().slice(0, 12)}`) => ({ as: null, headers: { 'x-api-key': secret, 'x-correlation-id': correlationId } });

const CREATE_BOOKING = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference } }`;
/** The i-th of a set of one-night stays that never overlap (one room per i mod rooms, nights apart). */
const stay = (i: number, firstDay: number) => ({
  hotelId,
  roomId: rooms[i % rooms.length]!,
  checkIn: inDays(firstDay + Math.floor(i / rooms.length) * 2),
  checkOut: inDays(firstDay + Math.floor(i / rooms.length) * 2 + 1),
  guest: { name: `Limit Guest ${i}`, email: `limit-${run}-${i}@example.test` },
});

beforeAll(async () => {
  // A hotel of this file's own, with ten rooms, through the shared stack's gateway.
  const hotel = await gql<any>(`mutation($input: CreateHotelInput!) { createHotel(input: $input) { id } }`, {
    input: { name: 'Limits Lodge', slug: `limits-lodge-${run}`, timezone: 'Europe/Lisbon', currency: 'EUR', address: { line1: 'Rua 1', city: 'Porto', postalCode: '4000-001', country: 'PT' } },
  });
  expect(hotel.errors).toEqual([]);
  hotelId = hotel.data.createHotel.id;
  const roomType = await gql<any>(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id } }`, {
    input: { hotelId, name: 'Limits Double', capacity: 2, baseRateMinor: 10000 },
  });
  expect(roomType.errors).toEqual([]);
  for (let n = 1; n <= 10; n++) {
    const room = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, {
      input: { hotelId, roomTypeId: roomType.data.createRoomType.id, number: `${100 + n}`, floor: 1 },
    });
    expect(room.errors).toEqual([]);
    rooms.push(room.data.createRoom.id);
  }
  // Callers of their own: three API keys for that hotel.
  for (const [name, scopes] of [['book', ['bookings:write']], ['budget', ['bookings:read']], ['reload', ['bookings:write']]] as const) {
    const created = await gql<any>(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`, {
      input: { name: `rate-limit e2e ${name} ${run}`, scopes, hotelIds: [hotelId] },
    });
    expect(created.errors).toEqual([]);
    keys[name] = { id: created.data.createApiKey.apiKey.id, secret: created.data.createApiKey.secret };
  }

  writeLimits(baseLimits());
  await Promise.all([
    startService('booking-a', 'subgraphs/booking/src/main.ts', PORTS.bookingA, { BOOKING_PORT: String(PORTS.bookingA) }),
    startService('booking-b', 'subgraphs/booking/src/main.ts', PORTS.bookingB, { BOOKING_PORT: String(PORTS.bookingB) }),
    startService('gateway-a', 'gateway/src/main.ts', PORTS.gatewayA, { GATEWAY_PORT: String(PORTS.gatewayA), BOOKING_URL: `http://127.0.0.1:${PORTS.bookingA}/graphql` }),
    startService('gateway-b', 'gateway/src/main.ts', PORTS.gatewayB, { GATEWAY_PORT: String(PORTS.gatewayB), BOOKING_URL: `http://127.0.0.1:${PORTS.bookingB}/graphql` }),
  ]);
  // Warm each replica up (first queries compile and connect) as another caller, so the measured calls
  // below are not slowed by start-up work.
  for (const [i, url] of gateways.entries()) {
    const warm = await gql<any>(CREATE_BOOKING, { input: { ...stay(i, 2900), guest: { name: 'Warm Up', email: `warm-${run}@example.test` } } }, { url });
    expect(warm.errors).toEqual([]);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    services.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
          const force = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
          s.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          s.child.kill('SIGTERM');
        }),
    ),
  );
});

const service = (name: string) => services.find((s) => s.name === name)!;

describe('field limits (@rateLimit) across replicas', () => {
  it('200 parallel createBooking calls from one API key over two gateways and two booking replicas: exactly 20 pass, 180 get RATE_LIMITED with retryAfter', async () => {
    const correlationIds = Array.from({ length: 200 }, (_, i) => `rl-${run}-book-${i}`);
    const results = await Promise.all(
      correlationIds.map((cid, i) => gql<any>(CREATE_BOOKING, { input: stay(i, 3000) }, { url: gateways[i % 2], ...asKey(keys.book.secret, cid) })),
    );
    const passed = results.filter((r) => codeOf(r) !== 'RATE_LIMITED');
    const limited = results.filter((r) => codeOf(r) === 'RATE_LIMITED');
    console.log(`createBooking × 200 over 2 gateways / 2 booking replicas: ${passed.length} passed, ${limited.length} RATE_LIMITED`);
    expect(passed).toHaveLength(20);
    expect(limited).toHaveLength(180);
    // The 20 are real bookings (non-overlapping stays, nothing else in their way).
    for (const r of passed) {
      expect(r.errors).toEqual([]);
      expect(r.data.createBooking.reference).toMatch(/^IK-/);
    }
    for (const r of limited) {
      expect(r.status).toBe(429);
      expect(r.data).toBeNull();
      expect(r.errors).toHaveLength(1);
      const { extensions, path: fieldPath, message } = r.errors[0]!;
      expect(fieldPath).toEqual(['createBooking']);
      expect(message).toMatch(/at most 20 per 1m/);
      expect(extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'booking', limit: 20, window: '1m' });
      expect(Number.isInteger(extensions.retryAfter)).toBe(true);
      expect(extensions.retryAfter as number).toBeGreaterThanOrEqual(1);
      expect(extensions.retryAfter as number).toBeLessThanOrEqual(60);
      expect(Number(r.headers.get('retry-after'))).toBe(extensions.retryAfter);
    }

    // Both booking replicas refused (so both counted on the one shared counter), and none counted in memory.
    const refusedA = await metric(PORTS.bookingA, 'innkeep_rate_limit_refusals_total', { field: 'Mutation.createBooking', tier: 'partner' });
    const refusedB = await metric(PORTS.bookingB, 'innkeep_rate_limit_refusals_total', { field: 'Mutation.createBooking', tier: 'partner' });
    expect(refusedA).toBeGreaterThanOrEqual(80);
    expect(refusedB).toBeGreaterThanOrEqual(80);
    expect(refusedA + refusedB).toBe(180);
    for (const port of Object.values(PORTS)) expect(await metric(port, 'innkeep_rate_limit_store_fallback_total', {})).toBe(0);

    // Each refusal is logged at info with the request's correlation ID and the key's ID, never its secret.
    const refusalLines = await eventually(async () => {
      const found = [...service('booking-a').lines, ...service('booking-b').lines].filter((l) => l.msg === 'rate limit refused');
      return found.length >= 180 ? found : null;
    });
    expect(refusalLines).toHaveLength(180);
    const refusedIds = new Set(limited.map((r) => r.errors[0]!.extensions.correlationId));
    for (const line of refusalLines) {
      expect(line).toMatchObject({ level: 'info', field: 'Mutation.createBooking', tier: 'partner', caller: `apiKey:${keys.book.id}` });
      expect(refusedIds.has(line.correlationId as string)).toBe(true);
    }
    const everything = services.flatMap((s) => s.lines.map((l) => JSON.stringify(l))).join('\n');
    expect(everything).not.toContain(keys.book.secret);
  }, 180_000);

  it('anonymous callers are counted per client IP, which the gateway forwards inside the signed internal token', async () => {
    const search = (ip: string, i: number) =>
      gql<any>(`query($h: ID!, $in: Date!, $out: Date!) { availableRooms(hotelId: $h, checkIn: $in, checkOut: $out) { id } }`, { h: hotelId, in: inDays(4000), out: inDays(4001) }, {
        url: gateways[i % 2],
        as: null,
        headers: { 'x-forwarded-for': ip },
      });
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await search('203.0.113.7', i));
    expect(first.map(codeOf)).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    expect(first[3]!.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'booking', limit: 3 });
    expect(codeOf(await search('203.0.113.8', 0))).toBe('OK');
  });
});

describe('API key creation (identity subgraph, in the gateway)', () => {
  it('3 per hour per caller, then RATE_LIMITED with a retryAfter of up to an hour', async () => {
    const create = (i: number) =>
      gql<any>(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`, {
        input: { name: `limit probe ${run} ${i}`, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] },
      }, { url: gateways[i % 2], as: 'manager@grand-harbor.test' });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await create(i));
    expect(answers.map(codeOf)).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    expect(answers[3]!.status).toBe(429);
    expect(answers[3]!.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'gateway', limit: 3, window: '1h' });
    expect(answers[3]!.errors[0]!.extensions.retryAfter as number).toBeGreaterThan(60);
    expect(answers[3]!.errors[0]!.extensions.retryAfter as number).toBeLessThanOrEqual(3600);
    // Another caller is not affected.
    const other = await gql<any>(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`, {
      input: { name: `limit probe ${run} admin`, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] },
    }, { url: gatewayA });
    expect(codeOf(other)).toBe('OK');
  });
});

describe('the per-client budget at the gateway', () => {
  it('200 parallel requests from one API key with a 15/min + 5 burst budget over two gateways: exactly 20 answered, 180 get 429 with Retry-After and X-RateLimit-*', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => gql<any>(`{ hotels { slug } }`, {}, { url: gateways[i % 2], ...asKey(keys.budget.secret) })));
    const answered = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    console.log(`budget 15/min + 5 burst, 200 parallel requests over 2 gateways: ${answered.length} answered, ${refused.length} × 429`);
    expect(answered).toHaveLength(20);
    expect(refused).toHaveLength(180);
    for (const r of results) {
      expect(r.headers.get('x-ratelimit-limit')).toBe('20');
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(20);
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(600);
    }
    for (const r of answered) expect(r.data.hotels.map((h: any) => h.slug)).toEqual(expect.arrayContaining([`limits-lodge-${run}`]));
    for (const r of refused) {
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'gateway', window: 'minute', limit: 20 });
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(r.errors[0]!.extensions.retryAfter).toBe(retryAfter);
    }
    const refusedA = await metric(PORTS.gatewayA, 'innkeep_client_budget_refusals_total', { tier: 'partner', window: 'minute' });
    const refusedB = await metric(PORTS.gatewayB, 'innkeep_client_budget_refusals_total', { tier: 'partner', window: 'minute' });
    expect(refusedA + refusedB).toBe(180);
    const logged = await eventually(async () => {
      const found = [...service('gateway-a').lines, ...service('gateway-b').lines].filter((l) => l.msg === 'client budget refused');
      return found.length >= 180 ? found : null;
    });
    expect(logged).toHaveLength(180);
    for (const port of [PORTS.gatewayA, PORTS.gatewayB]) expect(await metric(port, 'innkeep_rate_limit_store_fallback_total', {})).toBe(0);
    for (const line of logged) expect(line).toMatchObject({ level: 'info', tier: 'partner', window: 'minute', caller: `apiKey:${keys.budget.id}`, correlationId: expect.stringMatching(/^rl-/) });
  }, 180_000);

  it('every /graphql response carries X-RateLimit-*: answered, partly refused, invalid, anonymous', async () => {
    const answers = [
      await gql(`{ hotels { slug } }`, {}, { url: gatewayA }), // a user (the admin)
      await gql(`{ hotels { slug } }`, {}, { url: gatewayB, as: null }), // anonymous
      await gql(`{ hotels { nope } }`, {}, { url: gatewayA }), // a validation error (400)
      await gql(`{ auditEvents { totalCount } }`, {}, { url: gatewayB, as: null }), // UNAUTHENTICATED (401)
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 401]);
    for (const a of answers) {
      expect(a.headers.get('x-ratelimit-limit')).toMatch(/^\d+$/);
      expect(a.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
      expect(a.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    }
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('400'); // user tier: 300 / min + 100 burst
    expect(answers[1]!.headers.get('x-ratelimit-limit')).toBe('90'); // anonymous: 60 / min + 30 burst
  });
});

describe('limits are configuration', () => {
  it('a limit changed in the limits file takes effect on SIGHUP, without code changes or restarts', async () => {
    const book = (i: number) => gql<any>(CREATE_BOOKING, { input: stay(i, 3200) }, { url: gateways[i % 2], ...asKey(keys.reload.secret) });
    const before = [];
    for (let i = 0; i < 3; i++) before.push(await book(i));
    expect(before.map(codeOf)).toEqual(['OK', 'OK', 'OK']); // the SDL default: 20 / min

    // The operator gives this key 5 createBooking per minute and tells every process to re-read the file.
    writeLimits({ ...baseLimits(), apiKeys: { ...baseLimits().apiKeys, [keys.reload.id]: { fields: { 'Mutation.createBooking': { max: 5, window: '1m' } } } } });
    const reloadsBefore = services.map((s) => s.lines.filter((l) => l.msg === 'rate limits reloaded').length);
    for (const s of services) s.child.kill('SIGHUP');
    await eventually(async () => services.every((s, i) => s.lines.filter((l) => l.msg === 'rate limits reloaded').length > reloadsBefore[i]!));

    const after = [];
    for (let i = 3; i < 8; i++) after.push(await book(i));
    // 3 already counted in this window: 2 more pass under the new limit of 5.
    expect(after.map(codeOf)).toEqual(['OK', 'OK', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(after[2]!.errors[0]!.message).toMatch(/at most 5 per 1m/);
    // Every process is still the same process.
    for (const s of services) expect(s.child.exitCode).toBeNull();
  });
});

describe('the login limiter', () => {
  const login = (url: string, email: string, ip?: string) =>
    fetch(new URL('/auth/login', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) },
      body: JSON.stringify({ email, password: 'not-the-password' }),
    });

  it('answers 429 after 5 attempts for one email + IP, across both gateways; another email or IP is not affected', async () => {
    const email = `nobody-${run}@example.test`;
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await login(gateways[i % 2]!, email, '198.51.100.20'));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429]);
    const refused = answers[5]!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('5');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = (await refused.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'gateway', retryAfter: Number(refused.headers.get('retry-after')) });
    expect((await login(gatewayA, `someone-else-${run}@example.test`, '198.51.100.20')).status).toBe(401);
    expect((await login(gatewayB, email, '198.51.100.21')).status).toBe(401);
    // Neither the email nor the password reaches a log line.
    const gatewayLogs = [...service('gateway-a').lines, ...service('gateway-b').lines].map((l) => JSON.stringify(l)).join('\n');
    expect(gatewayLogs).not.toContain(email);
    expect(gatewayLogs).not.toContain('not-the-password');
    expect(gatewayLogs).toContain('login attempts limited');
  });

  it('answers 429 past 30 attempts per minute from one IP, whatever the emails (password spraying; each attempt costs a scrypt hash)', async () => {
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => login(gateways[i % 2]!, `spray-${run}-${i}@example.test`, '198.51.100.30')));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers.get('x-ratelimit-limit')).toBe('30');
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/from this address: at most 30 per 1m/);
  });
});

describe('the PMS webhook limiter', () => {
  // Unsigned (no signature headers): pms refuses each one it receives with 401 MISSING_SIGNATURE.
  const deliver = (url: string, ip: string) =>
    deliverWebhook(url.replace(/\/graphql$/, ''), 'mews', { id: `evt-limit-${run}`, type: 'reservation.cancelled', data: { bookingReference: 'NOPE' } }, { omitHeaders: true, forwardedFor: ip });

  it('answers 429 past the per-IP limit across both gateways, before the delivery reaches pms; another IP is not affected', async () => {
    const refusedBefore = await metric(PORTS.gatewayB, 'innkeep_rate_limit_refusals_total', { field: 'POST /webhooks/pms' });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await deliver(gateways[i % 2]!, '198.51.100.40'));
    // Unsigned deliveries: pms refuses them (401 MISSING_SIGNATURE) until the gateway stops them first.
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429]);
    const refused = answers[3]!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('3');
    const body = refused.body as { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', service: 'gateway', limit: 3, window: '1m' });
    expect(body.errors[0]!.message).toMatch(/webhook deliveries from this address: at most 3 per 1m/);
    expect(await metric(PORTS.gatewayB, 'innkeep_rate_limit_refusals_total', { field: 'POST /webhooks/pms' })).toBe(refusedBefore + 1);
    expect((await deliver(gatewayA, '198.51.100.41')).status).toBe(401);
  });
});
