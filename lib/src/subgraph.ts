import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import { applyMiddleware, type IMiddlewareGenerator } from 'graphql-middleware';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { Logger } from './logger.js';
import { observePool, type Database } from './db.js';
import { sendHttpError } from './authz.js';
import type { internalAuthConfigShape } from './config.js';
import { correlationIdFrom } from './correlation.js';
import { createFormatError, ErrorCode, errorShapePlugin, logUnexpectedErrorsPlugin } from './errors.js';
import { createAppServer, createHttpApp, finishHttpApp, listen, type HealthCheck } from './http.js';
import { createMetrics, type Metrics } from './metrics.js';
import { graphqlMetricsPlugin } from './graphql-metrics.js';
import { ANONYMOUS, type Principal } from './identity.js';
import { InternalTokenError, InternalTokenVerifier, verifyBearer } from './internal-token.js';
import { subgraphRateLimits, type SubgraphRateLimitConfig } from './rate-limit/subgraph.js';
import type { EventBus } from './events.js';
import { serveSubscriptions } from './subscriptions.js';
import type { AuditRecorder } from './audit-outbox.js';
import { PiiReads, requestAuditPlugin } from './request-audit.js';
import { auditRateLimitReload } from './rate-limit/index.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The end client's IP, from the internal token's `ip` claim (the gateway saw it); rate limits key anonymous callers by it. */
    clientIp?: string;
  }
}

/** What every subgraph resolver can rely on; subgraphs extend it with their loaders and ports. */
export interface SubgraphContext {
  /** The correlation ID the internal token carries (the gateway's request ID). */
  correlationId: string;
  log: Logger;
  /** Who is calling, from the verified internal token (ANONYMOUS only for anonymous callers). */
  principal: Principal;
  /** The end client's IP as the gateway saw it (anonymous callers are rate-limited by it). */
  clientIp?: string;
  /** Staff reads of guest PII in this request (HTTP requests only), audited once at the end (lib/src/request-audit.ts). */
  piiReads?: PiiReads;
}

export interface SubgraphDefinition<TContext extends SubgraphContext> {
  name: string;
  /** The subgraph's SDL file (schema-first), e.g. `projectPath('subgraphs/hotel/schema.graphql')`. */
  schemaFile: string;
  resolvers: GraphQLResolverMap<TContext>;
  /** The subgraph's graphql-shield rule tree (`src/permissions.ts`, lib/src/authz.ts `definePermissions`). */
  permissions: IMiddlewareGenerator<any, any, any>;
  /** Adds per-request state (DataLoaders, ports) to the base context. */
  createContext(base: SubgraphContext): TContext;
  /**
   * Mutation root fields whose success writes its own audit event with the caller as actor (e.g.
   * cancelBooking → booking.cancelled): a PLATFORM_ADMIN using only these gets no extra `admin.mutation`.
   */
  auditedMutations?: readonly string[];
}

type InternalAuthConfig = z.infer<z.ZodObject<typeof internalAuthConfigShape>>;

export interface SubgraphRuntime {
  /** The process's Prometheus registry (served on /metrics); created here when not given. */
  metrics?: Metrics;
  config: { port: number; HOST: string; production: boolean } & Pick<InternalAuthConfig, 'INTERNAL_TOKEN_SECRET' | 'SUBGRAPH_ALLOW_DIRECT'> & SubgraphRateLimitConfig;
  logger: Logger;
  /** The subgraph's database: checked by readiness, closed last on stop. */
  db: Database;
  /** Readiness checks beyond the database. */
  checks?: HealthCheck[];
  /** Extra facts for the readiness JSON that never fail it (e.g. pms: vendor circuits that are not closed). */
  readyDetails?(): Record<string, unknown>;
  /** Extra non-GraphQL routes (e.g. internal ingestion endpoints). They sit behind the internal token check too. */
  routes?(app: Express): void;
  /**
   * Public routes that do NOT sit behind the internal token check, and see the raw body (no JSON parser
   * before them): only for callers that prove themselves otherwise, e.g. pms's signed vendor webhooks.
   * Each such route must authenticate every request itself.
   */
  publicRoutes?(app: Express): void;
  /** Closes what the subgraph opened (timers, relays), after the HTTP server has drained, before the DB. */
  onStop?(): Promise<void>;
  /** The process's event bus (lib/src/events.ts): closed on stop after `onStop`, before the database. */
  events?: EventBus;
  /**
   * The subgraph's audit producer: with it, authorization denials, staff PII reads, PLATFORM_ADMIN
   * mutations and rate-limit reloads are audited here, for every subgraph alike (lib/src/request-audit.ts).
   */
  audit?: AuditRecorder;
}

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

/**
 * The one bootstrap every subgraph boots through, so all four behave the same: correlation IDs, logs,
 * health, internal-token verification, the permission rule tree, error shape, drain on stop.
 */
export async function startSubgraph<TContext extends SubgraphContext>(
  definition: SubgraphDefinition<TContext>,
  runtime: SubgraphRuntime,
): Promise<RunningService> {
  if (runtime.config.SUBGRAPH_ALLOW_DIRECT && runtime.config.production) {
    throw new Error(`${definition.name}: SUBGRAPH_ALLOW_DIRECT=true is for local debugging only; refusing to start with NODE_ENV=production`);
  }
  const typeDefs = parse(readFileSync(definition.schemaFile, 'utf8'));
  const metrics = runtime.metrics ?? createMetrics(definition.name);
  observePool(metrics, runtime.db.pool);
  // `@rateLimit` fields get their limiter once, here (lib/src/rate-limit); shield wraps them below, so
  // the order per call is: rules, then the rate limit, then the resolver.
  const rateLimits = await subgraphRateLimits(
    buildSubgraphSchema([{ typeDefs, resolvers: definition.resolvers as GraphQLResolverMap<unknown> }]),
    {
      service: definition.name,
      config: runtime.config,
      logger: runtime.logger,
      metrics,
      ...(runtime.audit ? { onReload: auditRateLimitReload(definition.name, runtime.audit, runtime.logger) } : {}),
    },
  );
  // Rules are woven into the schema once, here; nothing about them is rebuilt per request.
  const schema = applyMiddleware(rateLimits.schema, definition.permissions);

  const app = createHttpApp({
    logger: runtime.logger,
    metrics,
    checks: [
      { name: 'database', check: runtime.db.ping },
      // Not critical: without Redis, live updates pause and limits count per instance, queries still work.
      ...(runtime.events?.ping ? [{ name: 'redis', critical: false, check: () => runtime.events!.ping!() }] : []),
      ...(runtime.checks ?? []),
    ],
    readyDetails: runtime.readyDetails,
    // Self-authenticating public routes (signed webhooks): before the JSON parser and the token check.
    ...(runtime.publicRoutes ? { rawBodyRoutes: (app: Express) => runtime.publicRoutes!(app) } : {}),
  });
  // Registered after the health routes and the self-authenticating public routes, before everything else:
  // /graphql — `_service` and `_entities` included — and internal routes answer nothing without a valid
  // internal token.
  const tokenCheck = internalTokenCheck({
    service: definition.name,
    secret: runtime.config.INTERNAL_TOKEN_SECRET,
    allowDirect: runtime.config.SUBGRAPH_ALLOW_DIRECT,
    logger: runtime.logger,
  });
  app.use(tokenCheck);
  if (runtime.config.SUBGRAPH_ALLOW_DIRECT) {
    runtime.logger.warn('SUBGRAPH_ALLOW_DIRECT=true: requests without an internal token are served as anonymous (development only)');
  }

  // POST /graphql (the gateway's fetches, the other subgraphs' entity calls) runs the token check and
  // Apollo directly, without walking the router (lib/src/http.ts directRoute); all else: the app.
  const { server: httpServer, directPost } = createAppServer(app, definition.name);
  const apollo = new ApolloServer<TContext>({
    schema,
    formatError: createFormatError({ service: definition.name, maskInternalErrors: runtime.config.production }),
    includeStacktraceInErrorResponses: false,
    // runMain owns SIGINT/SIGTERM: Apollo's own handlers would race it and stall the shutdown.
    stopOnTerminationSignals: false,
    // The gateway batches parallel fetches of one client request; they share this request's context.
    allowBatchedHttpRequests: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      // No Apollo Studio here: federated traces would only cost time on every request.
      ApolloServerPluginInlineTraceDisabled(),
      errorShapePlugin<TContext>({ setHttpStatus: false }),
      logUnexpectedErrorsPlugin<TContext>(),
      graphqlMetricsPlugin<TContext>(metrics),
      ...(runtime.audit
        ? [requestAuditPlugin<TContext>({ service: definition.name, audit: runtime.audit, auditedMutations: definition.auditedMutations ?? [], logger: runtime.logger, metrics })]
        : []),
    ],
  });
  await apollo.start();

  runtime.routes?.(app);
  const graphql = expressMiddleware(apollo, {
    context: async ({ req }) =>
      definition.createContext({
        correlationId: req.correlationId,
        log: req.log,
        principal: req.principal,
        ...(req.clientIp ? { clientIp: req.clientIp } : {}),
        ...(runtime.audit ? { piiReads: new PiiReads() } : {}),
      }),
  });
  app.use('/graphql', graphql);
  directPost('/graphql', [tokenCheck, graphql]);
  finishHttpApp(app, definition.name);

  // Live subscriptions (graphql-ws on the same server and path) only where the SDL declares some.
  const subscriptions = schema.getSubscriptionType()
    ? serveSubscriptions<TContext>({
        service: definition.name,
        httpServer,
        schema,
        secret: runtime.config.INTERNAL_TOKEN_SECRET,
        allowDirect: runtime.config.SUBGRAPH_ALLOW_DIRECT,
        production: runtime.config.production,
        logger: runtime.logger,
        metrics,
        createContext: definition.createContext,
      })
    : undefined;

  const url = await listen(httpServer, runtime.config.port, runtime.config.HOST);
  runtime.logger.info({ url: `${url}/graphql` }, `${definition.name} subgraph ready`);
  return {
    url: `${url}/graphql`,
    async stop() {
      // WebSocket clients first (close 1001): open sockets would otherwise hold the HTTP drain.
      await subscriptions?.dispose();
      await apollo.stop();
      rateLimits.close();
      await runtime.onStop?.();
      await runtime.events?.close();
      await runtime.db.close();
    },
  };
}

/**
 * Verifies `Authorization: Bearer <internal token>` (audience: this subgraph) and puts the principal on
 * the request; the token's correlation ID becomes the request's. Anything else answers 401 with
 * `WWW-Authenticate` and a GraphQL-shaped UNAUTHENTICATED body. With `allowDirect` (development only) a
 * request WITHOUT a token passes as anonymous; a bad token is refused all the same.
 */
function internalTokenCheck(options: { service: string; secret: string; allowDirect: boolean; logger: Logger }): RequestHandler {
  const verifier = new InternalTokenVerifier(options.secret, options.service);
  const refuse = (req: Request, res: Response, reason: string) => {
    req.log.info({ reason }, 'internal token refused');
    res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
    sendHttpError(req, res, 401, ErrorCode.UNAUTHENTICATED, reason, options.service);
  };
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) {
      if (options.allowDirect) {
        req.principal = ANONYMOUS;
        req.clientIp = req.ip;
        return next();
      }
      return refuse(req, res, 'An internal token is required: subgraphs are only reached through the gateway');
    }
    let claims;
    try {
      claims = await verifyBearer(verifier, header);
    } catch (error) {
      return refuse(req, res, error instanceof InternalTokenError ? error.message : 'internal token invalid');
    }
    req.principal = claims.principal;
    if (claims.clientIp) req.clientIp = claims.clientIp;
    if (claims.correlationId && claims.correlationId !== req.correlationId && correlationIdFrom(claims.correlationId) === claims.correlationId) {
      req.correlationId = claims.correlationId;
      req.log = options.logger.child({ correlationId: claims.correlationId });
      res.setHeader('X-Correlation-ID', claims.correlationId);
    }
    next();
  };
}
