import type { ApolloServerPlugin } from '@apollo/server';
import type { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { definePolicy, RetryBudget, type CircuitStateName, type Policy } from '../../../lib/src/policies.js';
import { retryBudgetOf } from '../../../lib/src/policies/config.js';
import { subgraphTimeoutMs, type UpstreamConfig } from './config.js';
import { SubgraphDataSource } from './data-source.js';
import { SharedReads } from './shared-reads.js';
import { useRequestDeadline } from './deadline.js';

export interface UpstreamOptions {
  config: UpstreamConfig & { SUBGRAPH_BATCHING: boolean };
  signer: InternalTokenSigner;
  logger: Logger;
  metrics: Metrics;
}

export interface Upstream {
  /** `ApolloGateway`'s `buildService` for the remote subgraphs: one data source (and one policy) each. */
  dataSource(name: string, url: string): SubgraphDataSource;
  /** Starts each request's deadline clock. */
  plugin: ApolloServerPlugin<any>;
  /** Starts a deadline of `ms` for one subscription event's execution; returns its cleanup. */
  trackDeadline(context: object, ms: number): () => void;
  /** The hotel subgraph's answer cache and in-flight sharing, if on (invalidated by hotel-data events). */
  hotelReads: SharedReads | undefined;
  /** Circuit state per subgraph, for readiness (reported, never failing it: one dead subgraph must not
   * take the gateway out of the load balancer). */
  circuits(): Record<string, CircuitStateName>;
}

/**
 * Everything between the query plan and the subgraphs: a policy per subgraph (timeout, breaker, bulkhead,
 * retry for queries within a retry budget), the whole-request deadline, and the data sources that use
 * them. Policies are built when the gateway builds each data source — once per subgraph, at start-up.
 */
export function createUpstream({ config, signer, logger, metrics }: UpstreamOptions): Upstream {
  const deadline = useRequestDeadline({ deadlineMs: config.TIMEOUTS_ENABLED ? config.REQUEST_DEADLINE_MS : 0 });
  const policies = new Map<string, Policy>();
  const sharedReads = new Map<string, SharedReads>();
  const sharedReadsOf = (name: string): SharedReads | undefined => {
    const dedup = (config.UPSTREAM_SHARED_READS as string[]).includes(name);
    const cacheTtlMs = name === 'hotel' ? config.HOTEL_CACHE_TTL_SECONDS * 1000 : 0;
    if (!dedup && !cacheTtlMs) return undefined;
    const shared = sharedReads.get(name) ?? new SharedReads({ subgraph: name, dedup, cacheTtlMs, cacheMaxSize: Math.round(config.HOTEL_CACHE_MAX_MB * 1024 * 1024), metrics });
    sharedReads.set(name, shared);
    return shared;
  };

  const policyFor = (name: string): Policy => {
    const timeoutMs = subgraphTimeoutMs(config, name);
    const halfOpenAfterMs = config.SUBGRAPH_BREAKER_HALF_OPEN_AFTER_MS;
    return definePolicy({
      name,
      logger,
      metrics,
      timeoutMs: config.TIMEOUTS_ENABLED && timeoutMs,
      breaker:
        config.BREAKERS_ENABLED &&
        (config.SUBGRAPH_BREAKER === 'consecutive'
          ? { kind: 'consecutive', threshold: config.SUBGRAPH_BREAKER_THRESHOLD, halfOpenAfterMs }
          : {
              kind: 'sampling',
              failureRatio: config.SUBGRAPH_BREAKER_FAILURE_RATIO,
              windowMs: config.SUBGRAPH_BREAKER_WINDOW_MS,
              minimumRps: config.SUBGRAPH_BREAKER_MIN_RPS,
              halfOpenAfterMs,
            }),
      bulkhead: config.BULKHEADS_ENABLED && { concurrency: config.SUBGRAPH_BULKHEAD_CONCURRENCY, queue: config.SUBGRAPH_BULKHEAD_QUEUE },
      retry: config.RETRIES_ENABLED && {
        maxAttempts: config.SUBGRAPH_RETRY_MAX_ATTEMPTS,
        initialDelayMs: config.SUBGRAPH_RETRY_INITIAL_DELAY_MS,
        maxDelayMs: config.SUBGRAPH_RETRY_MAX_DELAY_MS,
        budget: new RetryBudget(retryBudgetOf(config)),
      },
    });
  };

  return {
    dataSource(name, url) {
      const policy = policies.get(name) ?? policyFor(name);
      policies.set(name, policy);
      return new SubgraphDataSource({
        subgraph: name,
        url,
        batching: config.SUBGRAPH_BATCHING,
        signer,
        policy,
        deadlineFor: deadline.signalFor,
        timeoutMs: subgraphTimeoutMs(config, name),
        shared: sharedReadsOf(name),
      });
    },
    get hotelReads() {
      return sharedReadsOf('hotel');
    },
    plugin: deadline.plugin,
    // Subscription events use the same data sources, so the same deadline registry, with their own length.
    trackDeadline: (context, ms) => (config.TIMEOUTS_ENABLED ? deadline.track(context, ms) : () => undefined),
    circuits: () => Object.fromEntries([...policies].map(([name, policy]) => [name, policy.circuitState()])),
  };
}
