import type { PrismaClient } from '../../../lib/src/db.js';
import type { Principal } from '../../../lib/src/identity.js';
import { AuthenticationError } from './errors.js';
import { parseApiKey, secretMatches } from './api-key-secret.js';
import type { UsageCounter } from './api-key-usage.js';

export type ApiKeyAuthenticator = (key: string) => Promise<Principal>;

/**
 * `X-API-Key`: one indexed read by prefix per request (so a revocation takes effect at once, on every
 * replica), a constant-time hash comparison, then expiry, revocation and rotation overlap. Only
 * successful uses are counted.
 */
export function createApiKeyAuthenticator(options: { prisma: PrismaClient; usage: UsageCounter }): ApiKeyAuthenticator {
  const { prisma, usage } = options;
  return async (key) => {
    const parsed = parseApiKey(key);
    if (!parsed) throw new AuthenticationError('unknown_api_key');
    const row = await prisma.apiKey.findUnique({
      where: { prefix: parsed.prefix },
      select: { id: true, secretHash: true, scopes: true, hotelIds: true, expiresAt: true, revokedAt: true, validUntil: true },
    });
    if (!row || !secretMatches(parsed.secret, row.secretHash)) throw new AuthenticationError('unknown_api_key');
    if (row.revokedAt) throw new AuthenticationError('api_key_revoked');
    const now = Date.now();
    if (row.expiresAt && row.expiresAt.getTime() <= now) throw new AuthenticationError('api_key_expired');
    if (row.validUntil && row.validUntil.getTime() <= now) {
      throw new AuthenticationError('api_key_expired', 'The API key was replaced by a newer one and its overlap period has ended');
    }
    usage.record(row.id, now);
    return { kind: 'apiKey', id: row.id, roles: [], hotelIds: row.hotelIds, scopes: row.scopes };
  };
}
