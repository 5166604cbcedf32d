import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client.js';

export { PrismaClient };
export type * from '../../generated/prisma/client.js';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  acquireTimeoutMs: number;
  /** Shown in pg_stat_activity, so an operator can tell which service holds a connection. */
  applicationName: string;
}

export interface Database {
  prisma: PrismaClient;
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
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

/** PostgreSQL error codes we translate into domain errors. */
export const PgErrorCode = {
  uniqueViolation: '23505',
  exclusionViolation: '23P01',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
} as const;

/** Finds the PostgreSQL SQLSTATE in an error thrown by Prisma (driver adapter) or by pg directly. */
export function pgErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as Record<string, unknown>;
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    const meta = e.meta as Record<string, unknown> | undefined;
    const driverError = meta?.driverAdapterError as Record<string, unknown> | undefined;
    const cause = driverError?.cause as Record<string, unknown> | undefined;
    if (typeof cause?.originalCode === 'string') return cause.originalCode;
    if (typeof cause?.code === 'string' && /^[0-9A-Z]{5}$/.test(cause.code)) return cause.code;
    current = e.cause ?? driverError;
  }
  return undefined;
}
