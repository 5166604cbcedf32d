import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** `innkeep_rate_limit_refusals_total{field,tier}`: field limits, the login and the webhook limiters (one definition). */
export const rateLimitRefusals = (metrics: Metrics) =>
  metrics.counter('innkeep_rate_limit_refusals_total', 'Calls refused by a rate limit (field @rateLimit, login, PMS webhooks)', ['field', 'tier'] as const);

/** What one count said. `allowed` is false once `consumed` went past `limit`. */
export interface Count {
  allowed: boolean;
  limit: number;
  consumed: number;
  remaining: number;
  /** Until the window resets. */
  msBeforeReset: number;
}

export interface Counter {
  readonly limit: number;
  readonly windowSeconds: number;
  /** Counts one hit for `key` (atomically in Redis: one Lua script, INCR + EXPIRE on first hit). */
  hit(key: string): Promise<Count>;
  /** Reads the count without adding to it (null: nothing counted in this window). */
  peek(key: string): Promise<Count | null>;
}

export interface CounterStoreOptions {
  /**
   * Shared counts (atomic across replicas); null = in-memory only (REDIS_URL unset: one process,
   * development). Give it a command timeout (lib/src/redis.ts does: REDIS_COMMAND_TIMEOUT_MS): a command
   * that times out counts in memory, so a hung Redis cannot hang requests.
   */
  redis: Redis | null;
  /** Prefix of every key (RATE_LIMIT_KEY_PREFIX). */
  keyPrefix: string;
  logger: Logger;
  metrics: Metrics;
  /** While Redis is down, an error line at most this often (with how many counts fell back). Default 30 000. */
  fallbackLogIntervalMs?: number;
}

export interface CounterStore {
  /**
   * A counter of `limit` hits per `windowSeconds` in namespace `name`. The same arguments give the same
   * counter. The Redis key is `<prefix><name>:<window>:<key>`: it does not contain the limit, so a changed
   * `max` applies to the counts already made, while a changed window starts new counts.
   */
  counter(name: string, limit: number, windowSeconds: number): Counter;
  readonly shared: boolean;
  /**
   * Resolves true once Redis is connected (at once without Redis), false after `timeoutMs`. Start-up
   * waits for it so the first requests count in Redis, not in memory; a Redis that is down does not
   * stop the start (the counters fall back).
   */
  ready(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/**
 * Fixed-window counters (rate-limiter-flexible): a window opens at a key's first hit and lasts
 * `windowSeconds`. With Redis, every replica counts on the same key through one Lua script (atomic).
 * When Redis is down, times out or is not yet connected, each counter falls back to an in-memory counter of
 * the same limit on this instance (rate-limiter-flexible's insuranceLimiter): an error log line, the
 * `innkeep_rate_limit_store_fallback_total` metric, and back to Redis by itself once ioredis has
 * reconnected. Limits are then per instance (N replicas allow up to N × limit): failing open per
 * instance was chosen over failing closed so a Redis outage does not take the API down.
 */
export function createCounterStore(options: CounterStoreOptions): CounterStore {
  const { redis, keyPrefix, logger } = options;
  const fallbacks = options.metrics.counter('innkeep_rate_limit_store_fallback_total', 'Rate-limit counts made in process memory because Redis was unavailable', []);
  const logEvery = options.fallbackLogIntervalMs ?? 30_000;
  let degradedSince: number | undefined;
  let lastLog = 0;
  let sinceLastLog = 0;
  const onFallback = () => {
    fallbacks.inc();
    sinceLastLog += 1;
    const now = Date.now();
    if (degradedSince === undefined || now - lastLog >= logEvery) {
      degradedSince ??= now;
      logger.error(
        { redisStatus: redis?.status, fallbackCounts: sinceLastLog },
        'rate-limit store (Redis) unavailable: counting in memory on this instance (limits are per instance until Redis is back)',
      );
      lastLog = now;
      sinceLastLog = 0;
    }
  };
  const onReady = () => {
    if (degradedSince === undefined) return;
    logger.info({ degradedMs: Date.now() - degradedSince }, 'rate-limit store (Redis) is back: limits are shared across replicas again');
    degradedSince = undefined;
  };
  redis?.on('ready', onReady);

  const counters = new Map<string, Counter>();
  return {
    shared: redis !== null,
    counter(name, limit, windowSeconds) {
      const id = `${name}|${limit}|${windowSeconds}`;
      let counter = counters.get(id);
      if (!counter) {
        const prefix = `${keyPrefix}${name}:${windowSeconds}`;
        const memory = new FallbackMemoryLimiter({ keyPrefix: prefix, points: limit, duration: windowSeconds }, redis ? onFallback : undefined);
        const limiter: RateLimiterAbstract = redis
          ? new RateLimiterRedis({
              storeClient: redis,
              keyPrefix: prefix,
              points: limit,
              duration: windowSeconds,
              // Not connected: count in memory at once instead of waiting for a command to fail.
              rejectIfRedisNotReady: true,
              insuranceLimiter: memory,
            })
          : memory;
        counter = wrap(limiter, limit, windowSeconds);
        counters.set(id, counter);
      }
      return counter;
    },
    async ready(timeoutMs = 2000) {
      if (!redis || redis.status === 'ready') return true;
      return new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          redis.off('ready', onceReady);
          resolve(value);
        };
        const onceReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        redis.on('ready', onceReady);
      });
    },
    close() {
      redis?.off('ready', onReady);
      counters.clear();
    },
  };
}

/** The in-memory counter a Redis counter falls back to; every use while Redis is away is reported. */
class FallbackMemoryLimiter extends RateLimiterMemory {
  constructor(
    opts: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse?: () => void,
  ) {
    super(opts);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>) {
    this.onUse?.();
    return super.consume(key, points, options);
  }

  override get(key: string | number, options?: Record<string, unknown>) {
    this.onUse?.();
    return super.get(key, options);
  }
}

function toCount(res: RateLimiterRes, limit: number): Count {
  return {
    allowed: res.consumedPoints <= limit,
    limit,
    consumed: res.consumedPoints,
    remaining: Math.max(0, limit - res.consumedPoints),
    msBeforeReset: Math.max(0, res.msBeforeNext),
  };
}

function wrap(limiter: RateLimiterAbstract, limit: number, windowSeconds: number): Counter {
  return {
    limit,
    windowSeconds,
    async hit(key) {
      try {
        return toCount(await limiter.consume(key), limit);
      } catch (rejection) {
        // rate-limiter-flexible rejects with a RateLimiterRes when the limit is passed; anything else is a failure.
        if (rejection instanceof RateLimiterRes) return toCount(rejection, limit);
        throw rejection;
      }
    },
    async peek(key) {
      const res = await limiter.get(key);
      return res ? toCount(res, limit) : null;
    },
  };
}
