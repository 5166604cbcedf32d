/**
 * `BENCH_GATEWAY_WORKERS=N npm run bench` (N ≥ 2): the Innkeep gateway as N `node:cluster` workers behind
 * its one port, to measure whether several gateway processes pay on this machine (docs/performance.md
 * "One process per gateway, not a cluster"). Benchmark-only: the product runs one gateway process per
 * container and scales with replicas (docs/deployment.md "Replicas").
 *
 * The primary only accepts connections and hands them to the workers (Node's round-robin scheduling);
 * each worker is the built gateway (`dist/services/gateway.mjs`), unchanged, with its own caches,
 * breakers and Redis connections, as separate replicas would have. SIGINT / SIGTERM to the primary stop
 * every worker, and the primary exits when the last one has.
 */
import cluster from 'node:cluster';

const workers = Number(process.env.GATEWAY_WORKERS ?? 2);
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      console.error(`gateway worker ${worker.process.pid} exited (${code}); stopping the cluster`);
      stop('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1);
  });
} else {
  // Built beside this file (dist/services/), so the path is relative to it, not to the source tree.
  await import(new URL('./gateway.mjs', import.meta.url).href);
}
