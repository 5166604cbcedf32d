import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../../lib/src/db.js';
import type { Logger } from '../../../lib/src/logger.js';

/**
 * Refresh tokens: opaque 256-bit random strings; the database keeps only their SHA-256. A login starts a
 * family; each refresh marks the presented token used and adds a new one to the family. Presenting a used
 * token again means it was copied (by an attacker, or a client that kept an old one): the whole family is
 * revoked, so the newest token stops working too and the user must log in again.
 *
 * Strict on purpose: two refreshes racing with the same token (a client retry) also count as reuse.
 */
export type RefreshFailure = 'unknown' | 'expired' | 'revoked' | 'reused';

export class RefreshTokenError extends Error {
  override name = 'RefreshTokenError';
  constructor(
    readonly failure: RefreshFailure,
    /** Whose token it was (known for reuse: the audit trail records it). */
    readonly userId?: string,
  ) {
    super(REFRESH_MESSAGES[failure]);
  }
}

const REFRESH_MESSAGES: Record<RefreshFailure, string> = {
  unknown: 'The refresh token is not valid',
  expired: 'The refresh token has expired; log in again',
  revoked: 'The refresh token has been revoked; log in again',
  reused: 'The refresh token was already used; the session has been revoked for safety, log in again',
};

export const hashRefreshToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const newToken = () => randomBytes(32).toString('base64url');

export interface RefreshTokens {
  /** A new family for `userId`; returns the token. */
  start(userId: string): Promise<string>;
  /** Spends `token` and returns its successor and owner; throws RefreshTokenError. */
  rotate(token: string): Promise<{ userId: string; familyId: string; token: string }>;
  revokeFamily(familyId: string): Promise<void>;
  /** Logout: revokes the family of `token` if it belongs to `userId` (anything else is ignored). */
  revokeFamilyOf(token: string, userId: string): Promise<void>;
}

export function createRefreshTokens(options: { prisma: PrismaClient; logger: Logger; ttlSeconds: number }): RefreshTokens {
  const { prisma, logger, ttlSeconds } = options;
  const expiry = () => new Date(Date.now() + ttlSeconds * 1000);

  async function revokeFamily(familyId: string): Promise<void> {
    await prisma.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } });
  }

  return {
    async start(userId) {
      const token = newToken();
      await prisma.refreshToken.create({ data: { familyId: randomUUID(), userId, tokenHash: hashRefreshToken(token), expiresAt: expiry() } });
      return token;
    },

    async rotate(token) {
      const row = await prisma.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(token) } });
      if (!row) throw new RefreshTokenError('unknown');
      if (row.revokedAt) throw new RefreshTokenError('revoked');
      const reused = async (): Promise<never> => {
        await revokeFamily(row.familyId);
        logger.warn({ familyId: row.familyId, userId: row.userId }, 'refresh token reused: family revoked');
        throw new RefreshTokenError('reused', row.userId);
      };
      if (row.usedAt) return reused();
      if (row.expiresAt.getTime() <= Date.now()) throw new RefreshTokenError('expired');

      const next = newToken();
      const spent = await prisma.$transaction(async (tx) => {
        // Conditional update: of two concurrent refreshes with one token, exactly one wins.
        const claimed = await tx.refreshToken.updateMany({ where: { id: row.id, usedAt: null, revokedAt: null }, data: { usedAt: new Date() } });
        if (claimed.count !== 1) return false;
        await tx.refreshToken.create({ data: { familyId: row.familyId, userId: row.userId, tokenHash: hashRefreshToken(next), expiresAt: expiry() } });
        return true;
      });
      if (!spent) return reused();
      return { userId: row.userId, familyId: row.familyId, token: next };
    },

    revokeFamily,

    async revokeFamilyOf(token, userId) {
      const row = await prisma.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(token) }, select: { familyId: true, userId: true } });
      if (row && row.userId === userId) await revokeFamily(row.familyId);
    },
  };
}
