import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../../../lib/src/db.js';
import { AppError, ErrorCode } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/logger.js';
import { hashPassword, verifyPassword } from './password.js';
import { RefreshTokenError, type RefreshTokens } from './refresh-tokens.js';
import type { RevocationList } from './revocation.js';
import type { AccessTokenIssuer } from './token-issuer.js';
import type { VerifiedAccessToken } from './token-verifier.js';
import { emailHash, type AuditMeta, type AuthAudit } from './audit.js';
import { actorOf } from '../../../lib/src/identity.js';

/** What POST /auth/login and /auth/refresh answer. */
export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

export interface Sessions {
  login(email: string, password: string, meta?: AuditMeta): Promise<TokenResponse>;
  refresh(refreshToken: string, meta?: AuditMeta): Promise<TokenResponse>;
  logout(token: VerifiedAccessToken, refreshToken?: string, meta?: AuditMeta): Promise<void>;
}

export const INVALID_CREDENTIALS = 'Invalid email or password';
const unauthenticated = (message: string) => new AppError(ErrorCode.UNAUTHENTICATED, message);

export interface SessionsOptions {
  prisma: PrismaClient;
  logger: Logger;
  issue: AccessTokenIssuer;
  refreshTokens: RefreshTokens;
  revocations: RevocationList;
  refreshTtlSeconds: number;
  /** Sign-ins, failed sign-ins, sign-outs and refresh-token reuse go to the audit trail. */
  audit?: AuthAudit;
}

/** The built-in issuer's session life cycle: login, refresh rotation, logout. */
export function createSessions(options: SessionsOptions): Sessions {
  const { prisma, logger, issue, refreshTokens, revocations, refreshTtlSeconds, audit } = options;
  // Unknown emails are checked against this hash, so they cost the same scrypt time as a wrong password.
  const dummyHash = hashPassword(randomBytes(16).toString('base64url'));

  async function respond(user: { id: string; email: string; roles: string[]; hotelIds: string[] }, refreshToken: string): Promise<TokenResponse> {
    const { accessToken, expiresIn } = await issue(user);
    return { accessToken, tokenType: 'Bearer', expiresIn, refreshToken, refreshExpiresIn: refreshTtlSeconds };
  }

  return {
    async login(email, password, meta = {}) {
      const user = await prisma.user.findUnique({ where: { email: email.trim().toLowerCase() } });
      const passwordOk = await verifyPassword(password, user?.passwordHash ?? (await dummyHash));
      if (!user || !passwordOk || user.disabled) {
        logger.info({ outcome: 'refused', userId: user?.id }, 'login refused');
        // The reason is for auditors only; the caller always hears the same INVALID_CREDENTIALS.
        const reason = !user ? 'unknown_email' : user.disabled ? 'account_disabled' : 'wrong_password';
        await audit?.record({
          actor: 'anonymous',
          action: 'auth.login_failed',
          resourceType: 'User',
          resourceId: user?.id ?? 'unknown',
          correlationId: meta.correlationId ?? null,
          details: { reason, emailHash: emailHash(email) },
        });
        throw unauthenticated(INVALID_CREDENTIALS);
      }
      logger.info({ outcome: 'ok', userId: user.id }, 'login');
      const response = await respond(user, await refreshTokens.start(user.id));
      await audit?.record({
        actor: `user:${user.id}`,
        action: 'auth.login_succeeded',
        resourceType: 'User',
        resourceId: user.id,
        correlationId: meta.correlationId ?? null,
        details: { method: 'password', roles: user.roles, hotelIds: user.hotelIds },
      });
      return response;
    },

    async refresh(refreshToken, meta = {}) {
      let rotated;
      try {
        rotated = await refreshTokens.rotate(refreshToken);
      } catch (error) {
        if (error instanceof RefreshTokenError) {
          if (error.failure === 'reused' && error.userId) {
            // A stolen refresh token, or a client replaying one: the whole family was revoked.
            await audit?.record({
              actor: 'anonymous',
              action: 'auth.refresh_token_reused',
              resourceType: 'User',
              resourceId: error.userId,
              correlationId: meta.correlationId ?? null,
              details: { familyRevoked: true },
            });
          }
          throw unauthenticated(error.message);
        }
        throw error;
      }
      // Roles and hotels are read again: a change reaches the user at the next refresh, at the latest.
      const user = await prisma.user.findUnique({ where: { id: rotated.userId } });
      if (!user || user.disabled) {
        await refreshTokens.revokeFamily(rotated.familyId);
        throw unauthenticated('The account is disabled');
      }
      return respond(user, rotated.token);
    },

    async logout(token, refreshToken, meta = {}) {
      if (token.jti) await revocations.revoke(token.jti, token.expiresAt);
      if (refreshToken) await refreshTokens.revokeFamilyOf(refreshToken, token.principal.id);
      logger.info({ userId: token.principal.id }, 'logout');
      await audit?.record({
        actor: actorOf(token.principal),
        action: 'auth.logout',
        resourceType: 'User',
        resourceId: token.principal.id,
        correlationId: meta.correlationId ?? null,
        details: { refreshTokenRevoked: !!refreshToken },
      });
    },
  };
}
