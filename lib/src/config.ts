import { z } from 'zod';
import { DEVELOPMENT_INTERNAL_SECRET } from './internal-token.js';

/**
 * Configuration is parsed once per process, at the edge, from the environment. Each service extends
 * `baseConfigShape` with its own keys; `parseConfig` fails with one message that lists every bad key and
 * how to fix it, so a misconfigured deploy dies at start-up instead of at the first request.
 */
export const nodeEnv = z.enum(['development', 'test', 'production']).default('development');

const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envBool = (fallback: boolean) => boolFromEnv.optional().transform((v) => v ?? fallback);

export const baseConfigShape = {
  NODE_ENV: nodeEnv,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Bind address for every HTTP listener. */
  HOST: z.string().default('127.0.0.1'),
};

export const databaseConfigShape = {
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Connections per process in the pg pool behind Prisma's driver adapter. */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /** How long a query may wait for a free pool connection before failing (ms). */
  DB_POOL_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
};

export const redisConfigShape = {
  /** Unset: in-memory stand-ins (single-process development only). */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** How long one connection attempt to Redis may take before it is retried (ms). */
  REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /** How long one Redis command may take before it fails (ms): a hung Redis must not hang requests. */
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
};

/** Rate limits and client budgets (lib/src/rate-limit, docs/rate-limits.md). */
export const rateLimitConfigShape = {
  /** YAML or JSON file of per-field / per-tier / per-API-key limits and budgets; re-read on SIGHUP. */
  RATE_LIMITS_FILE: z.string().min(1).default('config/rate-limits.yaml'),
  /** Prefix of every rate-limit key in Redis (several deployments or test runs on one Redis). */
  RATE_LIMIT_KEY_PREFIX: z.string().min(1).max(100).default('innkeep:rl:'),
  /**
   * Staged rollout switch: false = no `@rateLimit` field limits and no client budgets (the login limiter,
   * a brute-force control, stays on). Refusals counted in innkeep_rate_limit_refusals_total stop.
   */
  RATE_LIMITS_ENABLED: envBool(true),
};

/** Domain events and live subscriptions (lib/src/events.ts). */
export const eventsConfigShape = {
  /** Prefix of every event channel in Redis (several deployments or test runs on one Redis). */
  EVENTS_CHANNEL_PREFIX: z.string().min(1).max(100).default('innkeep:events:'),
  /** Events one subscriber may have waiting; past it that subscription ends (SLOW_CONSUMER), memory stays bounded. */
  EVENTS_SUBSCRIBER_BUFFER: z.coerce.number().int().min(1).max(100_000).default(1000),
};

/** The audit trail's transport (lib/src/audit-stream.ts). */
export const auditStreamConfigShape = {
  /** Redis Stream the outbox relays append audit events to and the audit subgraph reads (one per deployment). */
  AUDIT_STREAM_KEY: z.string().min(1).max(200).default('innkeep:audit:events'),
};

/** Signed trust between Innkeep's processes (lib/src/internal-token.ts). */
export const internalAuthConfigShape = {
  /** Shared by the gateway and the subgraphs; at least 32 characters. Production refuses the default. */
  INTERNAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEVELOPMENT_INTERNAL_SECRET),
  /** Lifetime of one internal token (seconds). */
  INTERNAL_TOKEN_TTL_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  /**
   * Development only: let direct calls to a subgraph without an internal token through, as an anonymous
   * caller (local debugging). Production refuses to start with it on.
   */
  SUBGRAPH_ALLOW_DIRECT: envBool(false),
};

export class ConfigError extends Error {
  constructor(service: string, issues: string[]) {
    super(`Invalid configuration for ${service}:\n  - ${issues.join('\n  - ')}\nSee .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

export function parseConfig<S extends z.ZodRawShape>(
  service: string,
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      service,
      result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return result.data;
}
