/**
 * Redis outage: rate-limit counters fall back to per-instance memory (limits still enforced on this
 * instance), say so in an error log line and in `innkeep_rate_limit_store_fallback_total`, and go back
 * to Redis by themselves once it answers again — no restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createMetrics } from '../../lib/src/metrics.js';
import { createCounterStore } from '../../lib/src/rate-limit/store.js';
import { createRedis } from '../../lib/src/redis.js';
import { capturingLogger, metricValue, uniquePrefix } from './rate-limit-support.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const opened: Redis[] = [];
let server: ChildProcess | undefined;
afterAll(async () => {
  // Wait for each socket to close: a client cut off from its server would otherwise linger ~2 s.
  await Promise.all(
    opened.map((c) => {
      if (c.status === 'end') return undefined;
      const ended = new Promise((r) => c.once('end', r));
      c.disconnect();
      return Promise.race([ended, new Promise((r) => setTimeout(r, 3000).unref())]);
    }),
  );
  server?.kill('SIGKILL');
});

function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    const tryPing = () =>
      probe.ping().then(
        () => {
          probe.disconnect();
          resolve(child);
        },
        () => setTimeout(tryPing, 50),
      );
    void probe.connect().catch(() => undefined);
    tryPing();
  });
}

describe('rate limits when Redis is down', () => {
  it('Redis unreachable (a closed port): limits still hold per instance, with an error log and the fallback metric', async () => {
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, 'fallback-test');
    redis.on('error', () => undefined);
    opened.push(redis);
    const metrics = createMetrics('booking', { defaultMetrics: false });
    const { logger, lines } = capturingLogger('booking');
    const counters = createCounterStore({ redis, keyPrefix: uniquePrefix('fallback'), logger, metrics });
    expect(await counters.ready(300)).toBe(false);
    const counter = counters.counter('field:Mutation.createBooking', 3, 60);
    const counts = [];
    for (let i = 0; i < 5; i++) counts.push(await counter.hit('user:u-1'));
    expect(counts.map((c) => c.allowed)).toEqual([true, true, true, false, false]);
    expect(counts[3]!.msBeforeReset).toBeGreaterThan(0);
    expect(await metricValue(metrics, 'innkeep_rate_limit_store_fallback_total')).toBe(5);
    // One error line per outage (then at most one per 30 s), not one per request.
    const errors = lines.filter((l) => l.level === 'error' && String(l.msg).startsWith('rate-limit store (Redis) unavailable'));
    expect(errors).toHaveLength(1);
    counters.close();
  });

  it('Redis killed and restarted: counts move to memory, then back to Redis without a restart', async () => {
    const port = await freePort();
    server = await startRedisServer(port);
    const redis = createRedis(`redis://127.0.0.1:${port}`, 'fallback-test');
    redis.on('error', () => undefined);
    opened.push(redis);
    const metrics = createMetrics('booking', { defaultMetrics: false });
    const { logger, lines } = capturingLogger('booking');
    const prefix = uniquePrefix('restart');
    const counters = createCounterStore({ redis, keyPrefix: prefix, logger, metrics });
    expect(await counters.ready()).toBe(true);
    const counter = counters.counter('budget:minute', 100, 60);
    const inspect = () => {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
      opened.push(client);
      return client;
    };

    expect((await counter.hit('user:u-1')).consumed).toBe(1);
    expect(await inspect().get(`${prefix}budget:minute:60:user:u-1`)).toBe('1');
    expect(await metricValue(metrics, 'innkeep_rate_limit_store_fallback_total')).toBe(0);

    server.kill('SIGKILL');
    await eventually(() => redis.status !== 'ready');
    const during = await counter.hit('user:u-1');
    expect(during.allowed).toBe(true);
    expect(await metricValue(metrics, 'innkeep_rate_limit_store_fallback_total')).toBeGreaterThan(0);

    server = await startRedisServer(port); // empty: the old counts died with it
    expect(await counters.ready(15_000)).toBe(true);
    const fallbacksBefore = await metricValue(metrics, 'innkeep_rate_limit_store_fallback_total');
    expect((await counter.hit('user:u-2')).consumed).toBe(1);
    expect(await inspect().get(`${prefix}budget:minute:60:user:u-2`)).toBe('1');
    expect(await metricValue(metrics, 'innkeep_rate_limit_store_fallback_total')).toBe(fallbacksBefore);
    expect(lines.some((l) => l.level === 'info' && String(l.msg).startsWith('rate-limit store (Redis) is back'))).toBe(true);
    counters.close();
  });
});
