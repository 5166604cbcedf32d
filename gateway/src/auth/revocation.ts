import type { Redis } from 'ioredis';
import type { Logger } from '../../../lib/src/logger.js';
import { ServiceUnavailableError } from '../../../lib/src/errors.js';

/**
 * Revoked access-token IDs (`jti`), each kept until the token's own `exp` — after that the token is
 * refused as expired anyway, so the list never grows beyond the tokens still alive.
 */
export interface RevocationList {
  revoke(jti: string, expiresAtSeconds: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

const KEY = (jti: string) => `auth:revoked-jti:${jti}`;

/**
 * Shared by every gateway replica. Fails closed: when Redis does not answer, a bearer token cannot be
 * checked and the request gets SERVICE_UNAVAILABLE (retryable), never a pass. Callers that need a
 * namespace (tests, several deployments on one Redis) give the client an ioredis `keyPrefix`.
 */
export function redisRevocationList(redis: Redis, logger: Logger): RevocationList {
  const unavailable = (error: unknown): never => {
    logger.warn({ err: error }, 'revocation list (Redis) unavailable');
    throw new ServiceUnavailableError('Token revocation cannot be checked right now; retry shortly', { reason: 'REVOCATION_STORE_UNAVAILABLE' });
  };
  return {
    async revoke(jti, expiresAtSeconds) {
      if (expiresAtSeconds * 1000 <= Date.now()) return;
      await redis.set(KEY(jti), '1', 'EXAT', expiresAtSeconds).catch(unavailable);
    },
    async isRevoked(jti) {
      return (await redis.exists(KEY(jti)).catch(unavailable)) === 1;
    },
  };
}

/** Single-process development without Redis: a Map, swept of expired entries as it is written. */
export function memoryRevocationList(now: () => number = Date.now): RevocationList {
  const revoked = new Map<string, number>();
  const sweep = () => {
    const t = now();
    for (const [jti, expiresAt] of revoked) if (expiresAt <= t) revoked.delete(jti);
  };
  return {
    async revoke(jti, expiresAtSeconds) {
      if (revoked.size > 1000) sweep();
      if (expiresAtSeconds * 1000 > now()) revoked.set(jti, expiresAtSeconds * 1000);
    },
    async isRevoked(jti) {
      const expiresAt = revoked.get(jti);
      return expiresAt !== undefined && expiresAt > now();
    },
  };
}
