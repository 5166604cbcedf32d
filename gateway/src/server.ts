import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway, LocalGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import { expressMiddleware } from '@as-integrations/express5';
import { observePool, serviceDatabase } from '../../lib/src/db.js';
import { createFormatError, errorShapePlugin, logUnexpectedErrorsPlugin } from '../../lib/src/errors.js';
import { createAppServer, createHttpApp, finishHttpApp, listen } from '../../lib/src/http.js';
import { InternalTokenSigner } from '../../lib/src/internal-token.js';
import { createLogger } from '../../lib/src/logger.js';
import { createMetrics } from '../../lib/src/metrics.js';
import { graphqlMetricsPlugin } from '../../lib/src/graphql-metrics.js';
import { observeKeyExpiry } from './auth/key-metrics.js';
import { createRedis } from '../../lib/src/redis.js';
import type { RunningService } from '../../lib/src/subgraph.js';
import { admissionLimits } from './admission/limits.js';
import { createGatewayRateLimits } from './admission/rate-limits.js';
import { auditRateLimitReload } from '../../lib/src/rate-limit/index.js';
import { createAuthService } from './auth/index.js';
import { auditExportProxy } from './audit-export.js';
import { pmsWebhookProxy } from './pms-webhooks.js';
import { Supergraph } from '@apollo/federation-internals';
import { createServiceAuditOutbox } from '../../lib/src/audit-stream.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { mountDashboard } from './dashboard/index.js';
import { authenticate } from './edge/authenticate.js';
import { challengeUnauthenticatedPlugin } from './edge/challenge.js';
import { edgeSecurity } from './edge/security.js';
import { buildIdentitySchema } from './identity/subgraph.js';
import { createUpstream } from './upstream/index.js';
import { followHotelData } from './upstream/hotel-feed.js';
import { createEventBus } from '../../lib/src/events.js';
import { createSubscriptions } from './subscriptions/index.js';

/**
 * The composition root of the gateway: it only wires. The request path (GUIDE §1): edge (correlation
 * ID, security headers, CORS, body limit) → identity (JWT / API key) → admission (depth, cost, aliases,
 * tokens) → planning over the static supergraph → one signed data source per subgraph.
 */
export async function start(config: GatewayConfig): Promise<RunningService> {
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const metrics = createMetrics('gateway');
  const db = serviceDatabase(config, 'gateway', logger);
  observePool(metrics, db.pool);
  observeKeyExpiry(metrics, db.prisma);
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, 'gateway', { connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, metrics }) : null;
  redis?.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const signer = new InternalTokenSigner(config.INTERNAL_TOKEN_SECRET, 'gateway', config.INTERNAL_TOKEN_TTL_SECONDS);
  const supergraphSdl = readFileSync(config.SUPERGRAPH_FILE, 'utf8');
  // Sign-ins, sign-outs and API-key changes: identity.outbox → the audit subgraph (as booking does).
  const supergraphSubgraphs = Supergraph.build(supergraphSdl).subgraphs();
  const auditUrl = config.urlOverrides.audit ?? supergraphSubgraphs.get('audit')?.url;
  if (!auditUrl) throw new Error('The supergraph has no audit subgraph URL; set AUDIT_URL');
  // Signed PMS webhooks are passed to the pms subgraph's own route (pms-webhooks.ts).
  const pmsUrl = config.urlOverrides.pms ?? supergraphSubgraphs.get('pms')?.url;
  if (!pmsUrl) throw new Error('The supergraph has no pms subgraph URL; set PMS_URL');
  const audit = createServiceAuditOutbox({ config, producer: 'gateway', table: 'identity.outbox', pool: db.pool, auditUrl, logger, metrics });
  audit.start();
  const auth = await createAuthService({ prisma: db.prisma, redis, logger, config, production: config.production, audit });
  // Client budgets, the login limiter and `@rateLimit` on identity fields (docs/rate-limits.md).
  const rateLimits = await createGatewayRateLimits({ config, redis, logger, metrics, onReload: auditRateLimitReload('gateway', audit, logger) });
  const identitySchema = rateLimits.applyTo(buildIdentitySchema(auth.apiKeys));
  const upstream = createUpstream({ config, signer, logger, metrics });
  // Hotel-data invalidations (upstream/hotel-feed.ts); Redis pub/sub between processes.
  const events = config.REDIS_URL ? createEventBus(config, { service: 'gateway', logger, metrics }) : null;
  followHotelData(upstream.hotelReads, events, logger);

  // One data source per subgraph, shared by the gateway (HTTP) and the subscription engine (WebSocket).
  const dataSources = new Map<string, GraphQLDataSource<GatewayContext>>();
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => {
      const source = name === 'identity' ? new LocalGraphQLDataSource<GatewayContext>(identitySchema) : upstream.dataSource(name, config.urlOverrides[name] ?? url!);
      dataSources.set(name, source);
      return source;
    },
    logger,
  });

  let schemaLoaded = false;
  const app = createHttpApp({
    // Security headers (helmet) and the CORS allow-list on every answer, errors and webhooks included.
    security: edgeSecurity({ production: config.production, corsOrigins: config.corsOrigins }),
    logger,
    metrics,
    bodyLimit: config.BODY_LIMIT,
    checks: [
      { name: 'supergraph', check: async () => void (schemaLoaded || Promise.reject(new Error('supergraph not loaded'))) },
      { name: 'database', check: db.ping },
      // Not critical: without Redis, bearer tokens fail closed (503) but public queries are still served.
      ...(redis ? [{ name: 'redis', critical: false, check: async () => void (await redis.ping()) }] : []),
    ],
    readyDetails: () => ({ subgraphs: upstream.circuits() }),
    // Vendors' signed PMS webhooks: raw body (the HMAC covers it), no user authentication, a per-IP limit.
    rawBodyRoutes: (app) =>
      app.post('/webhooks/pms/:vendor', rateLimits.webhookLimit, pmsWebhookProxy({ pmsUrl, bodyLimit: config.PMS_WEBHOOK_BODY_LIMIT, timeoutMs: config.SUBGRAPH_TIMEOUT_MS })),
  });
  app.post('/auth/login', rateLimits.loginLimit);
  auth.mountRoutes(app);
  mountDashboard(app, { enabled: config.DASHBOARD_ENABLED, production: config.production });

  // POST /graphql, the API's hot path, runs its handlers directly (lib/src/http.ts directRoute: the same
  // edge, security headers, JSON body, authentication and budget, without walking the router); all else: the app.
  const { server: httpServer, directPost } = createAppServer(app, 'gateway');
  const armor = admissionLimits(config);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !config.production,
    formatError: createFormatError({ service: 'gateway', maskInternalErrors: config.production }),
    includeStacktraceInErrorResponses: false,
    // runMain owns SIGINT/SIGTERM: Apollo's own handlers would race it and stall the shutdown.
    stopOnTerminationSignals: false,
    // One operation per HTTP request (batching capped at 1); CSRF prevention stays on (the default).
    allowBatchedHttpRequests: false,
    validationRules: armor.validationRules,
    parseOptions: armor.parseOptions,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      config.production
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      ...(armor.plugins as ApolloServerPlugin<GatewayContext>[]),
      errorShapePlugin<GatewayContext>({ setHttpStatus: true }),
      challengeUnauthenticatedPlugin<GatewayContext>(),
      logUnexpectedErrorsPlugin<GatewayContext>(),
      upstream.plugin,
      rateLimits.plugin,
      graphqlMetricsPlugin<GatewayContext>(metrics),
    ],
  });
  // graphql-ws on the same /graphql path (docs/api.md "Subscriptions"); off = no WebSocket upgrade at all.
  // Created before the gateway loads its schema: the engine follows it through onSchemaLoadOrUpdate.
  const subscriptions = config.SUBSCRIPTIONS_ENABLED
    ? createSubscriptions({ gateway, httpServer, config, auth, signer, upstream, dataSources, logger, metrics, armor, production: config.production })
    : null;
  await apollo.start();
  schemaLoaded = true;

  const graphql = [
    authenticate(auth),
    rateLimits.clientBudget,
    expressMiddleware(apollo, {
      context: async ({ req }) => ({ correlationId: req.correlationId, log: req.log, principal: req.principal, clientIp: req.ip }),
    }),
  ];
  app.use('/graphql', graphql);
  directPost('/graphql', graphql);
  // The auditors' streamed export (JSON lines / CSV): same authentication and budget as /graphql.
  app.get('/audit/export', authenticate(auth), rateLimits.clientBudget, auditExportProxy({ auditUrl, signer }));
  finishHttpApp(app, 'gateway');

  const url = await listen(httpServer, config.port, config.HOST);
  logger.info({ url: `${url}/graphql` }, 'gateway ready');
  return {
    url: `${url}/graphql`,
    async stop() {
      // Subscribers first (1001, reconnect elsewhere): open sockets would hold the HTTP drain.
      await subscriptions?.close();
      await apollo.stop();
      await auth.close();
      await audit.stop();
      rateLimits.close();
      await events?.close();
      redis?.disconnect();
      await db.close();
    },
  };
}
