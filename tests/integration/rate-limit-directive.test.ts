/**
 * `@rateLimit` as the subgraphs enforce it: a schema transformer applied once to a buildSubgraphSchema
 * schema, counting in the real Redis of the test run (a fresh key prefix per test). Every refusal is a
 * RATE_LIMITED error with `retryAfter`; counts are per caller + field + identity arguments.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import { ANONYMOUS, type Principal } from '../../lib/src/identity.js';
import { DEVELOPMENT_INTERNAL_SECRET, InternalTokenSigner, InternalTokenVerifier } from '../../lib/src/internal-token.js';
import { createMetrics, type Metrics } from '../../lib/src/metrics.js';
import { createRateLimits, RATE_LIMIT_DIRECTIVE_SDL, type RateLimits } from '../../lib/src/rate-limit/index.js';
import { createRedis } from '../../lib/src/redis.js';
import { subgraphRateLimits } from '../../lib/src/rate-limit/subgraph.js';
import { apiKey, capturingLogger, limitsFile, metricValue, uniquePrefix, user } from './rate-limit-support.js';

const SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  ${RATE_LIMIT_DIRECTIVE_SDL}
  type Query {
    ping: String @rateLimit(max: 3, window: "1m")
    hotelPing(hotelId: ID!, note: String): String @rateLimit(max: 2, window: "1m", identityArgs: ["hotelId"], message: "This hotel is busy: slow down")
    sync(hotelId: ID!): String @rateLimit(max: 2, window: "1m", identityArgs: ["hotelId"], perCaller: false)
    page(first: Int = 50): [Int!]! @rateLimit(max: 1, window: "1m", when: "first > 50")
    book(input: BookInput!): String @rateLimit(max: 1, window: "1h", identityArgs: ["input.roomId"])
    free: String
  }
  input BookInput { roomId: ID!, guest: String }
  type Room @key(fields: "id") { id: ID! number: String @rateLimit(max: 1, window: "1h") }
`;
let resolved = 0;
const resolvers = {
  Query: {
    ping: () => (resolved++, 'pong'),
    hotelPing: () => 'pong',
    sync: () => 'synced',
    page: (_: unknown, { first }: { first: number }) => Array.from({ length: Math.min(first, 3) }, (_, i) => i),
    book: () => 'booked',
    free: () => 'free',
  },
  Room: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, number: '101' }) },
};

const redisUrl = process.env.INNKEEP_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients: Redis[] = [];
const opened: RateLimits[] = [];
afterAll(() => {
  for (const l of opened) l.close();
  for (const c of clients) c.disconnect();
});

async function limitedSchema(options: { file?: string; prefix: string; metrics?: Metrics; sdl?: string; redis?: Redis | null }) {
  const redis = options.redis === undefined ? createRedis(redisUrl, 'rate-limit-test') : options.redis;
  if (redis) clients.push(redis);
  const metrics = options.metrics ?? createMetrics('booking', { defaultMetrics: false });
  const { logger, lines } = capturingLogger();
  const limits = createRateLimits({ file: options.file ?? limitsFile(''), redis, keyPrefix: options.prefix, logger, metrics, reloadOnSighup: false });
  opened.push(limits);
  const schema = limits.applyTo(buildSubgraphSchema([{ typeDefs: parse(options.sdl ?? SDL), resolvers: resolvers as never }]));
  expect(await limits.counters.ready()).toBe(true); // counts go to Redis from the first call
  return { schema, limits, metrics, lines };
}

const run = (schema: GraphQLSchema, source: string, principal: Principal = user('u-1'), clientIp?: string): Promise<ExecutionResult> =>
  graphql({ schema, source, contextValue: { principal, correlationId: 'test-correlation-id', ...(clientIp ? { clientIp } : {}) } }) as Promise<ExecutionResult>;

const codes = (results: ExecutionResult[]) => results.map((r) => (r.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK');
const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
/** Sequential, so the assertion can say which call was refused. */
async function inOrder<T>(n: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f(i));
  return out;
}

describe('@rateLimit on a subgraph schema', () => {
  let prefix: string;
  beforeEach(() => {
    prefix = uniquePrefix('directive');
  });

  it('lets max calls per caller through, then refuses with RATE_LIMITED, retryAfter and a message naming the limit', async () => {
    const { schema, lines } = await limitedSchema({ prefix });
    resolved = 0;
    const results = await inOrder(5, () => run(schema, '{ ping }'));
    expect(codes(results)).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(resolved).toBe(3); // a refused call never reaches the resolver
    const refusal = results[3]!.errors![0]!;
    expect(refusal.path).toEqual(['ping']);
    expect(refusal.message).toMatch(/at most 3 per 1m/);
    expect(refusal.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 3, window: '1m' });
    expect(refusal.extensions!.retryAfter).toEqual(expect.any(Number));
    expect(refusal.extensions!.retryAfter as number).toBeGreaterThanOrEqual(1);
    expect(refusal.extensions!.retryAfter as number).toBeLessThanOrEqual(60);
    // Another caller has a count of their own.
    expect(codes([await run(schema, '{ ping }', user('u-2'))])).toEqual(['OK']);
    // Refusals are logged at info with the caller's actor, never more.
    const logged = lines.filter((l) => l.msg === 'rate limit refused');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 'info', field: 'Query.ping', tier: 'user', caller: 'user:u-1', limit: '3/1m' });
  });

  it('counts per value of the identity arguments, and uses the SDL message', async () => {
    const { schema } = await limitedSchema({ prefix });
    const q = (hotel: string, note = 'x') => run(schema, `{ hotelPing(hotelId: "${hotel}", note: "${note}") }`);
    const first = await inOrder(3, (i) => q('h1', `note ${i}`)); // `note` is not an identity argument
    expect(codes(first)).toEqual(['OK', 'OK', 'RATE_LIMITED']);
    expect(first[2]!.errors![0]!.message).toBe('This hotel is busy: slow down');
    expect(codes(await inOrder(2, () => q('h2')))).toEqual(['OK', 'OK']);
    // Nested identity arguments (input.roomId) work too.
    const book = (room: string, guest: string) => run(schema, `{ book(input: { roomId: "${room}", guest: "${guest}" }) }`);
    expect(codes([await book('r1', 'a'), await book('r1', 'b'), await book('r2', 'a')])).toEqual(['OK', 'RATE_LIMITED', 'OK']);
  });

  it('perCaller: false counts every caller of the same identity arguments together', async () => {
    const { schema } = await limitedSchema({ prefix });
    const sync = (who: Principal, hotel = 'h1') => run(schema, `{ sync(hotelId: "${hotel}") }`, who);
    expect(codes([await sync(user('a')), await sync(apiKey('k')), await sync(user('c')), await sync(user('c'), 'h2')])).toEqual(['OK', 'OK', 'RATE_LIMITED', 'OK']);
  });

  it('`when` limits only the calls past the threshold (large pages)', async () => {
    const { schema } = await limitedSchema({ prefix });
    expect(codes(await inOrder(4, () => run(schema, '{ page }')))).toEqual(['OK', 'OK', 'OK', 'OK']); // default first = 50
    expect(codes(await inOrder(3, () => run(schema, '{ page(first: 100) }')))).toEqual(['OK', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(codes([await run(schema, '{ page(first: 50) }')])).toEqual(['OK']);
  });

  it('anonymous callers are counted per client IP', async () => {
    const { schema } = await limitedSchema({ prefix });
    const asIp = (ip: string) => run(schema, '{ ping }', ANONYMOUS, ip);
    expect(codes(await inOrder(4, () => asIp('203.0.113.7')))).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    expect(codes([await asIp('203.0.113.8')])).toEqual(['OK']);
  });

  it('limits entity fields reached through _entities too', async () => {
    const { schema } = await limitedSchema({ prefix });
    const entities = () => run(schema, '{ _entities(representations: [{ __typename: "Room", id: "r1" }]) { ... on Room { number } } }');
    expect(codes([await entities(), await entities()])).toEqual(['OK', 'RATE_LIMITED']);
  });

  it('the limits file overrides the SDL per tier and per API key, and `off` lifts a limit', async () => {
    const file = limitsFile(`
fields:
  Query.ping: { partner: { max: 1, window: 1m }, user: off }
apiKeys:
  key-x:
    fields:
      Query.ping: { max: 5, window: 1m }
`);
    const { schema, metrics } = await limitedSchema({ prefix, file });
    expect(codes(await inOrder(2, () => run(schema, '{ ping }', apiKey('key-y'))))).toEqual(['OK', 'RATE_LIMITED']);
    expect(codes(await inOrder(8, () => run(schema, '{ ping }', user('u-9'))))).toEqual(Array(8).fill('OK'));
    expect(codes(await inOrder(6, () => run(schema, '{ ping }', apiKey('key-x'))))).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'RATE_LIMITED']);
    expect(await metricValue(metrics, 'innkeep_rate_limit_refusals_total', { field: 'Query.ping', tier: 'partner' })).toBe(2);
    expect(await metricValue(metrics, 'innkeep_rate_limit_refusals_total', { field: 'Query.ping', tier: 'user' })).toBe(0);
  });

  it('reload() applies a changed file to the counts already made, and keeps the limits in force when the file is bad', async () => {
    const file = limitsFile('');
    const { schema, limits, lines } = await limitedSchema({ prefix, file });
    expect(codes(await inOrder(2, () => run(schema, '{ ping }')))).toEqual(['OK', 'OK']);
    writeFileSync(file, 'fields:\n  Query.ping: { user: { max: 2, window: 1m } }\n');
    expect(limits.reload()).toBe(true);
    expect(codes([await run(schema, '{ ping }')])).toEqual(['RATE_LIMITED']); // 2 already counted under the new max of 2
    writeFileSync(file, 'fields:\n  Query.ping: { user: { max: many, window: 1m } }\n');
    expect(limits.reload()).toBe(false);
    expect(lines.some((l) => l.level === 'error' && String(l.msg).includes('NOT reloaded'))).toBe(true);
    expect(codes([await run(schema, '{ ping }', user('u-fresh')), await run(schema, '{ ping }', user('u-fresh')), await run(schema, '{ ping }', user('u-fresh'))])).toEqual([
      'OK',
      'OK',
      'RATE_LIMITED',
    ]);
  });

  it('two replicas sharing Redis let exactly max of 50 parallel calls through', async () => {
    const a = await limitedSchema({ prefix });
    const b = await limitedSchema({ prefix });
    const results = await times(50, (i) => run(i % 2 ? a.schema : b.schema, '{ ping }', user('u-parallel')));
    expect(codes(results).filter((c) => c === 'OK')).toHaveLength(3);
    expect(codes(results).filter((c) => c === 'RATE_LIMITED')).toHaveLength(47);
  });

  it('refuses to start on a bad @rateLimit, naming the field', async () => {
    const bad = (directive: string) =>
      limitedSchema({ prefix, redis: null, sdl: `${RATE_LIMIT_DIRECTIVE_SDL}\ntype Query { x(id: ID): String ${directive} }` });
    await expect(bad('@rateLimit(max: 3, window: "5 minutes please")')).rejects.toThrow(/@rateLimit on Query\.x: window "5 minutes please" is not a window/);
    await expect(bad('@rateLimit(max: 0, window: "1m")')).rejects.toThrow(/@rateLimit on Query\.x: max must be a whole number of at least 1/);
    await expect(bad('@rateLimit(max: 3, window: "1m", identityArgs: ["hotelId"])')).rejects.toThrow(/@rateLimit on Query\.x: identityArgs names "hotelId"/);
    await expect(bad('@rateLimit(max: 3, window: "1m", when: "first above 50")')).rejects.toThrow(/@rateLimit on Query\.x: when "first above 50" must read/);
    await expect(
      limitedSchema({ prefix, redis: null, sdl: 'directive @rateLimit(max: Int!, window: String!) on FIELD_DEFINITION\ntype Query { x: String @rateLimit(max: 1, window: "1m") }' }),
    ).rejects.toThrow(/@rateLimit is declared without identityArgs, message, perCaller, when/);
  });

  it('fields without @rateLimit are left alone', async () => {
    const { schema } = await limitedSchema({ prefix, redis: null });
    expect(codes(await inOrder(10, () => run(schema, '{ free }')))).toEqual(Array(10).fill('OK'));
  });
});

describe('the client IP in the internal token', () => {
  it('travels as a signed `ip` claim; tokens without one still verify', async () => {
    const signer = new InternalTokenSigner(DEVELOPMENT_INTERNAL_SECRET, 'gateway');
    const verifier = new InternalTokenVerifier(DEVELOPMENT_INTERNAL_SECRET, 'booking');
    const a = await signer.sign(ANONYMOUS, 'booking', 'cid-0000001', { clientIp: '203.0.113.7' });
    const b = await signer.sign(ANONYMOUS, 'booking', 'cid-0000001', { clientIp: '203.0.113.8' });
    expect(a).not.toBe(b); // the token cache keys on the IP too
    expect((await verifier.verify(a)).clientIp).toBe('203.0.113.7');
    expect((await verifier.verify(b)).clientIp).toBe('203.0.113.8');
    expect((await verifier.verify(await signer.sign(user('u-1'), 'booking', 'cid-0000002'))).clientIp).toBeUndefined();
  });
});

describe('the staged-rollout switch (RATE_LIMITS_ENABLED)', () => {
  it('false: the subgraph applies no limits; true: the same schema refuses the 4th call', async () => {
    const build = () => buildSubgraphSchema([{ typeDefs: parse(SDL), resolvers: resolvers as never }]);
    const { logger } = capturingLogger();
    const config = { REDIS_URL: redisUrl, RATE_LIMITS_FILE: limitsFile(''), RATE_LIMIT_KEY_PREFIX: uniquePrefix('switch') };
    const off = await subgraphRateLimits(build(), { service: 'booking', config: { ...config, RATE_LIMITS_ENABLED: false }, logger, metrics: createMetrics('booking', { defaultMetrics: false }) });
    expect(codes(await inOrder(5, () => run(off.schema, '{ ping }')))).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
    off.close();
    const on = await subgraphRateLimits(build(), { service: 'booking', config: { ...config, RATE_LIMITS_ENABLED: true }, logger, metrics: createMetrics('booking', { defaultMetrics: false }) });
    expect(codes(await inOrder(4, () => run(on.schema, '{ ping }')))).toEqual(['OK', 'OK', 'OK', 'RATE_LIMITED']);
    on.close();
  });
});
