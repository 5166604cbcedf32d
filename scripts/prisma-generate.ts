/**
 * `prisma generate`, offline. Runs as `postinstall` (so right after `npm ci` on a fresh clone or in the
 * Dockerfile) and as `npm run prisma:generate`.
 *
 * Every Prisma CLI command first tries to download the native schema engine, whose host is unreachable
 * here. `generate` never runs that engine: it only checks that PRISMA_SCHEMA_ENGINE_BINARY names an
 * existing file, so we point it at an empty placeholder. The client itself needs no native engine at run
 * time (driver adapter + bundled WASM query compiler).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolve from this file, not the cwd: npm, Docker WORKDIRs and IDEs all start us from different places.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prismaCli = join(root, 'node_modules', 'prisma', 'build', 'index.js');

if (!existsSync(prismaCli)) {
  // A production install (`npm ci --omit=dev`) has no Prisma CLI. Failing here would fail the whole
  // install, so skip loudly: such an image must copy generated/ from a build stage that ran the full install.
  console.warn('[prisma-generate] prisma CLI not installed (dev dependencies omitted?): skipping generate; ' +
    'generated/prisma must come from a build stage.');
  process.exit(0);
}

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  // An empty, non-executable file rather than e.g. the node binary: should some command ever try to run
  // it, it fails at once instead of doing something unexpected.
  const placeholder = join(root, 'node_modules', '.cache', 'innkeep', 'schema-engine-placeholder');
  if (!existsSync(placeholder)) {
    mkdirSync(dirname(placeholder), { recursive: true });
    writeFileSync(placeholder, '');
  }
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
// No update check / telemetry ping: offline it only adds a network timeout.
env.CHECKPOINT_DISABLE ??= '1';

// Spawn node on the CLI's JS entry (what node_modules/.bin/prisma links to): no shell, works on Windows too.
const child = spawn(process.execPath, [prismaCli, 'generate'], { cwd: root, env, stdio: 'inherit' });
child.on('error', (err) => {
  console.error(`[prisma-generate] could not start prisma: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) console.error(`[prisma-generate] prisma generate killed by ${signal}`);
  process.exit(code ?? 1);
});
