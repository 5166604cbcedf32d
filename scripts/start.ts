/**
 * `npm start`: the whole federation on one machine, on embedded defaults.
 *  - DATABASE_URL unset → an embedded PostgreSQL (real binaries from npm) with its data under .data/;
 *  - REDIS_URL unset → in-memory stand-ins (nothing in the request path needs Redis yet);
 *  - migrations, demo data (development), the fake PMS vendor, four subgraphs and the gateway on :4000.
 * Ctrl-C stops every process; a second start reuses the data.
 */
import path from 'node:path';
import { createDatabase } from '../lib/src/db.js';
import { startEmbeddedPostgres } from '../lib/src/embedded-db.js';
import { migrate } from '../lib/src/migrate.js';
import { DEFAULT_PORTS } from '../lib/src/service-config.js';
import { seedDemoData } from './lib/seed.js';
import { startStack, type ServiceName } from './lib/stack.js';

const say = (message: string) => process.stdout.write(`${message}\n`);
const env = process.env;
const started = Date.now();

let embedded: { url: string; stop(): Promise<void> } | undefined;
let databaseUrl = env.DATABASE_URL;
if (!databaseUrl) {
  say('DATABASE_URL is not set: starting an embedded PostgreSQL (data in .data/postgres)…');
  embedded = await startEmbeddedPostgres({
    dataDir: path.resolve(env.EMBEDDED_PG_DIR ?? '.data/postgres'),
    port: Number(env.EMBEDDED_PG_PORT ?? 54329),
    database: 'innkeep',
  });
  databaseUrl = embedded.url;
}

const { applied } = await migrate(databaseUrl);
say(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date.');

if (env.NODE_ENV !== 'production' && env.SEED_DEMO_DATA !== 'false') {
  const db = createDatabase({ url: databaseUrl, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-seed' });
  const { seeded } = await seedDemoData(db.prisma);
  await db.close();
  say(seeded.length ? `Loaded demo data: ${seeded.join(', ')}` : 'Demo data already present.');
}
if (!env.REDIS_URL) say('REDIS_URL is not set: using in-memory stand-ins (single machine only).');

const json = env.LOG_FORMAT === 'json';
const stack = await startStack({
  env: { ...env, DATABASE_URL: databaseUrl, LOG_LEVEL: env.LOG_LEVEL ?? 'info' },
  onLine: (service: ServiceName, line: string) => process.stdout.write(`${json ? line : compact(service, line)}\n`),
}).catch(async (error: unknown) => {
  process.stderr.write(`\nStart-up failed: ${(error as Error).message}\n`);
  await embedded?.stop();
  process.exit(1);
});

const gateway = `http://localhost:${env.GATEWAY_PORT ?? DEFAULT_PORTS.gateway}`;
const password = env.DEMO_PASSWORD ?? 'innkeep-demo';
const demoUsers = env.NODE_ENV !== 'production' && env.SEED_DEMO_DATA !== 'false';
const loginHelp = demoUsers
  ? `Log in (development demo users; password ${password}):
  admin@innkeep.test (PLATFORM_ADMIN) · manager@grand-harbor.test (HOTEL_MANAGER) · frontdesk@grand-harbor.test (FRONT_DESK)
  auditor@grand-harbor.test (AUDITOR) · manager@alpine-lodge.test (HOTEL_MANAGER) · frontdesk@alpine-lodge.test (FRONT_DESK)
  guest@innkeep.test (GUEST)

  curl -s ${gateway}/auth/login -H 'content-type: application/json' \\
       -d '{"email":"admin@innkeep.test","password":"${password}"}'
  → copy accessToken; in Apollo Sandbox open Headers and add  Authorization: Bearer <accessToken>
  Public data needs no login:  { hotels { name rooms { number roomType { name } } } }`
  : 'Log in with POST /auth/login (see docs/security.md).';
say(`
Innkeep is up in ${((Date.now() - started) / 1000).toFixed(1)} s.

  GraphQL API        ${gateway}/graphql
  Apollo Sandbox     open ${gateway}/graphql in a browser (development only)
  Health             ${gateway}/health/ready
  Subgraphs          hotel ${stack.urls.hotel} · booking ${stack.urls.booking} · pms ${stack.urls.pms} · audit ${stack.urls.audit}
  Fake PMS vendor    ${stack.urls.vendor}

${loginHelp}
Ctrl-C stops everything.
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  say('\nStopping…');
  await stack.stop();
  await embedded?.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

/** One readable line per pino record: time, service, level, message, correlation ID. */
function compact(service: string, line: string): string {
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    const extra = [r.correlationId && `cid=${String(r.correlationId)}`, r.method && `${String(r.method)} ${String(r.path)} ${String(r.status)} ${String(r.ms)}ms`, r.url && String(r.url), r.err && JSON.stringify(r.err)]
      .filter(Boolean)
      .join(' ');
    return `${String(r.time ?? '').slice(11, 23)} ${service.padEnd(7)} ${String(r.level ?? '').padEnd(5)} ${String(r.msg ?? '')} ${extra}`;
  } catch {
    return `${service.padEnd(7)} ${line}`;
  }
}
