import { z } from 'zod';
import { serviceDatabase } from '../../../lib/src/db.js';
import { EntityClient } from '../../../lib/src/entity-client.js';
import { createLogger } from '../../../lib/src/logger.js';
import { loadSubgraphConfig, subgraphUrl } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import { createMetrics } from '../../../lib/src/metrics.js';
import { envBool } from '../../../lib/src/config.js';
import { resilienceConfigShape } from '../../../lib/src/policies/config.js';
import { SyncQueue, SyncWorker } from './sync-queue.js';
import { VendorPolicies } from './vendor-policies.js';
import { permissions } from './permissions.js';
import { resolvers, type PmsContext } from './resolvers.js';
import { BOOKINGS_READ_SCOPE, createPmsLoaders, PmsSync } from './sync.js';
import { ConnectorRegistry } from './connectors/registry.js';
import { adapterSpecs, connectorConfigShape, refuseDevelopmentCredentialsKey } from './connectors/config.js';
import { CredentialsCipher } from './credentials.js';
import { PmsConnections } from './connections.js';
import { createEventBus, topic } from '../../../lib/src/events.js';
import { createServiceAuditOutbox } from '../../../lib/src/audit-stream.js';
import { ProductionConfigError } from '../../../lib/src/production-guard.js';
import { mountPmsWebhooks } from './webhooks.js';
import { WebhookBookings } from './webhook-bookings.js';
import { usesDevelopmentSecrets, webhookSecretsSchema } from './webhook-signature.js';
import { projectPath } from '../../../lib/src/project-root.js';

export const loadPmsConfig = (env: NodeJS.ProcessEnv = process.env) => refuseDevelopmentCredentialsKey(refuseDevelopmentWebhookSecrets(loadPmsConfigShape(env)));

const loadPmsConfigShape = (env: NodeJS.ProcessEnv) =>
  loadSubgraphConfig(
    'pms',
    {
      // Signed vendor webhooks (docs/pms-webhooks.md): secrets per vendor (newest first), window, body limit.
      PMS_WEBHOOK_SECRETS: webhookSecretsSchema,
      PMS_WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
      PMS_WEBHOOK_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/).default('256kb'),
      BOOKING_URL: z.url().default(subgraphUrl('booking', env)),
      AUDIT_URL: z.url().default(subgraphUrl('audit', env)),
      // Vendor adapters, their base URLs and the credentials key (connectors/config.ts, docs/pms.md).
      ...connectorConfigShape,
      PMS_VENDOR_TIMEOUT_MS: z.coerce.number().int().min(50).default(5000),
      PMS_STALE_AFTER_SECONDS: z.coerce.number().int().min(1).default(900),
      PEER_TIMEOUT_MS: z.coerce.number().int().min(50).default(3000),
      // Resilience (docs/resilience.md): switches, retry budget, and the vendor × hotel policy.
      ...resilienceConfigShape,
      /** Vendor failures in a row (per vendor × hotel) that open its circuit. */
      PMS_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(3),
      /** How long an open vendor circuit refuses calls before one probe is let through (ms). */
      PMS_BREAKER_HALF_OPEN_AFTER_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
      /** Attempts per vendor upsert, the first included (the upsert is idempotent by booking reference). */
      PMS_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
      /** Backoff cap before the first retry (ms); doubles per retry; full jitter. */
      PMS_RETRY_INITIAL_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(200),
      /** Largest backoff between two vendor attempts (ms). */
      PMS_RETRY_MAX_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
      /** Vendor calls in flight per vendor × hotel. */
      PMS_BULKHEAD_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(4),
      /** Vendor calls waiting for a slot per vendor × hotel; beyond it the sync is queued. */
      PMS_BULKHEAD_QUEUE: z.coerce.number().int().min(0).max(10_000).default(16),
      /** Queue a sync the vendor cannot take now (QUEUED + worker) and serve reads as stale; false = SERVICE_UNAVAILABLE. */
      FALLBACKS_ENABLED: envBool(true),
      /** How often the worker looks for due queued syncs (ms). */
      PMS_SYNC_QUEUE_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
      /** Delay before a queued sync's first retry (ms); doubles per failed attempt (equal jitter). */
      PMS_SYNC_RETRY_INITIAL_DELAY_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
      /** Largest delay between two attempts of a queued sync (ms). */
      PMS_SYNC_RETRY_MAX_DELAY_MS: z.coerce.number().int().min(50).max(86_400_000).default(300_000),
    },
    env,
  );
export type PmsConfig = ReturnType<typeof loadPmsConfig>;

/** The development webhook secrets are public (in this repository): production must bring its own. */
function refuseDevelopmentWebhookSecrets<C extends { production: boolean; PMS_WEBHOOK_SECRETS: Parameters<typeof usesDevelopmentSecrets>[0] }>(config: C): C {
  if (config.production && usesDevelopmentSecrets(config.PMS_WEBHOOK_SECRETS)) {
    throw new ProductionConfigError('pms', ['PMS_WEBHOOK_SECRETS contains a development default: set random secrets (32+ characters) per vendor, e.g. {"mews":["…"]}']);
  }
  return config;
}

export async function start(config: PmsConfig): Promise<RunningService> {
  const logger = createLogger('pms', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'pms', logger);
  const metrics = createMetrics('pms');
  const events = createEventBus(config, { service: 'pms', logger, metrics });
  // PMS connection changes, syncs and webhook refusals: pms.outbox → the audit stream.
  const audit = createServiceAuditOutbox({ config, producer: 'pms', table: 'pms.outbox', pool: db.pool, auditUrl: config.AUDIT_URL, logger, metrics });
  const policies = new VendorPolicies(
    {
      timeoutMs: config.PMS_VENDOR_TIMEOUT_MS,
      breakerThreshold: config.PMS_BREAKER_THRESHOLD,
      halfOpenAfterMs: config.PMS_BREAKER_HALF_OPEN_AFTER_MS,
      retryMaxAttempts: config.PMS_RETRY_MAX_ATTEMPTS,
      retryInitialDelayMs: config.PMS_RETRY_INITIAL_DELAY_MS,
      retryMaxDelayMs: config.PMS_RETRY_MAX_DELAY_MS,
      bulkheadConcurrency: config.PMS_BULKHEAD_CONCURRENCY,
      bulkheadQueue: config.PMS_BULKHEAD_QUEUE,
    },
    config,
    { logger, metrics },
  );
  const queue = new SyncQueue(db.prisma, { initialDelayMs: config.PMS_SYNC_RETRY_INITIAL_DELAY_MS, maxDelayMs: config.PMS_SYNC_RETRY_MAX_DELAY_MS });
  // One adapter per served vendor (PMS_ADAPTERS), chosen per connection; credentials sealed per connection.
  const connectors = new ConnectorRegistry(adapterSpecs(config), { timeoutMs: config.PMS_VENDOR_TIMEOUT_MS });
  const cipher = new CredentialsCipher(config.PMS_CREDENTIALS_KEY, config.PMS_CREDENTIALS_PREVIOUS_KEYS);
  const connections = new PmsConnections({ prisma: db.prisma, connectors, cipher, audit });
  // The booking subgraph, for syncs (its Hotel.bookings entity) and webhooks (cancelBooking); each call
  // narrows the principal to the hotel(s) it concerns.
  const bookingsOwner = new EntityClient({
    url: config.BOOKING_URL,
    peer: 'booking',
    caller: 'pms',
    timeoutMs: config.PEER_TIMEOUT_MS,
    signer: new InternalTokenSigner(config.INTERNAL_TOKEN_SECRET, 'pms', config.INTERNAL_TOKEN_TTL_SECONDS),
    // Default identity: no hotel. Each sync narrows it to the hotel it syncs (sync.ts).
    principal: servicePrincipal('pms', [BOOKINGS_READ_SCOPE]),
  });
  const pms = new PmsSync({
    prisma: db.prisma,
    connectors,
    cipher,
    audit,
    policies,
    queue,
    queueOnOutage: config.FALLBACKS_ENABLED,
    bookingsOwner,
    staleAfterMs: config.PMS_STALE_AFTER_SECONDS * 1000,
    logger,
    // Every step of every run (request or queued retry), for pmsSyncProgress.
    onProgress: (progress) => void events.publish(topic('pms-sync', progress.hotelId), progress),
  });
  // A queue worker per served vendor: each claims only its vendor's jobs.
  const workers = connectors.vendors().map(
    (vendor) =>
      new SyncWorker({
        queue,
        vendor,
        run: (job) => pms.runQueued(job, logger.child({ correlationId: job.correlationId ?? undefined, jobId: job.id })),
        pollIntervalMs: config.PMS_SYNC_QUEUE_POLL_MS,
        logger,
        metrics,
      }),
  );
  const running = await startSubgraph<PmsContext>(
    {
      name: 'pms',
      schemaFile: projectPath('subgraphs/pms/schema.graphql'),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, pms, connections, events, audit, loaders: createPmsLoaders(db.prisma) }),
      // Each writes its own event with the caller as actor (connections.ts pms.connection_*, sync.ts pms.sync_*).
      auditedMutations: ['connectPms', 'updatePmsConnection', 'disablePmsConnection', 'syncReservations'],
    },
    {
      config,
      logger,
      db,
      metrics,
      events,
      // Authorization denials, PLATFORM_ADMIN mutations and rate-limit reloads (lib/src/request-audit.ts).
      audit,
      readyDetails: () => ({ vendorCircuits: policies.openCircuits() }),
      // Vendors' signed webhooks: public (they authenticate by signature), raw body for the HMAC.
      publicRoutes: (app) =>
        mountPmsWebhooks(app, {
          prisma: db.prisma,
          secrets: config.PMS_WEBHOOK_SECRETS,
          toleranceSeconds: config.PMS_WEBHOOK_TOLERANCE_SECONDS,
          bodyLimit: config.PMS_WEBHOOK_BODY_LIMIT,
          audit,
          bookings: new WebhookBookings(bookingsOwner),
          peerTimeoutMs: config.PEER_TIMEOUT_MS,
        }),
      onStop: async () => {
        await Promise.all(workers.map((w) => w.stop()));
        await audit.stop();
      },
    },
  );
  // Drains syncs queued while the vendor was unreachable (by this or any other pms replica).
  for (const w of workers) w.start();
  audit.start();
  return running;
}
