import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export { PrismaClient };
export type * from '../../generated/prisma/client.js';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  acquireTimeoutMs: number;
  /** Shown in pg_stat_activity, so an operator can tell which service holds a connection. */
  applicationName: string;
  /** Told about errors of idle pooled connections (e.g. the database restarted). */
  onIdleError?(error: Error): void;
}

export interface Database {
  prisma: PrismaClient;
  /** Options for interactive transactions: wait for a connection as long as the pool allows. */
  transactionOptions: { maxWait: number; timeout: number };
  pool: pg.Pool;
  /** Readiness probe: one round trip through the pool. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Prisma through the `pg` driver adapter (no native query engine needed): the pool is ours, so its size
 * and acquire timeout are configurable and its usage can be observed.
 */
export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.acquireTimeoutMs,
    application_name: options.applicationName,
  });
  // An idle connection dropped by the server (restart, failover, admin command) is an event to log, not a
  // crash: without this listener pg's pool re-emits it as an unhandled 'error' and the process dies.
  pool.on('error', (error) => options.onIdleError?.(error));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    transactionOptions: { maxWait: options.acquireTimeoutMs, timeout: Math.max(10_000, options.acquireTimeoutMs * 2) },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

/** A service's database from its parsed config: pool size and acquire timeout from DB_POOL_* variables. */
export function serviceDatabase(
  config: { DATABASE_URL: string; DB_POOL_SIZE: number; DB_POOL_ACQUIRE_TIMEOUT_MS: number },
  service: string,
  logger: Logger,
): Database {
  return createDatabase({
    url: config.DATABASE_URL,
    poolSize: config.DB_POOL_SIZE,
    acquireTimeoutMs: config.DB_POOL_ACQUIRE_TIMEOUT_MS,
    applicationName: `innkeep-${service}`,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection failed; the pool replaces it'),
  });
}

/**
 * Pool usage at scrape time: `innkeep_db_pool_connections{state}` — total (open), idle, and waiting
 * (queries queued for a connection: sustained > 0 means the pool is exhausted, see docs/operations.md).
 */
export function observePool(metrics: Metrics, pool: pg.Pool): void {
  metrics.sampled('innkeep_db_pool_connections', 'PostgreSQL pool connections by state: total (open), idle, waiting (queries queued for one), max (DB_POOL_SIZE)', ['state'], () => [
    [{ state: 'total' }, pool.totalCount],
    [{ state: 'idle' }, pool.idleCount],
    [{ state: 'waiting' }, pool.waitingCount],
    [{ state: 'max' }, pool.options.max ?? 10],
  ]);
}

/** PostgreSQL error codes we translate into domain errors. */
export const PgErrorCode = {
  uniqueViolation: '23505',
  exclusionViolation: '23P01',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
} as const;

/**
 * Finds the PostgreSQL SQLSTATE in an error thrown by Prisma through the driver adapter
 * (`meta.driverAdapterError.cause.originalCode`) or by `pg` directly (`code`). Prisma's own codes
 * (`P2002`, …) are not SQLSTATEs and are ignored here.
 */
export function pgErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; clientVersion?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  const fromAdapter = e?.meta?.driverAdapterError?.cause?.originalCode;
  if (typeof fromAdapter === 'string') return fromAdapter;
  if (e && e.clientVersion === undefined && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  return undefined;
}
