/**
 * What every benchmark does the same way: a fresh, migrated, seeded database of its own; the real stack on
 * its own ports with limits that never refuse; a demo login; a GraphQL POST.
 */
import path from 'node:path';
import { createDatabase } from '../lib/src/db.js';
import { migrate } from '../lib/src/migrate.js';
import { recreateDatabase } from '../scripts/lib/database.js';
import { seedDemoData, seedId } from '../scripts/lib/seed.js';
import { startStack, type Stack, type StackOptions } from '../scripts/lib/stack.js';

export const BENCH_HOTEL = seedId('hotel:grand-harbor');

/** Drops and recreates database `name`, migrates and seeds it; returns its URL and the bench hotel's room IDs (by number). */
export async function prepareDatabase(name: string): Promise<{ url: string; rooms: string[] }> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  console.log(`Preparing database ${name} …`);
  const url = await recreateDatabase(adminUrl, name);
  await migrate(url);
  const db = createDatabase({ url, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-bench-seed' });
  try {
    await seedDemoData(db.prisma);
    const rooms = await db.prisma.$queryRawUnsafe<Array<{ id: string }>>(`SELECT id::text AS id FROM hotel.rooms WHERE hotel_id = $1::uuid ORDER BY number`, BENCH_HOTEL);
    return { url, rooms: rooms.map((r) => r.id) };
  } finally {
    await db.close();
  }
}

/**
 * The whole stack on ports portBase (gateway), +1…+4 (subgraphs), +10 (vendor), logging at info, with the
 * test suite's limits file (budgets high enough never to refuse) under keys of this run's own.
 */
export function startBenchStack(options: { databaseUrl: string; portBase: number; runName: string; env?: Record<string, string>; nodeArgs?: StackOptions['nodeArgs']; entries?: StackOptions['entries'] }): Promise<Stack> {
  const run = `innkeep:${options.runName}:${Date.now()}`;
  const p = options.portBase;
  return startStack({
    env: {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      NODE_ENV: 'development',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      RATE_LIMITS_FILE: path.resolve(process.env.BENCH_RATE_LIMITS_FILE ?? 'tests/setup/rate-limits.yaml'),
      RATE_LIMIT_KEY_PREFIX: `${run}:rl:`,
      EVENTS_CHANNEL_PREFIX: `${run}:events:`,
      DB_POOL_SIZE: '10',
      ...options.env,
    },
    ports: { gateway: p, hotel: p + 1, booking: p + 2, pms: p + 3, audit: p + 4, vendor: p + 10 },
    logDir: path.resolve('.data/bench-logs'),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.entries ? { entries: options.entries } : {}),
  });
}

/** An access token of a demo user (password innkeep-demo) from the gateway at `base`. */
export async function login(base: string, email: string): Promise<string> {
  const response = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'innkeep-demo' }) });
  if (!response.ok) throw new Error(`login ${email}: HTTP ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** A GraphQL POST; `authorization` is the whole header value ('' = none). */
export async function post(url: string, authorization: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}
