import { Redis } from 'ioredis';

/**
 * Redis is optional in development (REDIS_URL unset → in-memory stand-ins) and required in production
 * and in the test suite. The identity, resilience and live issues add its users (revocation list, rate
 * limits, pub/sub); this module is where they get their clients.
 */
export function createRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: `innkeep-${name}`,
    // Keep reconnecting with a capped backoff: a Redis restart must heal without restarting us.
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
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
