/**
 * Chaos-test helpers: each test starts its OWN extra processes (gateway, booking, pms, fake vendor, Redis)
 * on free ports from `extraPort(n)`, kills and restarts them, and reads their /metrics and /health/ready.
 * The shared stack's processes are never touched: other test files run against them at the same time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitReady } from '../../scripts/lib/stack.js';
import { builtEntry, type SERVICE_ENTRIES } from '../../scripts/lib/build.js';
import { projectPath } from '../../lib/src/project-root.js';
import { redisAnswers } from '../../lib/src/redis.js';
import { env, eventually, gql, sql } from '../e2e/support.js';

export interface Proc {
  name: string;
  /** Base URL (no path). */
  url: string;
  child: ChildProcess;
  /** SIGKILL: a crash, no drain. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

const HEALTH = { gateway: '/health/ready', hotel: '/health/ready', booking: '/health/ready', audit: '/health/ready', pms: '/health/ready', vendor: '/health' } as const;
const PORT_VAR = { gateway: 'GATEWAY_PORT', hotel: 'HOTEL_PORT', booking: 'BOOKING_PORT', audit: 'AUDIT_PORT', pms: 'PMS_PORT', vendor: 'VENDOR_PORT' } as const;

/** The environment of the shared stack's processes (DB, Redis, the shared subgraphs), for our own ones. */
export function stackEnv(): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
  return {
    ...base,
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    DATABASE_URL: env('INNKEEP_DATABASE_URL'),
    REDIS_URL: env('INNKEEP_REDIS_URL'),
    HOTEL_URL: env('INNKEEP_HOTEL_URL'),
    BOOKING_URL: env('INNKEEP_BOOKING_URL'),
    PMS_URL: env('INNKEEP_PMS_URL'),
    AUDIT_URL: env('INNKEEP_AUDIT_URL'),
    PMS_VENDOR_URL: env('INNKEEP_VENDOR_URL'),
    PEER_TIMEOUT_MS: '10000',
    // Generous unless a test sets its own: these tests share a loaded CI machine, and only the timeouts a
    // test is about may decide its outcome.
    SUBGRAPH_TIMEOUT_MS: '15000',
    REQUEST_DEADLINE_MS: '30000',
  };
}

/**
 * Starts one of our services as a real process on `port` — its built file, as the shared stack runs it
 * (the test setup's stack built dist/services) — and waits until it is ready.
 */
export async function startProcess(kind: keyof typeof SERVICE_ENTRIES, port: number, extraEnv: Record<string, string> = {}, label: string = kind): Promise<Proc> {
  // A leftover process on the port would answer the readiness probe in place of ours (and ours would fail
  // to bind): refuse to start rather than test the wrong process.
  if (await portInUse(port)) throw new Error(`port ${port} for ${label} is in use (a leftover process of an earlier run?); free it or set INNKEEP_TEST_PORT_BASE`);
  const dir = env('INNKEEP_LOG_DIR');
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `chaos-${label}.log`), { flags: 'a' });
  const child = spawn(process.execPath, [projectPath(builtEntry(kind))], {
    env: { ...stackEnv(), ...extraEnv, [PORT_VAR[kind]]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      log.write(`${line}\n`);
      recent.push(line);
      if (recent.length > 30) recent.shift();
    });
  }
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${label} exited (${code}) before it was ready:\n${recent.join('\n')}`))),
  );
  exited.catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitReady(`${url}${HEALTH[kind]}`, 60_000), exited]);
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
  return { name: label, url, child, kill: () => waitExit('SIGKILL'), stop: () => waitExit('SIGTERM') };
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A sample's value from Prometheus text, e.g. metric(text, 'innkeep_circuit_state', { target: 'booking' }). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const [, labelText = '', value] = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)$/.exec(line) ?? [];
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total = (total ?? 0) + Number(value);
  }
  return total;
}

export const metricsOf = async (baseUrl: string) => (await fetch(`${baseUrl}/metrics`)).text();
export const readiness = async (baseUrl: string) => {
  const response = await fetch(`${baseUrl}/health/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A hotel of the test's own, with rooms, a few bookings and a PMS connection of `vendor` / `propertyCode`:
 * what a chaos test breaks cannot disturb the seeded hotels other tests read.
 */
/** Credentials the fake vendor accepts: Mews style for 'mews' and its aliases, OAuth client credentials for 'opera'. */
export function fakeVendorCredentials(vendor: string, token = 'fake-vendor-token') {
  return vendor === 'opera' ? { clientId: 'innkeep-test-client', clientSecret: token } : { clientToken: 'innkeep-test-client-token', accessToken: token };
}

/**
 * A hotel of the caller's own with a room, `bookings` bookings and a PMS connection (`vendor`: 'mews',
 * 'opera', or an alias the target pms serves, e.g. the chaos test's 'chaospms').
 */
export async function createPmsHotel(options: { gatewayUrl?: string; vendor: string; propertyCode: string; bookings: number; credentials?: Record<string, string>; connect?: boolean }) {
  const url = options.gatewayUrl;
  const tag = options.propertyCode.toLowerCase();
  const hotel = await gql<any>(
    `mutation($input: CreateHotelInput!) { createHotel(input: $input) { id } }`,
    { input: { name: `Chaos ${tag}`, slug: `chaos-${tag}`, timezone: 'Europe/Lisbon', currency: 'EUR', address: { line1: 'Rua 1', city: 'Porto', postalCode: '4000-001', country: 'PT' } } },
    { url, as: 'admin@innkeep.test' },
  );
  if (hotel.errors.length) throw new Error(`createHotel: ${JSON.stringify(hotel.errors)}`);
  const hotelId = hotel.data!.createHotel.id as string;
  const roomType = await gql<any>(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id } }`, { input: { hotelId, name: 'Double', capacity: 2, baseRateMinor: 9000 } }, { url, as: 'admin@innkeep.test' });
  const room = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, { input: { hotelId, roomTypeId: roomType.data!.createRoomType.id, number: '101', floor: 1 } }, { url, as: 'admin@innkeep.test' });
  const roomId = room.data!.createRoom.id as string;
  const bookingIds: string[] = [];
  for (let i = 0; i < options.bookings; i++) {
    const day = new Date(Date.now() + (20 + i * 2) * 86_400_000).toISOString().slice(0, 10);
    const next = new Date(Date.now() + (21 + i * 2) * 86_400_000).toISOString().slice(0, 10);
    const booking = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
      input: { hotelId, roomId, checkIn: day, checkOut: next, guests: 1, guest: { name: `Chaos Guest ${i}`, email: `chaos${i}-${tag}@example.test` } },
    }, { url, as: 'admin@innkeep.test' });
    if (booking.errors.length) throw new Error(`createBooking: ${JSON.stringify(booking.errors)}`);
    bookingIds.push(booking.data!.createBooking.id);
  }
  if (options.connect === false) return { hotelId, bookingIds };
  // Through the API, so the credentials are sealed the way the pms process opens them.
  const connected = await gql<any>(
    `mutation($input: ConnectPmsInput!) { connectPms(input: $input) { vendor } }`,
    { input: { hotelId, vendor: options.vendor, propertyCode: options.propertyCode, credentials: options.credentials ?? fakeVendorCredentials(options.vendor) } },
    { url, as: 'admin@innkeep.test' },
  );
  if (connected.errors.length) throw new Error(`connectPms: ${JSON.stringify(connected.errors)}`);
  return { hotelId, bookingIds };
}

/** The fake vendor's control API. */
export function vendorControl(baseUrl: string) {
  return {
    setFaults: async (faults: Record<string, unknown>) => {
      const response = await fetch(`${baseUrl}/__control/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
      if (!response.ok) throw new Error(`setFaults: ${response.status} ${await response.text()}`);
    },
    stats: async () => ((await (await fetch(`${baseUrl}/__control/stats`)).json()) as { requests: { total: number; byRoute: Record<string, number> } }).requests,
    reset: async () => void (await fetch(`${baseUrl}/__control/reset`, { method: 'POST' })),
  };
}

/**
 * A redis-server of the test's own on `port` (no persistence: a kill loses its data, like a Redis that
 * restarts empty). `kill` is a crash (SIGKILL); `start` again reuses the address.
 */
export function ownRedis(port: number) {
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    get process() {
      return child;
    },
    async start(): Promise<void> {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await eventually(() => redisAnswers(url, 500), 10_000);
    },
    async kill(): Promise<void> {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    },
  };
}
