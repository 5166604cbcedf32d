import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { createRateLimits, type RateLimitsOptions } from '../../../lib/src/rate-limit/index.js';
import type { GatewayContext } from '../context.js';
import { clientBudget } from './client-budget.js';
import { loginLimit } from './login-limit.js';
import { webhookLimit } from './webhook-limit.js';
import { retryAfterPlugin } from './retry-after.js';

export interface GatewayRateLimitsOptions {
  config: { RATE_LIMITS_FILE: string; RATE_LIMIT_KEY_PREFIX: string; RATE_LIMITS_ENABLED: boolean };
  /** The gateway's Redis (null: in-memory, one process). */
  redis: Redis | null;
  logger: Logger;
  metrics: Metrics;
  /** After every SIGHUP re-read of the file (the composition root audits it). */
  onReload?: RateLimitsOptions['onReload'];
}

export interface GatewayRateLimits {
  /** After authentication on /graphql: the per-client budget (429 + X-RateLimit-*). */
  clientBudget: RequestHandler;
  /** Before POST /auth/login: 5 attempts / min per email + IP by default. */
  loginLimit: RequestHandler;
  /** Before POST /webhooks/pms/:vendor: 600 deliveries / min per client IP by default. */
  webhookLimit: RequestHandler;
  /** Retry-After on whole-request RATE_LIMITED answers from `@rateLimit` fields. */
  plugin: ApolloServerPlugin<GatewayContext>;
  /** `@rateLimit` on the in-process identity subgraph (createApiKey). */
  applyTo(schema: GraphQLSchema): GraphQLSchema;
  close(): void;
}

/** Everything rate-limit at the gateway, from one limits file and one set of counters (docs/rate-limits.md). */
export async function createGatewayRateLimits(options: GatewayRateLimitsOptions): Promise<GatewayRateLimits> {
  const limits = createRateLimits({
    file: options.config.RATE_LIMITS_FILE,
    redis: options.redis,
    keyPrefix: options.config.RATE_LIMIT_KEY_PREFIX,
    logger: options.logger,
    metrics: options.metrics,
    ...(options.onReload ? { onReload: options.onReload } : {}),
  });
  // Count in Redis from the first request on (a Redis that is down does not hold the start: memory fallback).
  if (!(await limits.counters.ready())) options.logger.warn({ component: 'rate-limit' }, 'Redis not reachable at start-up: rate limits count in memory on this instance until it is');
  const shared = { counters: limits.counters, settings: limits.settings, metrics: options.metrics };
  const enabled = options.config.RATE_LIMITS_ENABLED;
  // Staged rollout: off = no client budgets and no field limits; the login and webhook limiters (brute
  // force, floods of a public route) stay.
  if (!enabled) options.logger.warn({ component: 'rate-limit' }, 'RATE_LIMITS_ENABLED=false: client budgets and @rateLimit field limits are not enforced');
  return {
    clientBudget: enabled ? clientBudget(shared) : (_req, _res, next) => next(),
    loginLimit: loginLimit(shared),
    webhookLimit: webhookLimit(shared),
    plugin: retryAfterPlugin<GatewayContext>(),
    applyTo: (schema) => (enabled ? limits.applyTo(schema) : schema),
    close: () => limits.close(),
  };
}
