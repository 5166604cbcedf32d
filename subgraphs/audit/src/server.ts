import { auditExportRoute } from './export.js';
import { z, ZodError } from 'zod';
import { ChainMonitor } from './chains.js';
import { AUDIT_WRITE_SCOPE } from '../../../lib/src/audit-client.js';
import { requireServiceScope } from '../../../lib/src/authz.js';
import { serviceDatabase } from '../../../lib/src/db.js';
import { createLogger } from '../../../lib/src/logger.js';
import { loadSubgraphConfig } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { permissions } from './permissions.js';
import { resolvers, type AuditContext } from './resolvers.js';
import { AuditTrail, auditEventInput, createAuditLoaders } from './trail.js';
import { AuditStreamConsumer } from '../../../lib/src/audit-stream.js';
import { auditEventOf } from '../../../lib/src/audit-outbox.js';
import { createEventBus, PLATFORM_SCOPE, topic } from '../../../lib/src/events.js';
import { createMetrics } from '../../../lib/src/metrics.js';
import { projectPath } from '../../../lib/src/project-root.js';

export const loadAuditConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadSubgraphConfig(
    'audit',
    {
      /** How often every hash chain is re-verified in the background (seconds; 0 = never): innkeep_audit_chains_invalid. */
      AUDIT_VERIFY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(604_800).default(900),
    },
    env,
  );
export type AuditConfig = ReturnType<typeof loadAuditConfig>;

export async function start(config: AuditConfig): Promise<RunningService> {
  const logger = createLogger('audit', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'audit', logger);
  const metrics = createMetrics('audit');
  const events = createEventBus(config, { service: 'audit', logger, metrics });
  // After they are stored: each event on its hotel's topic, and every event on the platform topic
  // (the feed without a hotel filter; AUDITORs there are filtered per event).
  const trail = new AuditTrail(db.prisma, {
    onAppended: (stored) => {
      for (const event of stored) {
        if (event.hotelId) void events.publish(topic('audit', event.hotelId), event);
        void events.publish(topic('audit', PLATFORM_SCOPE), event);
      }
    },
  });
  // Producers' relays append to the audit stream (lib/src/audit-stream.ts); without Redis (development)
  // they post to /internal/audit-events below instead.
  const consumer = config.REDIS_URL
    ? new AuditStreamConsumer({
        url: config.REDIS_URL,
        key: config.AUDIT_STREAM_KEY,
        secret: config.INTERNAL_TOKEN_SECRET,
        sink: { append: (events) => trail.append({ events }) },
        parse: (event) => auditEventInput.parse(event),
        logger,
        metrics,
        connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
      })
    : undefined;
  consumer?.start();
  const chains = new ChainMonitor({ pool: db.pool, intervalMs: config.AUDIT_VERIFY_INTERVAL_SECONDS * 1000, logger, metrics });
  chains.start();
  const service = await startSubgraph<AuditContext>(
    {
      name: 'audit',
      schemaFile: projectPath('subgraphs/audit/schema.graphql'),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, trail, events, loaders: createAuditLoaders(db.prisma) }),
    },
    {
      config,
      logger,
      db,
      metrics,
      events,
      // The audit subgraph's own events (denials, reloads) go straight into its trail: it has no outbox.
      audit: { record: (fact) => trail.append({ events: [auditEventOf(fact)] }) },
      routes(app) {
        // The streamed export (JSON lines / CSV) for auditors, behind the internal token like everything else.
        app.get('/internal/audit-export', auditExportRoute(db.prisma));
        // Producers' outbox relays deliver here (not part of the public GraphQL API): behind the internal
        // token check like everything else, and only for service principals with audit:write.
        app.post('/internal/audit-events', requireServiceScope(AUDIT_WRITE_SCOPE, 'audit'), async (req, res) => {
          try {
            const result = await trail.append(req.body);
            req.log.debug(result, 'audit events ingested');
            res.json(result);
          } catch (error) {
            if (error instanceof ZodError) {
              res.status(400).json({ error: { code: 'BAD_USER_INPUT', issues: error.issues.slice(0, 10) } });
              return;
            }
            req.log.error({ err: error }, 'audit ingestion failed');
            res.status(503).json({ error: { code: 'SERVICE_UNAVAILABLE' } });
          }
        });
      },
    },
  );
  return {
    ...service,
    stop: async () => {
      await consumer?.stop();
      await chains.stop();
      await service.stop();
    },
  };
}
