import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import type { Express } from 'express';
import type { Logger } from './logger.js';
import type { Database } from './db.js';
import { createFormatError, errorShapePlugin, logUnexpectedErrorsPlugin } from './errors.js';
import { createHttpApp, finishHttpApp, listen, type HealthCheck } from './http.js';

/** What every subgraph resolver can rely on; subgraphs extend it with their loaders and ports. */
export interface SubgraphContext {
  correlationId: string;
  log: Logger;
}

export interface SubgraphDefinition<TContext extends SubgraphContext> {
  name: string;
  /** The subgraph's SDL file (schema-first). */
  schemaFile: URL;
  resolvers: GraphQLResolverMap<TContext>;
  /** Adds per-request state (DataLoaders, ports) to the base context. */
  createContext(base: SubgraphContext): TContext;
}

export interface SubgraphRuntime {
  config: { port: number; HOST: string; production: boolean };
  logger: Logger;
  /** The subgraph's database: checked by readiness, closed last on stop. */
  db: Database;
  /** Readiness checks beyond the database. */
  checks?: HealthCheck[];
  /** Extra non-GraphQL routes (e.g. internal ingestion endpoints, webhooks). */
  routes?(app: Express): void;
  /** Closes what the subgraph opened (timers, relays), after the HTTP server has drained, before the DB. */
  onStop?(): Promise<void>;
}

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

/**
 * The one bootstrap every subgraph boots through, so all four behave the same: correlation IDs, logs,
 * health, error shape, drain on stop.
 */
export async function startSubgraph<TContext extends SubgraphContext>(
  definition: SubgraphDefinition<TContext>,
  runtime: SubgraphRuntime,
): Promise<RunningService> {
  const typeDefs = parse(readFileSync(definition.schemaFile, 'utf8'));
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: definition.resolvers as GraphQLResolverMap<unknown> }]);

  const app = createHttpApp({ logger: runtime.logger, checks: [{ name: 'database', check: runtime.db.ping }, ...(runtime.checks ?? [])] });
  const httpServer = http.createServer(app);
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
    ],
  });
  await apollo.start();

  runtime.routes?.(app);
  app.use(
    '/graphql',
    expressMiddleware(apollo, {
      context: async ({ req }) => definition.createContext({ correlationId: req.correlationId, log: req.log }),
    }),
  );
  finishHttpApp(app);

  const url = await listen(httpServer, runtime.config.port, runtime.config.HOST);
  runtime.logger.info({ url: `${url}/graphql` }, `${definition.name} subgraph ready`);
  return {
    url: `${url}/graphql`,
    async stop() {
      await apollo.stop();
      await runtime.onStop?.();
      await runtime.db.close();
    },
  };
}
