import type { Redis } from 'ioredis';
import { isAuthenticationError } from '../../gateway/src/auth/errors.js';

/** The reason of the AuthenticationError `work` must throw (any other error is rethrown). */
export async function reasonOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (isAuthenticationError(error)) return error.reason;
    throw error;
  }
  throw new Error('expected an AuthenticationError, but the credential was accepted');
}

/** Deletes this test's keys (the client's own `keyPrefix`) and disconnects. */
export async function dropTestKeys(redis: Redis | undefined, prefix: string): Promise<void> {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  redis.disconnect();
}
