/**
 * `npm run compose`: composes supergraph.yaml into schema/supergraph.graphql.
 * `npm run compose -- --check`: exits 1 when the committed file is stale (CI and a test use it).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { composeSupergraph } from '../lib/src/composition.js';

const OUTPUT = 'schema/supergraph.graphql';
const outcome = composeSupergraph('supergraph.yaml');
if (!outcome.ok) {
  console.error(`Composition failed with ${outcome.errors.length} error(s):\n\n${outcome.errors.map((e) => `  • ${e}`).join('\n')}`);
  process.exit(1);
}
const current = existsSync(OUTPUT) ? readFileSync(OUTPUT, 'utf8') : '';
if (process.argv.includes('--check')) {
  if (current !== outcome.supergraphSdl) {
    console.error(`${OUTPUT} is stale: run \`npm run compose\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${OUTPUT} is current.`);
} else {
  writeFileSync(OUTPUT, outcome.supergraphSdl);
  console.log(`Composed ${OUTPUT}${outcome.hints.length ? ` (${outcome.hints.length} hint(s))` : ''}.`);
}
