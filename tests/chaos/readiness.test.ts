/**
 * Readiness follows the dependencies: a hotel subgraph of this test's own, on a scratch database and a
 * redis-server of its own. The database is taken away for real (no new connections allowed, existing
 * ones terminated) and given back; Redis is killed and restarted.
 *
 * Documented behaviour (docs/operations.md "Health and logs"): the database is critical — /health/ready
 * answers 503 `not_ready` naming the failing check, and comes back by itself; Redis is not critical for a
 * subgraph — readiness stays 200 with `checks.redis: degraded` (queries are still served; live updates
 * pause), so losing Redis never takes every replica out of rotation at once. `innkeep_dependency_up`
 * follows both.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrate } from '../../lib/src/migrate.js';
import { scratchDatabase } from '../integration/scratch-database.js';
import { eventually } from '../e2e/support.js';
import { extraPort } from '../setup/state.js';
import { metric, metricsOf, ownRedis, readiness, startProcess, type Proc } from './support.js';

describe('chaos: /health/ready when the database or Redis goes away', () => {
  const database = scratchDatabase('innkeep_readiness');
  const redis = ownRedis(extraPort(7));
  let hotel: Proc;

  beforeAll(async () => {
    await database.create();
    await migrate(database.url);
    await redis.start();
    hotel = await startProcess('hotel', extraPort(8), { DATABASE_URL: database.url, REDIS_URL: redis.url, DB_POOL_ACQUIRE_TIMEOUT_MS: '1000', LOG_LEVEL: 'info' }, 'readiness-hotel');
  }, 120_000);

  afterAll(async () => {
    await hotel?.stop();
    await redis.kill();
    await database.admin(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
    await database.drop().catch(() => undefined);
  });

  const dependencyUp = async (check: string) => metric(await metricsOf(hotel.url), 'innkeep_dependency_up', { check });

  it('database gone → 503 not_ready naming it; back → ready, without a restart', async () => {
    expect(await readiness(hotel.url)).toMatchObject({ status: 200, body: { status: 'ready', checks: { database: { status: 'ok' }, redis: { status: 'ok' } } } });
    expect(await dependencyUp('database')).toBe(1);

    await database.admin(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS false`);
    await database.admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database.name}' AND pid <> pg_backend_pid()`);
    const down = await eventually(async () => {
      const r = await readiness(hotel.url);
      return r.status === 503 ? r : undefined;
    }, 15_000);
    expect(down.body).toMatchObject({ status: 'not_ready', checks: { database: { status: 'failing' } } });
    expect(await dependencyUp('database')).toBe(0);
    // Liveness is about the process only: still up, so an orchestrator does not restart it for this.
    expect((await fetch(`${hotel.url}/health/live`)).status).toBe(200);

    await database.admin(`ALTER DATABASE "${database.name}" WITH ALLOW_CONNECTIONS true`);
    await eventually(async () => (await readiness(hotel.url)).status === 200, 15_000);
    expect(await dependencyUp('database')).toBe(1);
    expect(hotel.child.exitCode).toBeNull();
  }, 60_000);

  it('Redis gone → still ready, redis degraded; back → ok', async () => {
    await redis.kill();
    const degraded = await eventually(async () => {
      const r = await readiness(hotel.url);
      return r.body.checks?.redis?.status === 'degraded' ? r : undefined;
    }, 15_000);
    expect(degraded.status).toBe(200);
    expect(await dependencyUp('redis')).toBe(0);
    expect(metric(await metricsOf(hotel.url), 'innkeep_redis_connected', { client: 'hotel-events-pub' })).toBe(0);

    await redis.start();
    await eventually(async () => (await readiness(hotel.url)).body.checks?.redis?.status === 'ok', 20_000);
    expect(await dependencyUp('redis')).toBe(1);
  }, 60_000);
});
