/**
 * The gateway's per-client budget as express middleware (after authentication): X-RateLimit-* on every
 * response it lets through, HTTP 429 + Retry-After + a RATE_LIMITED body when spent, burst allowance,
 * hour / day windows, per-tier and per-API-key budgets — in memory (REDIS_URL unset) and across two
 * "replicas" sharing Redis.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import type { Redis } from 'ioredis';
import { clientBudget } from '../../gateway/src/admission/client-budget.js';
import { ANONYMOUS, type Principal } from '../../lib/src/identity.js';
import { createMetrics, type Metrics } from '../../lib/src/metrics.js';
import { loadRateLimitSettings } from '../../lib/src/rate-limit/settings.js';
import { createCounterStore } from '../../lib/src/rate-limit/store.js';
import { createRedis } from '../../lib/src/redis.js';
import { apiKey, capturingLogger, limitsFile, metricValue, uniquePrefix, user } from './rate-limit-support.js';

const servers: http.Server[] = [];
const clients: Redis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  for (const c of clients) c.disconnect();
});

/** A gateway stand-in: a fixed principal per `x-test-caller` header, then the budget, then a 200. */
async function gatewayWithBudget(yaml: string, options: { redis?: Redis | null; prefix?: string; metrics?: Metrics } = {}) {
  const { logger, lines } = capturingLogger('gateway');
  const metrics = options.metrics ?? createMetrics('gateway', { defaultMetrics: false });
  const counters = createCounterStore({ redis: options.redis ?? null, keyPrefix: options.prefix ?? uniquePrefix('budget'), logger, metrics });
  const settings = loadRateLimitSettings(limitsFile(yaml));
  const callers: Record<string, Principal> = { alice: user('alice'), bob: user('bob'), partner: apiKey('key-1'), special: apiKey('key-special') };
  const app = express();
  app.use((req, _res, next) => {
    req.correlationId = 'budget-test-correlation';
    req.log = logger.child({ correlationId: req.correlationId });
    req.principal = callers[String(req.headers['x-test-caller'])] ?? ANONYMOUS;
    next();
  });
  app.use('/graphql', clientBudget({ counters, settings: () => settings, metrics }), (_req, res) => void res.json({ data: { ok: true } }));
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  const call = async (caller?: string) => {
    const response = await fetch(url, { method: 'POST', headers: caller ? { 'x-test-caller': caller } : {} });
    const header = (name: string) => response.headers.get(name);
    return {
      status: response.status,
      limit: header('x-ratelimit-limit'),
      remaining: header('x-ratelimit-remaining'),
      reset: Number(header('x-ratelimit-reset')),
      retryAfter: header('retry-after'),
      body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> },
    };
  };
  return { call, metrics, lines };
}

async function inOrder<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}

describe('the per-client budget', () => {
  it('allows perMinute, then the burst, then answers 429 with Retry-After, X-RateLimit-* and a RATE_LIMITED error', async () => {
    const gw = await gatewayWithBudget('budgets:\n  user: { perMinute: 2, burst: 1, burstWindow: 10m }');
    const answers = await inOrder(4, () => gw.call('alice'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    // Limit = perMinute + burst; Remaining counts down through the burst.
    expect(answers.map((a) => [a.limit, a.remaining])).toEqual([['3', '2'], ['3', '1'], ['3', '0'], ['3', '0']]);
    for (const a of answers) expect(a.reset).toBeGreaterThanOrEqual(1);
    for (const a of answers) expect(a.reset).toBeLessThanOrEqual(60);
    const refused = answers[3]!;
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors![0]!.extensions).toEqual({
      code: 'RATE_LIMITED',
      retryAfter: Number(refused.retryAfter),
      window: 'minute',
      limit: 3,
      correlationId: 'budget-test-correlation',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      service: 'gateway',
    });
    // Another client of the same tier has its own budget.
    expect((await gw.call('bob')).status).toBe(200);
    expect(await metricValue(gw.metrics, 'innkeep_client_budget_refusals_total', { tier: 'user', window: 'minute' })).toBe(1);
    const logged = gw.lines.find((l) => l.msg === 'client budget refused');
    expect(logged).toMatchObject({ level: 'info', tier: 'user', window: 'minute', caller: 'user:alice', correlationId: 'budget-test-correlation' });
  });

  it('an hour cap refuses with the hour window and a Retry-After beyond the minute', async () => {
    const gw = await gatewayWithBudget('budgets:\n  partner: { perMinute: 100, perHour: 2 }');
    const answers = await inOrder(3, () => gw.call('partner'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers.map((a) => [a.limit, a.remaining])).toEqual([['2', '1'], ['2', '0'], ['2', '0']]);
    expect(Number(answers[2]!.retryAfter)).toBeGreaterThan(60);
    expect(answers[2]!.body.errors![0]!.extensions).toMatchObject({ window: 'hour', limit: 2 });
    expect(await metricValue(gw.metrics, 'innkeep_client_budget_refusals_total', { tier: 'partner', window: 'hour' })).toBe(1);
  });

  it('anonymous clients are budgeted per IP; an API key may have its own budget; `off` lifts it', async () => {
    const gw = await gatewayWithBudget(`
budgets:
  anonymous: { perMinute: 1 }
  partner: off
apiKeys:
  key-special:
    budget: { perMinute: 2 }
`);
    expect((await inOrder(2, () => gw.call())).map((a) => a.status)).toEqual([200, 429]);
    const special = await inOrder(3, () => gw.call('special'));
    expect(special.map((a) => a.status)).toEqual([200, 200, 429]);
    const partner = await inOrder(5, () => gw.call('partner'));
    expect(partner.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(partner[0]!.limit).toBeNull(); // no budget, nothing to report
  });

  it('two gateway replicas sharing Redis let exactly perMinute + burst of 40 parallel requests through', async () => {
    const redisUrl = process.env.INNKEEP_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const prefix = uniquePrefix('budget-replicas');
    const yaml = 'budgets:\n  user: { perMinute: 5, burst: 3 }';
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const redis = createRedis(redisUrl, 'budget-test');
        clients.push(redis);
        await new Promise((r) => redis.once('ready', r));
        return gatewayWithBudget(yaml, { redis, prefix });
      }),
    );
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => replicas[i % 2]!.call('alice')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(8);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(32);
    for (const a of answers) expect([a.limit, typeof a.remaining]).toEqual(['8', 'string']);
    expect(await metricValue(replicas[0]!.metrics, 'innkeep_rate_limit_store_fallback_total')).toBe(0);
  });
});
