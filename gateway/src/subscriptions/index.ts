import type http from 'node:http';
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { createFormatError } from '../../../lib/src/errors.js';
import type { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import type { admissionLimits } from '../admission/limits.js';
import type { AuthService } from '../auth/index.js';
import type { GatewayContext } from '../context.js';
import type { Upstream } from '../upstream/index.js';
import type { subscriptionConfigShape } from './config.js';
import { FederatedSubscriptionEngine } from './engine.js';
import { SubscriptionHub } from './hub.js';
import { startSubscriptionServer } from './server.js';
import { SubgraphSubscriptions } from './upstream.js';
import type { z } from 'zod';

export { CloseCodes } from './server.js';

type SubscriptionConfig = z.infer<z.ZodObject<typeof subscriptionConfigShape>> & { urlOverrides: Partial<Record<string, string>> };

export interface SubscriptionsOptions {
  gateway: ApolloGateway;
  httpServer: http.Server;
  config: SubscriptionConfig;
  auth: AuthService;
  signer: InternalTokenSigner;
  upstream: Upstream;
  dataSources: Map<string, GraphQLDataSource<GatewayContext>>;
  logger: Logger;
  metrics: Metrics;
  armor: ReturnType<typeof admissionLimits>;
  production: boolean;
}

/**
 * Wires federated subscriptions (engine → upstream → hub → graphql-ws server) and their metrics.
 * The engine follows the gateway's schema through its public `onSchemaLoadOrUpdate` hook.
 */
export function createSubscriptions(options: SubscriptionsOptions) {
  const { config, logger, metrics } = options;
  const log = logger.child({ component: 'subscriptions' });
  const engine = new FederatedSubscriptionEngine((name) => options.dataSources.get(name), log);
  options.gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => engine.update(coreSupergraphSdl));

  const upstreamGauge = metrics.gauge('innkeep_subscriptions_upstream', 'Upstream subscriptions open to each subgraph', ['subgraph']);
  const sharedGauge = metrics.gauge('innkeep_subscriptions_shared', 'Shared subscriptions (one upstream subscription and one execution per event each)', []);
  const events = metrics.counter('innkeep_subscription_events_total', 'Subscription events executed at the gateway, by owning subgraph and outcome', ['subgraph', 'outcome']);
  const deliveries = metrics.counter('innkeep_subscription_deliveries_total', 'Subscription results handed to subscribers (events × subscribers)', ['subgraph']);
  const duration = metrics.histogram('innkeep_subscription_event_duration_seconds', 'Time to resolve one event for its subscribers (fetches to other subgraphs)', ['subgraph'], [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

  const upstream = new SubgraphSubscriptions({
    urlOf: (name) => config.urlOverrides[name] ?? engine.subgraphUrl(name),
    signer: options.signer,
    logger: log,
    onCount: (subgraph, delta) => upstreamGauge.inc({ subgraph }, delta),
  });
  const formatError = createFormatError({ service: 'gateway', maskInternalErrors: options.production });
  // The one error shape of the WebSocket side (Apollo Server's formatError and armor's suggestion
  // blocking do not run here): codes, masking, no field suggestions, the event's correlation ID.
  const shape = (error: GraphQLError, correlationId: string): GraphQLFormattedError => {
    const formatted = formatError(error.toJSON(), error);
    return {
      ...formatted,
      message: formatted.message.replace(/ Did you mean .*\?$/, ''),
      extensions: { ...formatted.extensions, correlationId: formatted.extensions?.correlationId ?? correlationId },
    };
  };
  const hub = new SubscriptionHub({
    engine,
    upstream,
    logger: log,
    formatError: shape,
    startDeadline: (context) => options.upstream.trackDeadline(context, config.SUBSCRIPTION_EVENT_DEADLINE_MS),
    bufferEvents: config.SUBSCRIPTION_BUFFER_EVENTS,
    upstreamBacklog: config.SUBSCRIPTION_UPSTREAM_BACKLOG,
    onEventExecuted: (subgraph, ms, subscribers, failed) => {
      events.inc({ subgraph, outcome: failed ? 'error' : 'ok' });
      deliveries.inc({ subgraph }, subscribers);
      duration.observe({ subgraph }, ms / 1000);
    },
    onSharedCount: (delta) => sharedGauge.inc(delta),
  });
  const server = startSubscriptionServer({
    httpServer: options.httpServer,
    config,
    auth: options.auth,
    engine,
    hub,
    logger: log,
    metrics,
    validationRules: options.armor.validationRules,
    maxTokens: options.armor.parseOptions.maxTokens,
    formatError: shape,
  });
  return {
    stats: () => ({ ...server.stats(), upstreamSubscriptions: upstream.count }),
    async close() {
      await server.close();
      await upstream.close();
    },
  };
}
