import { Redis } from 'ioredis';
import type { Metrics } from './metrics.js';

/**
 * Redis is optional in development (REDIS_URL unset → in-memory stand-ins) and required in production
 * and in the test suite. The identity, resilience and live issues add its users (revocation list, rate
 * limits, pub/sub); this module is where they get their clients.
 */
export interface RedisTimeouts {
  /** One connection attempt (ms); a failed attempt is retried by `retryStrategy`. Default 2000. */
  connectTimeoutMs?: number;
  /** One command (ms): a hung Redis fails the command instead of hanging the request. Default 1000. */
  commandTimeoutMs?: number;
  /** Reports the connection in `innkeep_redis_connected{client}` (1 ready, 0 otherwise). */
  metrics?: Metrics;
}

const clientsByRegistry = new WeakMap<object, Map<string, Redis>>();

/** One gauge per process for all its Redis clients, read at scrape time. */
function observeRedis(metrics: Metrics, name: string, client: Redis): void {
  let clients = clientsByRegistry.get(metrics.registry);
  if (!clients) {
    const known = new Map<string, Redis>();
    clients = known;
    clientsByRegistry.set(metrics.registry, known);
    metrics.sampled('innkeep_redis_connected', 'Redis connections of this process by client: 1 ready, 0 connecting / reconnecting / down', ['client'], () =>
      [...known].map(([client, redis]) => [{ client }, redis.status === 'ready' ? 1 : 0] as [Record<string, string>, number]),
    );
  }
  clients.set(name, client);
}

/**
 * A Redis client that never hangs a request and heals by itself:
 *  - while disconnected, commands fail at once (no offline queue) — each user decides what that means
 *    (docs/resilience.md: the revocation check fails closed);
 *  - connect and command timeouts bound a hung or unreachable server;
 *  - it reconnects forever with a capped backoff, so a Redis restart needs no restart here.
 */
export function createRedis(url: string, name: string, timeouts: RedisTimeouts = {}): Redis {
  const client = new Redis(url, {
    connectionName: `innkeep-${name}`,
    // Keep reconnecting with a capped backoff: a Redis restart must heal without restarting us.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: timeouts.connectTimeoutMs ?? 2000,
    commandTimeout: timeouts.commandTimeoutMs ?? 1000,
    // Detects a peer that vanished without closing the socket (host down, network partition).
    keepAlive: 10_000,
  });
  if (timeouts.metrics) observeRedis(timeouts.metrics, name, client);
  return client;
}

/** True when a Redis server answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
