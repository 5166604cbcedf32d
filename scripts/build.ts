/**
 * `npm run build`: compiles the six services to dist/services/<name>.mjs (scripts/lib/build.ts). The
 * Docker image runs these files; `npm start`, the tests and the benchmark build them on every start.
 */
import { BUILD_DIR, buildServices, SERVICE_ENTRIES } from './lib/build.js';

const started = Date.now();
await buildServices();
process.stdout.write(`Built ${Object.keys(SERVICE_ENTRIES).join(', ')} into ${BUILD_DIR}/ in ${Date.now() - started} ms\n`);
