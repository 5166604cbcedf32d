import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault, ApolloServerPluginLandingPageProductionDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway } from '@apollo/gateway';
import { expressMiddleware } from '@as-integrations/express5';
import { createFormatError, errorShapePlugin, logUnexpectedErrorsPlugin } from '../../lib/src/errors.js';
import { createHttpApp, finishHttpApp, listen } from '../../lib/src/http.js';
import { createLogger } from '../../lib/src/logger.js';
import type { RunningService } from '../../lib/src/subgraph.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { SubgraphDataSource } from './upstream/data-source.js';

/**
 * The composition root of the gateway: it only wires. Order of the request path (GUIDE §1): edge
 * (correlation ID, body limit) → planning over the static supergraph → one data source per subgraph.
 */
export async function start(config: GatewayConfig): Promise<RunningService> {
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(config.SUPERGRAPH_FILE, 'utf8'),
    buildService: ({ name, url }) => new SubgraphDataSource(name, config.urlOverrides[name] ?? url!, config.SUBGRAPH_BATCHING),
    logger,
  });

  let schemaLoaded = false;
  const app = createHttpApp({
    logger,
    bodyLimit: config.BODY_LIMIT,
    checks: [
      {
        name: 'supergraph',
        check: async () => {
          if (!schemaLoaded) throw new Error('supergraph not loaded');
        },
      },
    ],
  });
  const httpServer = http.createServer(app);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !config.production,
    formatError: createFormatError({ service: 'gateway', maskInternalErrors: config.production }),
    includeStacktraceInErrorResponses: false,
    // runMain owns SIGINT/SIGTERM: Apollo's own handlers would race it and stall the shutdown.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      config.production
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      errorShapePlugin<GatewayContext>({ setHttpStatus: true }),
      logUnexpectedErrorsPlugin<GatewayContext>(),
    ],
  });
  await apollo.start();
  schemaLoaded = true;

  app.use(
    '/graphql',
    expressMiddleware(apollo, { context: async ({ req }) => ({ correlationId: req.correlationId, log: req.log }) }),
  );
  finishHttpApp(app);

  const url = await listen(httpServer, config.port, config.HOST);
  logger.info({ url: `${url}/graphql` }, 'gateway ready');
  return {
    url: `${url}/graphql`,
    async stop() {
      await apollo.stop();
    },
  };
}
