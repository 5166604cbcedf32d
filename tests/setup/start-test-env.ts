/**
 * Starts what the test suite runs against, once: the real PostgreSQL (DATABASE_URL, default the local
 * server; an embedded one where none answers), the real Redis (REDIS_URL; none answering stops the run
 * with instructions — never a silent skip), a fresh migrated and seeded test database, and the whole
 * federation as real processes on test ports. Tests find it through INNKEEP_* variables.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { createDatabase } from '../../lib/src/db.js';
import { postgresAnswers, startEmbeddedPostgres } from '../../lib/src/embedded-db.js';
import { migrate } from '../../lib/src/migrate.js';
import { redisAnswers } from '../../lib/src/redis.js';
import { seedDemoData } from '../../scripts/lib/seed.js';
import { recreateDatabase } from '../../scripts/lib/database.js';
import { startStack } from '../../scripts/lib/stack.js';
import { TEST_DATABASE, TEST_PORT_BASE, TEST_PORTS, TEST_LOG_DIR, setTestState } from './state.js';
import { TEST_WEBHOOK_SECRETS } from './webhook-secrets.js';

export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  if (!(await postgresAnswers(adminUrl))) {
    console.log(`\nNo PostgreSQL answers at ${redact(adminUrl)}: starting an embedded one for the tests.`);
    const embedded = await startEmbeddedPostgres({ dataDir: path.resolve('.data/test-postgres'), port: 54330, database: 'test' });
    adminUrl = embedded.url;
    setTestState({ embeddedPostgres: embedded });
  }

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) {
    throw new Error(
      `No Redis answers at ${redact(redisUrl)}. The integration tests need a real Redis. Start one with\n` +
        `  docker compose up -d redis\nor\n  redis-server --daemonize yes --port 6379 --save ''\nor set REDIS_URL.`,
    );
  }

  const databaseUrl = await recreateDatabase(adminUrl, TEST_DATABASE);
  await migrate(databaseUrl);
  const db = createDatabase({ url: databaseUrl, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-test-seed' });
  await seedDemoData(db.prisma);
  await db.close();

  rmSync(TEST_LOG_DIR, { recursive: true, force: true });
  // Rate limits of the shared stack: high ones (tests/setup/rate-limits.yaml), counted under this run's
  // own Redis prefix. Exported as well, so processes a test starts with `...process.env` get the same.
  Object.assign(process.env, {
    RATE_LIMITS_FILE: path.resolve('tests/setup/rate-limits.yaml'),
    RATE_LIMIT_KEY_PREFIX: `innkeep:test:${TEST_PORT_BASE}:${Date.now()}:rl:`,
    // Event channels of this run only: concurrent runs on the same Redis never see each other's events.
    EVENTS_CHANNEL_PREFIX: `innkeep:test:${TEST_PORT_BASE}:${Date.now()}:events:`,
    AUDIT_STREAM_KEY: `innkeep:test:${TEST_PORT_BASE}:${Date.now()}:audit-stream`,
  });
  const stack = await startStack({
    env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'debug', NODE_ENV: 'test', DB_POOL_SIZE: '10',
      // CI runs two whole stacks on 2 cores at once: give peer calls room beyond the 3 s production default.
      PEER_TIMEOUT_MS: '10000',
      // Same reason at the gateway (defaults 5 s / 10 s): subgraph attempts wait beyond a peer call, and the
      // whole-request deadline beyond that. tests/chaos proves the timeouts on processes of its own.
      SUBGRAPH_TIMEOUT_MS: '15000',
      REQUEST_DEADLINE_MS: '30000',
      // The audit subgraph re-verifies every hash chain this often (the tamper test watches its metric).
      AUDIT_VERIFY_INTERVAL_SECONDS: '1',
      // Signed PMS webhooks (tests/e2e/pms-webhooks.test.ts): mews mid-rotation, with two secrets.
      PMS_WEBHOOK_SECRETS: JSON.stringify(TEST_WEBHOOK_SECRETS),
    },
    ports: TEST_PORTS,
    logDir: TEST_LOG_DIR,
  });
  setTestState({ stack });
  Object.assign(process.env, {
    INNKEEP_DATABASE_URL: databaseUrl,
    INNKEEP_ADMIN_DATABASE_URL: adminUrl,
    INNKEEP_REDIS_URL: redisUrl,
    INNKEEP_GATEWAY_URL: `${stack.urls.gateway}/graphql`,
    INNKEEP_HOTEL_URL: `${stack.urls.hotel}/graphql`,
    INNKEEP_BOOKING_URL: `${stack.urls.booking}/graphql`,
    INNKEEP_PMS_URL: `${stack.urls.pms}/graphql`,
    INNKEEP_AUDIT_URL: `${stack.urls.audit}/graphql`,
    INNKEEP_VENDOR_URL: stack.urls.vendor,
    INNKEEP_LOG_DIR: TEST_LOG_DIR,
  });
}

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@');
