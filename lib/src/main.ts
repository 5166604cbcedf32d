import { parseConfig } from './config.js';
import { alertConfigShape, configureAlerts, notifyCritical } from './alerts.js';
import { createLogger } from './logger.js';
import { startTracing, tracingConfigShape } from './tracing.js';
import type { RunningService } from './subgraph.js';

/**
 * Entry point helper for every process: start, log where it listens, stop cleanly on SIGINT/SIGTERM,
 * and exit 1 with a readable message when start-up fails (bad config, port taken, DB down).
 */
export function runMain(service: string, start: () => Promise<RunningService>): void {
  const fallbackLogger = createLogger(service, process.env.LOG_LEVEL ?? 'info');
  // Before anything else, so the first request is traced (TRACING_EXPORTER=none: nothing happens).
  let tracing: { shutdown(): Promise<void> } = { shutdown: async () => undefined };
  const starting = Promise.resolve()
    .then(async () => {
      tracing = await startTracing(service, parseConfig(service, tracingConfigShape));
      configureAlerts(service, parseConfig(service, alertConfigShape), fallbackLogger);
    })
    .then(start);
  starting.then(
    (running) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        fallbackLogger.info({ signal }, `${service} stopping`);
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        running
          .stop()
          .then(() => tracing.shutdown())
          .then(
            () => process.exit(0),
            (error) => {
              fallbackLogger.error({ err: error }, `${service} did not stop cleanly`);
              process.exit(1);
            },
          );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
    (error: unknown) => {
      fallbackLogger.fatal({ err: error }, `${service} failed to start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
  process.on('unhandledRejection', (reason) => {
    fallbackLogger.error({ err: reason }, 'unhandled promise rejection (request kept the process alive)');
    notifyCritical({ kind: 'unhandled_rejection', summary: 'Unhandled promise rejection (the process stays up; see its logs)', code: reason instanceof Error ? reason.name : typeof reason });
  });
}
