/**
 * The offline migration runner against the real local PostgreSQL, in a database of its own so it never
 * disturbs the schema other tests use.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate, resetDatabase, rollback } from '../../lib/src/migrate.js';
import { scratchDatabase } from './scratch-database.js';

const INIT = '20261123000000_init';
const IDENTITY = '20261123010000_identity';
const PMS_SYNC_QUEUE = '20261123173000_pms_sync_queue';
const AUDIT_CHAIN = '20261123200000_audit_hash_chain';
const IDENTITY_OUTBOX = '20261123210000_identity_outbox';
const PMS_CONNECTORS = '20261204101000_pms_connectors';
/** Every migration folder, in order: a new migration joins the list by itself. */
const ALL = readdirSync(join(dirname(fileURLToPath(import.meta.url)), '../../prisma/migrations'))
  .filter((name) => /^\d{14}_/.test(name))
  .sort();
// The ones this file relies on by name are among them.
for (const name of [INIT, IDENTITY, PMS_SYNC_QUEUE, AUDIT_CHAIN, IDENTITY_OUTBOX, PMS_CONNECTORS]) if (!ALL.includes(name)) throw new Error(`migration ${name} is missing`);
const initSql = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../../prisma/migrations', INIT, 'migration.sql'),
  'utf8',
);

const scratch = scratchDatabase('innkeep_migrations_test');
const testUrl = scratch.url;

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values?: unknown[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = () =>
  sql<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
    testUrl,
    'SELECT migration_name, checksum, finished_at, applied_steps_count FROM public._prisma_migrations',
  );
const appSchemas = async () =>
  (
    await sql<{ nspname: string }>(
      testUrl,
      `SELECT nspname FROM pg_namespace WHERE nspname IN ('hotel', 'booking', 'pms', 'audit', 'identity') ORDER BY nspname`,
    )
  ).map((r) => r.nspname);

beforeAll(async () => {
  await scratch.create();
});

afterAll(async () => {
  await scratch.drop();
});

describe('migrate', () => {
  beforeEach(() => resetDatabase(testUrl));

  it('applies the init migration and records it the way Prisma does', async () => {
    const logged: unknown[] = [];
    await expect(migrate(testUrl, { logger: { info: (obj) => logged.push(obj) } })).resolves.toEqual({ applied: ALL });
    expect(logged).toContainEqual({ migration: INIT });

    const rows = (await migrationRows()).sort((a, b) => a.migration_name.localeCompare(b.migration_name));
    expect(rows).toHaveLength(ALL.length);
    expect(rows[0]).toMatchObject({
      migration_name: INIT,
      checksum: createHash('sha256').update(initSql).digest('hex'),
      applied_steps_count: 1,
    });
    expect(rows[0].finished_at).toBeInstanceOf(Date);
    expect(await appSchemas()).toEqual(['audit', 'booking', 'hotel', 'identity', 'pms']);

    // The migration really ran: its append-only trigger guards audit.events.
    await sql(testUrl, `INSERT INTO audit.events (id, occurred_at, actor, action, resource_type, resource_id)
                        VALUES (gen_random_uuid(), now(), 'test', 'x', 'y', 'z')`);
    await expect(sql(testUrl, 'DELETE FROM audit.events')).rejects.toThrow(/append-only/);
  });

  it('applies nothing the second time', async () => {
    await migrate(testUrl);
    await expect(migrate(testUrl)).resolves.toEqual({ applied: [] });
    expect(await migrationRows()).toHaveLength(ALL.length);
  });

  it('is safe when two processes migrate a fresh database at once', async () => {
    const results = await Promise.all([migrate(testUrl), migrate(testUrl)]);
    expect(results.map((r) => r.applied).flat()).toEqual(ALL);
    expect(await migrationRows()).toHaveLength(ALL.length);
  });

  it('rolls back with down.sql and re-applies', async () => {
    await migrate(testUrl);
    const syncQueueTable = async () => (await sql(testUrl, `SELECT to_regclass('pms.sync_jobs') AS t`))[0]!.t;
    expect(await syncQueueTable()).toBe('pms.sync_jobs');
    const chainColumn = async () => (await sql(testUrl, `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'audit' AND table_name = 'events' AND column_name = 'hash'`))[0]!.n;
    expect(await chainColumn()).toBe(1);
    // The newest first, one at a time; the PMS connectors' down.sql is checked on the way.
    const credentialsColumn = async () => (await sql(testUrl, `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'pms' AND table_name = 'connections' AND column_name = 'credentials_ciphertext'`))[0]!.n;
    for (const name of ALL.slice(ALL.indexOf(IDENTITY_OUTBOX) + 1).reverse()) {
      if (name === PMS_CONNECTORS) {
        expect(await credentialsColumn()).toBe(1);
        await sql(testUrl, `INSERT INTO pms.connections (id, hotel_id, vendor, property_code, updated_at) VALUES (gen_random_uuid(), gen_random_uuid(), 'mews', 'M1', now())`);
      }
      await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [name] });
      if (name === PMS_CONNECTORS) {
        expect(await credentialsColumn()).toBe(0);
        expect(await sql(testUrl, `SELECT vendor FROM pms.connections WHERE property_code = 'M1'`)).toEqual([{ vendor: 'fakepms' }]);
        await sql(testUrl, `DELETE FROM pms.connections WHERE property_code = 'M1'`);
      }
    }
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [IDENTITY_OUTBOX] });
    expect((await sql(testUrl, `SELECT to_regclass('identity.outbox') AS t`))[0]!.t).toBeNull();
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [AUDIT_CHAIN] });
    expect(await chainColumn()).toBe(0);
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [PMS_SYNC_QUEUE] });
    expect(await syncQueueTable()).toBeNull();
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [IDENTITY] });
    expect(await appSchemas()).toEqual(['audit', 'booking', 'hotel', 'pms']);
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [INIT] });
    expect(await appSchemas()).toEqual([]);
    expect(await migrationRows()).toHaveLength(0);

    await expect(migrate(testUrl)).resolves.toEqual({ applied: ALL });
    expect(await appSchemas()).toEqual(['audit', 'booking', 'hotel', 'identity', 'pms']);
    await expect(rollback(testUrl, ALL.length)).resolves.toEqual({ rolledBack: [...ALL].reverse() });
    await expect(rollback(testUrl)).resolves.toEqual({ rolledBack: [] });
  });

  it('refuses to migrate when an applied migration was modified', async () => {
    await migrate(testUrl);
    await sql(testUrl, `UPDATE public._prisma_migrations SET checksum = $1 WHERE migration_name = $2`, [
      '0'.repeat(64),
      INIT,
    ]);
    await expect(migrate(testUrl)).rejects.toThrow(/modified after it was applied/);
  });

  it('runs each migration in a transaction: a failing one leaves no trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'innkeep-migrations-'));
    const write = (name: string, body: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), body);
    };
    write('20990101000000_first', 'CREATE SCHEMA hotel; CREATE TABLE hotel.t1 (id int);');
    write('20990102000000_broken', 'CREATE TABLE hotel.t2 (id int); SELECT 1 / 0;');
    try {
      await expect(migrate(testUrl, { migrationsDir: dir })).rejects.toThrow(/division by zero/);
      expect((await migrationRows()).map((r) => r.migration_name)).toEqual(['20990101000000_first']);
      expect(await sql(testUrl, `SELECT to_regclass('hotel.t2') AS t2`)).toEqual([{ t2: null }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
