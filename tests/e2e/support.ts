import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { expect } from '@jest/globals';
import { seedId } from '../../scripts/lib/seed.js';
import { todayIn } from '../../subgraphs/booking/src/inventory.js';
import { signWebhook } from '../../subgraphs/pms/src/webhook-signature.js';

export interface GraphQLErrorBody {
  message: string;
  path?: Array<string | number>;
  extensions: Record<string, unknown> & { code: string; correlationId: string; timestamp: string; service: string };
}
export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors: GraphQLErrorBody[];
}

export const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (global setup starts the stack)`);
  return value;
};
export const gatewayUrl = () => env('INNKEEP_GATEWAY_URL');

/**
 * A GraphQL call over real HTTP. Every error of every response is checked against the contract
 * (GUIDE §3): code, correlationId, ISO timestamp and service — so no test can see a malformed error.
 */
export async function gql<T = Record<string, any>>(
  query: string,
  variables: Record<string, unknown> = {},
  options: { url?: string; headers?: Record<string, string>; as?: DemoUser | null } = {},
): Promise<GqlResult<T>> {
  const user = options.as === undefined ? defaultUser : options.as;
  const auth: Record<string, string> = user ? { authorization: `Bearer ${await tokenFor(user, options.url)}` } : {};
  const response = await fetch(options.url ?? gatewayUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth, ...options.headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: GraphQLErrorBody[] };
  const errors = body.errors ?? [];
  for (const error of errors) expectContractError(error);
  return { status: response.status, headers: response.headers, data: body.data, errors };
}

export type DemoUser =
  | 'admin@innkeep.test'
  | 'manager@grand-harbor.test'
  | 'frontdesk@grand-harbor.test'
  | 'auditor@grand-harbor.test'
  | 'manager@alpine-lodge.test'
  | 'frontdesk@alpine-lodge.test'
  | 'guest@innkeep.test';
export const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? 'innkeep-demo';

let defaultUser: DemoUser | null = null;
/** Who `gql()` logs in as when a call does not say (`as: null` = anonymous). Per test file. */
export function actAs(user: DemoUser | null): void {
  defaultUser = user;
}

const tokens = new Map<string, { token: string; until: number }>();
/** A real access token for a demo user, from the gateway's POST /auth/login (cached while fresh). */
export async function tokenFor(user: DemoUser, graphqlUrl = gatewayUrl()): Promise<string> {
  const cacheKey = `${graphqlUrl}|${user}`;
  const cached = tokens.get(cacheKey);
  if (cached && cached.until > Date.now()) return cached.token;
  const response = await fetch(new URL('/auth/login', graphqlUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user, password: DEMO_PASSWORD }),
  });
  if (!response.ok) throw new Error(`login as ${user} failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { accessToken: string; expiresIn: number };
  tokens.set(cacheKey, { token: body.accessToken, until: Date.now() + (body.expiresIn - 60) * 1000 });
  return body.accessToken;
}

export function expectContractError(error: GraphQLErrorBody): void {
  expect(error.extensions).toEqual(
    expect.objectContaining({
      code: expect.stringMatching(/^(UNAUTHENTICATED|FORBIDDEN|BAD_USER_INPUT|NOT_FOUND|CONFLICT|RATE_LIMITED|SERVICE_UNAVAILABLE|UPSTREAM_TIMEOUT|INTERNAL_SERVER_ERROR)$/),
      correlationId: expect.stringMatching(/^[A-Za-z0-9._:-]{8,128}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
      service: expect.stringMatching(/^(gateway|hotel|booking|pms|audit)$/),
    }),
  );
}

/** Direct SQL for asserting what the database holds (tests only; services never share tables). */
export async function sql<R extends pg.QueryResultRow = Record<string, any>>(text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: env('INNKEEP_DATABASE_URL') });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Every log line (parsed pino JSON) a service wrote during the run so far. */
export function logLines(service: string): Array<Record<string, unknown>> {
  const file = path.join(env('INNKEEP_LOG_DIR'), `${service}.log`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export const ids = {
  grandHarbor: seedId('hotel:grand-harbor'),
  alpineLodge: seedId('hotel:alpine-lodge'),
  room: (hotel: 'grand-harbor' | 'alpine-lodge', number: string) => seedId(`room:${hotel}:${number}`),
};

/** A date `days` after today (UTC), as YYYY-MM-DD. Tests book far-future nights of their own. */
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
/**
 * `days` from today where the hotel is: the booking rules count "today" in the hotel's time zone, which is
 * not UTC's today for part of every day (an hour before midnight UTC, it is already tomorrow in Zurich).
 */
export const inDaysAt = (timezone: string, days: number) => new Date(Date.parse(`${todayIn(timezone)}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One row of the audit trail as tests read it (audit.events). */
export interface AuditRow {
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  hotel_id: string | null;
  correlation_id: string | null;
  details: Record<string, any>;
  hash: string;
}
/** The audit events of one request and action, oldest first (what the relays delivered so far). */
export const auditEventsOf = (correlationId: string, action: string) =>
  sql<AuditRow>(`SELECT actor, action, resource_type, resource_id, hotel_id, correlation_id, details, hash FROM audit.events WHERE correlation_id = $1 AND action = $2 ORDER BY sequence`, [correlationId, action]);
/** The audit event of this request and action, once the producer's relay delivered it. */
export const auditEventOf = (correlationId: string, action: string) => eventually(async () => (await auditEventsOf(correlationId, action))[0], 15_000);

/**
 * A hotel of the test's own (as the platform admin), with one room type and one room: what a test books,
 * changes or breaks can never disturb the seeded hotels other tests read. `slug` must be unique per run.
 */
export async function createOwnHotel(slug: string, options: { url?: string; currency?: string; timezone?: string; capacity?: number; baseRateMinor?: number } = {}) {
  const as = { as: 'admin@innkeep.test' as const, ...(options.url ? { url: options.url } : {}) };
  const hotel = await gql<any>(`mutation($input: CreateHotelInput!) { createHotel(input: $input) { id } }`, {
    input: { name: `Test ${slug}`, slug, timezone: options.timezone ?? 'Europe/Lisbon', currency: options.currency ?? 'EUR', address: { line1: 'Rua 1', city: 'Lisboa', postalCode: '1000-001', country: 'PT' } },
  }, as);
  if (hotel.errors.length) throw new Error(`createHotel: ${JSON.stringify(hotel.errors)}`);
  const hotelId = hotel.data!.createHotel.id as string;
  const type = await gql<any>(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id } }`, { input: { hotelId, name: 'Double', capacity: options.capacity ?? 2, baseRateMinor: options.baseRateMinor ?? 9000 } }, as);
  const roomTypeId = type.data!.createRoomType.id as string;
  const room = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, { input: { hotelId, roomTypeId, number: '1', floor: 1 } }, as);
  return { hotelId, roomTypeId, roomId: room.data!.createRoom.id as string };
}

/**
 * Forwards to a real subgraph and remembers every HTTP call (the operations it carried, its internal
 * token); `delayMs` holds each answer back that long (so concurrent calls overlap).
 */
export function countingProxy(target: string, options: { delayMs?: number } = {}) {
  const seen: string[][] = [];
  const tokens: string[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method === 'POST') {
      const parsed = JSON.parse(body.toString()) as { query: string } | Array<{ query: string }>;
      seen.push((Array.isArray(parsed) ? parsed : [parsed]).map((op) => op.query));
      tokens.push(String(req.headers.authorization ?? ''));
    }
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    const upstream = await fetch(new URL(req.url ?? '/', target), {
      method: req.method,
      headers: { 'content-type': 'application/json', 'x-correlation-id': String(req.headers['x-correlation-id'] ?? ''), authorization: String(req.headers.authorization ?? '') },
      body: req.method === 'POST' ? body : undefined,
    });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  return { server, seen, tokens };
}

export interface WebhookDelivery {
  status: number;
  headers: Headers;
  body: any;
}
export interface DeliveryOptions {
  /** The vendor's signing secret (every test passes the one it means). */
  secret?: string;
  timestamp?: number;
  /** A signature header of the test's own (spoiled on purpose); default: a valid `v1=` over the body. */
  signature?: string;
  correlationId?: string;
  omitHeaders?: boolean;
  /** X-Forwarded-For (the gateway trusts it from loopback): the client IP the gateway counts. */
  forwardedFor?: string;
}

/** One signed PMS webhook delivery as a vendor sends it to `baseUrl` (gateway or pms, no path); every part can be spoiled. */
export async function deliverWebhook(baseUrl: string, vendor: string, payload: unknown, options: DeliveryOptions = {}): Promise<WebhookDelivery> {
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = options.signature ?? `v1=${signWebhook(options.secret ?? '', timestamp, raw)}`;
  const response = await fetch(`${baseUrl}/webhooks/pms/${vendor}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-correlation-id': options.correlationId ?? `webhook-${randomUUID()}`,
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
      ...(options.omitHeaders ? {} : { 'innkeep-webhook-timestamp': String(timestamp), 'innkeep-webhook-signature': signature }),
    },
    body: raw,
  });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}
