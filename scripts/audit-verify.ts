/**
 * `npm run audit:verify [-- <hotelId | platform> …]` — re-verifies the audit trail's hash chains in the
 * database at DATABASE_URL (the same SQL `auditIntegrity` runs: audit.verify_chain). Without arguments,
 * every chain. Prints one line per chain; exits 1 when any chain does not verify, 2 on usage errors — so
 * it can run from cron or a Kubernetes CronJob and page someone (docs/operations.md runbook).
 */
import pg from 'pg';
import { verifyChains, type ChainVerdict } from '../subgraphs/audit/src/chains.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every chain (or `only`) of the database at `url`: see subgraphs/audit/src/chains.ts. */
export async function verifyChainsAt(url: string, only: string[] = []): Promise<ChainVerdict[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'innkeep-audit-verify' });
  await client.connect();
  try {
    return await verifyChains(client, only);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set, e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/innkeep npm run audit:verify');
    process.exit(2);
  }
  const only = process.argv.slice(2);
  const bad = only.filter((c) => c !== 'platform' && !UUID.test(c));
  if (bad.length) {
    console.error(`not a chain: ${bad.join(', ')} (a hotel ID, or "platform")`);
    process.exit(2);
  }
  const verdicts = await verifyChainsAt(url, only);
  let invalid = 0;
  for (const v of verdicts) {
    if (v.firstInvalidSequence === null) console.log(`ok       ${v.chain}  ${v.checkedCount} events`);
    else {
      invalid += 1;
      console.log(`INVALID  ${v.chain}  first invalid event: sequence ${v.firstInvalidSequence} (${v.checkedCount} events checked)`);
    }
  }
  console.log(verdicts.length ? `${verdicts.length - invalid} of ${verdicts.length} chain(s) verify.` : 'No audit events yet.');
  process.exit(invalid ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  });
}
