/**
 * `npm run db:migrate [-- up|down [steps]|status]` — applies prisma/migrations to DATABASE_URL without
 * Prisma's native engine (see lib/src/migrate.ts). Default command: up.
 */
import { migrate, migrationStatus, rollback } from '../lib/src/migrate.js';

const USAGE = 'usage: tsx scripts/migrate.ts [up | down [steps] | status]';

/** Never print a password: the URL ends up in CI logs. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function main(): Promise<void> {
  const [command = 'up', arg] = process.argv.slice(2);
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set. Set it, e.g.\n' +
      '  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/innkeep npm run db:migrate\n' +
      'or use `npm start`, which starts an embedded PostgreSQL and migrates it for you.');
    process.exit(2);
  }
  console.log(`${command}: ${redact(url)}`);

  switch (command) {
    case 'up': {
      const { applied } = await migrate(url);
      console.log(applied.length ? `Applied ${applied.length}:\n  ${applied.join('\n  ')}` : 'Nothing to apply: schema is up to date.');
      break;
    }
    case 'down': {
      const steps = arg === undefined ? 1 : Number(arg);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${arg}\n${USAGE}`);
      const { rolledBack } = await rollback(url, steps);
      console.log(rolledBack.length ? `Rolled back ${rolledBack.length}:\n  ${rolledBack.join('\n  ')}` : 'Nothing to roll back.');
      break;
    }
    case 'status': {
      const { applied, pending } = await migrationStatus(url);
      console.log(`Applied (${applied.length}):${applied.map((n) => `\n  ${n}`).join('')}`);
      console.log(`Pending (${pending.length}):${pending.map((n) => `\n  ${n}`).join('')}`);
      break;
    }
    default:
      throw new Error(`unknown command "${command}"\n${USAGE}`);
  }
}

main().catch((err: unknown) => {
  // A refused connection to "localhost" is an AggregateError (IPv6 + IPv4) with an empty message.
  const e = (err instanceof AggregateError && err.errors[0] ? err.errors[0] : err) as { message?: string; code?: string };
  console.error(`Migration failed: ${e.message || String(err)}${e.code ? ` (${e.code})` : ''}`);
  process.exit(1);
});
