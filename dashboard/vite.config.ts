import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The operations dashboard, served by the gateway at /dashboard (gateway/src/dashboard). Built with
 * `npm run build:dashboard` (also by `npm install`'s postinstall and the Dockerfile) into dashboard/dist.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/dashboard/',
  // No CDN, no external fonts, nothing inline: the gateway's CSP for /dashboard allows only 'self'.
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The module-preload polyfill would be an inline script in older setups; modern browsers need none.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  clearScreen: false,
  logLevel: 'warn',
});
