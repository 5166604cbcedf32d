import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { createRedis } from '../redis.js';
import { usesRateLimit } from './directive.js';
import { createRateLimits, type RateLimitsOptions } from './index.js';

export interface SubgraphRateLimitConfig {
  RATE_LIMITS_ENABLED?: boolean;
  REDIS_URL?: string;
  REDIS_CONNECT_TIMEOUT_MS?: number;
  REDIS_COMMAND_TIMEOUT_MS?: number;
  RATE_LIMITS_FILE?: string;
  RATE_LIMIT_KEY_PREFIX?: string;
}

/**
 * For the shared subgraph bootstrap: when the schema has `@rateLimit` fields, opens this process's
 * Redis client for the counters (REDIS_URL; in-memory without it) and applies the transformer once.
 * A subgraph without limited fields opens nothing and reads no file.
 */
export async function subgraphRateLimits(
  schema: GraphQLSchema,
  options: { service: string; config: SubgraphRateLimitConfig; logger: Logger; metrics: Metrics } & Pick<RateLimitsOptions, 'onReload'>,
): Promise<{ schema: GraphQLSchema; close(): void }> {
  const { config, logger } = options;
  if (!usesRateLimit(schema)) return { schema, close: () => undefined };
  if (config.RATE_LIMITS_ENABLED === false) {
    logger.warn({ component: 'rate-limit' }, 'RATE_LIMITS_ENABLED=false: @rateLimit field limits are not enforced');
    return { schema, close: () => undefined };
  }
  const redis = config.REDIS_URL
    ? createRedis(config.REDIS_URL, `${options.service}-rate-limit`, { connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, metrics: options.metrics })
    : null;
  // ioredis reports every failed reconnect attempt; one warning per outage is enough (the counters log their fallback).
  let warned = false;
  redis?.on('error', (error) => {
    if (!warned) logger.warn({ err: error, component: 'rate-limit' }, 'redis connection error (rate limits)');
    warned = true;
  });
  redis?.on('ready', () => (warned = false));
  let limits;
  let limited;
  try {
    limits = createRateLimits({
      file: config.RATE_LIMITS_FILE ?? 'config/rate-limits.yaml',
      redis,
      keyPrefix: config.RATE_LIMIT_KEY_PREFIX ?? 'innkeep:rl:',
      logger,
      metrics: options.metrics,
      ...(options.onReload ? { onReload: options.onReload } : {}),
    });
    limited = limits.applyTo(schema);
    if (!(await limits.counters.ready())) logger.warn({ component: 'rate-limit' }, 'Redis not reachable at start-up: rate limits count in memory on this instance until it is');
  } catch (error) {
    limits?.close();
    redis?.disconnect();
    throw error;
  }
  return {
    schema: limited,
    close() {
      limits!.close();
      redis?.disconnect();
    },
  };
}
