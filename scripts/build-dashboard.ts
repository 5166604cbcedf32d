/**
 * Builds the operations dashboard (dashboard/ → dashboard/dist, served by the gateway at /dashboard).
 * Runs as part of `postinstall`, so a fresh `npm install` — and with it `npm start`, the tests and
 * `.ci/run` — always has a dashboard that matches the sources; `npm run build:dashboard` does the same.
 *
 * Skips (loudly, exit 0) where it cannot build, rather than failing the whole install:
 * - without the dev dependencies (`npm install --omit=dev`): Vite is a dev dependency;
 * - without the dashboard sources: the Dockerfile's dependency layer installs from package.json alone
 *   and builds the dashboard in a later step, once the sources are copied in.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const viteCli = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const config = join(root, 'dashboard', 'vite.config.ts');

if (!existsSync(config) || !existsSync(join(root, 'dashboard', 'index.html'))) {
  console.warn('[build-dashboard] dashboard sources not present: skipping (the Dockerfile builds it after copying them).');
  process.exit(0);
}
if (!existsSync(viteCli)) {
  console.warn('[build-dashboard] vite not installed (dev dependencies omitted?): skipping; /dashboard answers 503 until ' +
    'dashboard/dist is built (`npm run build:dashboard`) or copied from a build stage.');
  process.exit(0);
}

// Node on Vite's JS entry (what node_modules/.bin/vite links to): no shell, same on every platform.
const child = spawn(process.execPath, [viteCli, 'build', '--config', config], { cwd: root, stdio: 'inherit' });
child.on('error', (err) => {
  console.error(`[build-dashboard] could not start vite: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) console.error(`[build-dashboard] vite build killed by ${signal}`);
  if (code === 0) console.log('[build-dashboard] built dashboard/dist (served at /dashboard)');
  process.exit(code ?? 1);
});
