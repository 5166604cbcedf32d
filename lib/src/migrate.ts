/**
 * Applies prisma/migrations without Prisma's native schema engine (it cannot be downloaded here).
 *
 * Compatibility contract with Prisma Migrate: same folder layout, same `_prisma_migrations` table and
 * columns, same checksum (sha256 hex of migration.sql) and the same advisory lock key. A native
 * `prisma migrate deploy`, wherever the engine exists, therefore sees nothing pending, and it and this
 * runner never migrate one database at the same time.
 *
 * Differences from Prisma, on purpose: each migration runs in one transaction together with its
 * `_prisma_migrations` row (a failure leaves neither behind, so there is no "failed migration" state to
 * resolve by hand), and an optional `down.sql` beside migration.sql allows rollback.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Umzug, type UmzugStorage } from 'umzug';
import { projectPath } from './project-root.js';

export interface MigrationLogger {
  info(obj: object, msg?: string): void;
}

export interface MigrateOptions {
  logger?: MigrationLogger;
  /** Defaults to <repo>/prisma/migrations. */
  migrationsDir?: string;
}

/** Prisma Migrate's own key: holding it also keeps a concurrent `prisma migrate deploy` out. */
const ADVISORY_LOCK_KEY = 72707369;
/** Waiting longer than this for another migrator means something is stuck: fail rather than hang. */
const LOCK_TIMEOUT = '120s';
const DEFAULT_MIGRATIONS_DIR = projectPath('prisma/migrations');
const APP_SCHEMAS = ['hotel', 'booking', 'pms', 'audit', 'identity'];

// Prisma's DDL for its bookkeeping table (it lives in the connection's schema, `public` by default).
const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

interface MigrationFile {
  name: string;
  dir: string;
  sql: string;
  checksum: string;
  downSql?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Like Prisma: a checkout with CRLF line endings (git on Windows) still matches. */
function checksumMatches(sql: string, checksum: string): boolean {
  return [sql, sql.replaceAll('\r\n', '\n'), sql.replaceAll('\n', '\r\n')].some((s) => sha256(s) === checksum);
}

/** prisma/migrations/<timestamp>_<name>/migration.sql, in name order (the timestamp prefix sorts them). */
function loadMigrations(migrationsDir = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(migrationsDir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(migrationsDir, name);
      const sql = readFileSync(join(dir, 'migration.sql'), 'utf8');
      const downPath = join(dir, 'down.sql');
      const downSql = existsSync(downPath) ? readFileSync(downPath, 'utf8') : undefined;
      return { name, dir, sql, checksum: sha256(sql), downSql };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/** Applied = finished and not rolled back: exactly what Prisma counts as applied. */
async function appliedRows(client: pg.Client): Promise<AppliedRow[]> {
  const { rows } = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"
      WHERE rolled_back_at IS NULL ORDER BY started_at, migration_name`,
  );
  return rows;
}

/**
 * Umzug storage over `_prisma_migrations`. Only `executed` reads here: the row is written (and deleted)
 * by the migration itself, inside the migration's own transaction, so the schema change and its record
 * commit or roll back together. Umzug would otherwise write the row after the migration, in a separate
 * step that a crash could skip.
 */
class PrismaMigrationsStorage implements UmzugStorage<pg.Client> {
  async executed({ context }: { context: pg.Client }): Promise<string[]> {
    return (await appliedRows(context)).map((r) => r.migration_name);
  }
  async logMigration(): Promise<void> {}
  async unlogMigration(): Promise<void> {}
}

async function inTransaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function buildUmzug(client: pg.Client, files: MigrationFile[], logger?: MigrationLogger) {
  return new Umzug<pg.Client>({
    context: client,
    storage: new PrismaMigrationsStorage(),
    logger: undefined, // we log ourselves, through the caller's logger
    migrations: files.map((m) => ({
      name: m.name,
      path: join(m.dir, 'migration.sql'),
      up: async ({ context: db }) => {
        await inTransaction(db, async () => {
          await db.query(m.sql); // simple protocol: a multi-statement script, $$ bodies included
          // started_at defaults to now() = transaction start; finished_at is the real end time.
          // applied_steps_count 1: Prisma counts a PostgreSQL migration script as one step.
          await db.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
             VALUES ($1, $2, $3, clock_timestamp(), 1)`,
            [randomUUID(), m.checksum, m.name],
          );
        });
        logger?.info({ migration: m.name }, 'migration applied'); // after COMMIT: only what really landed
      },
      down: async ({ context: db }) => {
        if (m.downSql === undefined) throw new Error(`migration ${m.name} has no down.sql: cannot roll it back`);
        const downSql = m.downSql;
        await inTransaction(db, async () => {
          await db.query(downSql);
          await db.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [m.name]);
        });
        logger?.info({ migration: m.name }, 'migration rolled back');
      },
    })),
  });
}

function connectClient(databaseUrl: string): pg.Client {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'innkeep-migrate' });
  // A dropped connection also rejects the pending query; without a listener the 'error' event would
  // crash the whole process instead.
  client.on('error', () => undefined);
  return client;
}

/**
 * Opens one connection, holds the advisory lock on it for the whole run (session-level: do not point this
 * at a transaction-mode PgBouncer), makes sure the bookkeeping table exists, runs `work`, unlocks.
 */
async function withLockedClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = connectClient(databaseUrl);
  await client.connect();
  try {
    await client.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY]).catch((err: { code?: string }) => {
      if (err.code !== '55P03') throw err; // 55P03 = lock_not_available
      throw new Error(`another migration has held the migration lock (pg_advisory_lock ${ADVISORY_LOCK_KEY}) ` +
        `for over ${LOCK_TIMEOUT}; is a migrator stuck? see pg_locks`);
    });
    await client.query('RESET lock_timeout'); // migrations themselves choose their own lock timeouts
    try {
      // Under the lock: two first-time migrators would otherwise race on CREATE TABLE IF NOT EXISTS.
      await client.query(CREATE_MIGRATIONS_TABLE);
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/** Refuses to build on a history that is not the one in the repository. */
function verifyApplied(rows: AppliedRow[], files: MigrationFile[], logger?: MigrationLogger): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const row of rows) {
    const file = byName.get(row.migration_name);
    if (row.finished_at === null) {
      // Only a native Prisma run leaves these (ours are transactional); Prisma refuses too (P3009).
      problems.push(`${row.migration_name} started but never finished (failed migration); resolve it, ` +
        `e.g. fix the database and mark it rolled back or applied`);
    } else if (!file) {
      // An older build against a newer database (e.g. during a rollback of the app): not fatal.
      logger?.info({ migration: row.migration_name }, 'applied migration not found in migrations directory');
    } else if (!checksumMatches(file.sql, row.checksum)) {
      problems.push(`${row.migration_name}: migration.sql was modified after it was applied ` +
        `(checksum in database ${row.checksum}, file ${file.checksum}); add a new migration instead`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`Refusing to migrate:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Applies every pending migration, in order. Safe to run from several processes at once. */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const files = loadMigrations(options.migrationsDir);
  return withLockedClient(databaseUrl, async (client) => {
    verifyApplied(await appliedRows(client), files, options.logger);
    const applied = await buildUmzug(client, files, options.logger).up();
    options.logger?.info({ applied: applied.map((m) => m.name) }, applied.length ? 'migrations applied' : 'schema up to date');
    return { applied: applied.map((m) => m.name) };
  });
}

/** Runs down.sql of the last `steps` applied migrations, newest first, and deletes their rows. */
export async function rollback(
  databaseUrl: string,
  steps = 1,
  options: MigrateOptions = {},
): Promise<{ rolledBack: string[] }> {
  const files = loadMigrations(options.migrationsDir);
  const byName = new Map(files.map((f) => [f.name, f]));
  return withLockedClient(databaseUrl, async (client) => {
    // Check every target before touching anything, and pick them from the database's own history: umzug
    // only knows the files, so it would skip an applied migration this checkout lacks and undo an older one.
    const rows = await appliedRows(client);
    verifyApplied(rows, files, options.logger); // down.sql was written for the files as they are
    const targets = rows.map((r) => r.migration_name).reverse().slice(0, steps);
    const blocked = targets.filter((name) => byName.get(name)?.downSql === undefined);
    if (blocked.length > 0) {
      throw new Error(`Refusing to roll back: no down.sql for ${blocked.join(', ')}`);
    }
    const done = await buildUmzug(client, files, options.logger).down({ migrations: targets });
    return { rolledBack: done.map((m) => m.name) };
  });
}

/** Applied and pending migration names, for `scripts/migrate.ts status`. */
export async function migrationStatus(
  databaseUrl: string,
  options: Pick<MigrateOptions, 'migrationsDir'> = {},
): Promise<{ applied: string[]; pending: string[] }> {
  const files = loadMigrations(options.migrationsDir);
  return withLockedClient(databaseUrl, async (client) => {
    const applied = new Set((await appliedRows(client)).map((r) => r.migration_name));
    return { applied: [...applied], pending: files.map((f) => f.name).filter((n) => !applied.has(n)) };
  });
}

/** Drops everything the migrations created, and their records. For tests and local resets only. */
export async function resetDatabase(databaseUrl: string): Promise<void> {
  const client = connectClient(databaseUrl);
  await client.connect();
  try {
    await client.query(
      APP_SCHEMAS.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join('\n') +
        '\nDROP TABLE IF EXISTS public."_prisma_migrations";',
    );
  } finally {
    await client.end();
  }
}
