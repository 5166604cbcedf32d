import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { ConfigError } from '../../../lib/src/config.js';
import type { PrismaClient } from '../../../lib/src/db.js';
import type { Principal } from '../../../lib/src/identity.js';
import type { Logger } from '../../../lib/src/logger.js';
import { createApiKeyAuthenticator } from './api-key-auth.js';
import { createUsageCounter } from './api-key-usage.js';
import { createApiKeyService, type ApiKeyService } from './api-keys.js';
import type { AuthAudit } from './audit.js';
import { DEVELOPMENT_KEY_ENCRYPTION_SECRET, type AuthConfig } from './config.js';
import { createRefreshTokens } from './refresh-tokens.js';
import { memoryRevocationList, redisRevocationList, type RevocationList } from './revocation.js';
import { mountAuthRoutes } from './routes.js';
import { createSessions } from './sessions.js';
import { createSigningKeyStore, SIGNING_ALGORITHM } from './signing-keys.js';
import { createAccessTokenIssuer } from './token-issuer.js';
import {
  createBearerVerifier,
  remoteKeyResolver,
  storeKeyResolver,
  type BearerVerifier,
  type RemoteJwksOptions,
  type VerifiedAccessToken,
} from './token-verifier.js';

export { AuthenticationError, isAuthenticationError, wwwAuthenticate, type AuthenticationFailure } from './errors.js';
export type { ApiKeyService, ApiKeyView } from './api-keys.js';
export { authConfigShape, DEVELOPMENT_KEY_ENCRYPTION_SECRET, type AuthConfig } from './config.js';
export type { TokenResponse } from './sessions.js';
export type { VerifiedAccessToken } from './token-verifier.js';

export interface AuthService {
  /** Verifies `Authorization: Bearer` JWTs; throws AuthenticationError. */
  authenticateBearer(token: string): Promise<Principal>;
  /** As authenticateBearer, with the token's expiry and ID (long-lived connections close when it expires). */
  verifyBearer(token: string): Promise<VerifiedAccessToken>;
  /** Verifies an `X-API-Key`; counts usage; throws AuthenticationError. */
  authenticateApiKey(key: string): Promise<Principal>;
  /** Mounts POST /auth/login, /auth/refresh, /auth/logout and GET /.well-known/jwks.json. */
  mountRoutes(app: Express): void;
  apiKeys: ApiKeyService;
  /** Writes pending API key usage and stops the flush timer. Does not close prisma or redis (not ours). */
  close(): Promise<void>;
}

/** Knobs with production defaults; tests turn them down instead of sleeping. */
export interface AuthTuning {
  /** Signing keys are re-read from the database at most this often. Default 30 000. */
  keyCacheTtlMs?: number;
  /** An unknown kid re-reads the keys, at most this often. Default 1000. */
  unknownKidReloadIntervalMs?: number;
  /** API key usage is written every this many ms. Default 5000. */
  usageFlushIntervalMs?: number;
  /** External IdP JWKS cache. */
  jwks?: RemoteJwksOptions;
}

export interface AuthServiceOptions {
  prisma: PrismaClient;
  /** Revocation list; null = an in-memory Map (single-process development only; production refuses). */
  redis: Redis | null;
  logger: Logger;
  config: AuthConfig;
  production: boolean;
  tuning?: AuthTuning;
  /** The audit trail of sign-ins, sign-outs and API-key changes (gateway/src/auth/audit.ts). */
  audit?: AuthAudit;
}

/** Refusals that must stop start-up, each naming the variable to fix. */
function configProblems(options: AuthServiceOptions): string[] {
  const { config, production, redis } = options;
  const external = config.AUTH_JWKS_URL !== undefined;
  const problems: string[] = [];
  if (!external && !config.AUTH_ALGORITHMS.includes(SIGNING_ALGORITHM)) {
    problems.push(`AUTH_ALGORITHMS: must include ${SIGNING_ALGORITHM}, which the built-in issuer signs with (or set AUTH_JWKS_URL for an external IdP)`);
  }
  if (production && !external && config.AUTH_KEY_ENCRYPTION_SECRET === DEVELOPMENT_KEY_ENCRYPTION_SECRET) {
    problems.push('AUTH_KEY_ENCRYPTION_SECRET: is the development default; set a secret of at least 32 random characters');
  }
  if (production && external && !config.AUTH_JWKS_URL!.startsWith('https://')) {
    problems.push('AUTH_JWKS_URL: must be an https:// URL in production');
  }
  if (production && !redis) {
    problems.push('REDIS_URL: production needs Redis for the token revocation list shared by every gateway replica');
  }
  return problems;
}

interface Identity {
  verify: BearerVerifier;
  mountRoutes(app: Express): void;
}

/** Built-in issuer: users and ES256 signing keys in PostgreSQL; login, refresh, logout and JWKS routes. */
async function builtInIssuer(options: AuthServiceOptions, logger: Logger, revocations: RevocationList): Promise<Identity> {
  const { prisma, config, production, tuning = {} } = options;
  const keys = createSigningKeyStore({
    prisma,
    logger,
    encryptionSecret: config.AUTH_KEY_ENCRYPTION_SECRET,
    production,
    cacheTtlMs: tuning.keyCacheTtlMs,
    unknownKidReloadIntervalMs: tuning.unknownKidReloadIntervalMs,
  });
  await keys.initialize();
  const verify = createBearerVerifier({ config, revocations, builtIn: true, getKey: storeKeyResolver(keys) });
  const sessions = createSessions({
    prisma,
    logger,
    issue: createAccessTokenIssuer({ keys, config }),
    refreshTokens: createRefreshTokens({ prisma, logger, ttlSeconds: config.REFRESH_TOKEN_TTL_SECONDS }),
    revocations,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    ...(options.audit ? { audit: options.audit } : {}),
  });
  return { verify, mountRoutes: (app) => mountAuthRoutes(app, { verify, sessions, keys, logout: sessions.logout, logger }) };
}

/** External IdP: its JWKS verifies; it logs users in. Logout still revokes the token's jti here. */
function externalIdp(options: AuthServiceOptions, jwksUrl: string, logger: Logger, revocations: RevocationList): Identity {
  const verify = createBearerVerifier({ config: options.config, revocations, builtIn: false, getKey: remoteKeyResolver(jwksUrl, options.tuning?.jwks) });
  const logout = async (token: VerifiedAccessToken) => {
    if (token.jti) await revocations.revoke(token.jti, token.expiresAt);
  };
  return { verify, mountRoutes: (app) => mountAuthRoutes(app, { verify, logout, logger }) };
}

/**
 * The gateway's identity: built-in issuer or external IdP (AUTH_JWKS_URL) for bearer tokens, plus API
 * keys. Throws at start-up on a configuration that must not run: see configProblems, and in production
 * a missing (or development-only) signing key.
 */
export async function createAuthService(options: AuthServiceOptions): Promise<AuthService> {
  const { prisma, redis, config, tuning = {} } = options;
  const logger = options.logger.child({ component: 'auth' });
  const problems = configProblems(options);
  if (problems.length > 0) throw new ConfigError('gateway', problems);

  const revocations = redis ? redisRevocationList(redis, logger) : memoryRevocationList();
  const identity = config.AUTH_JWKS_URL
    ? externalIdp(options, config.AUTH_JWKS_URL, logger, revocations)
    : await builtInIssuer(options, logger, revocations);
  // Created after the issuer: a refused start-up leaves no timer behind.
  const usage = createUsageCounter({ prisma, logger, flushIntervalMs: tuning.usageFlushIntervalMs });

  return {
    authenticateBearer: async (token) => (await identity.verify(token)).principal,
    verifyBearer: (token) => identity.verify(token),
    authenticateApiKey: createApiKeyAuthenticator({ prisma, usage }),
    mountRoutes: identity.mountRoutes,
    apiKeys: createApiKeyService({ prisma, usage, rotationOverlapSeconds: config.API_KEY_ROTATION_OVERLAP_SECONDS, ...(options.audit ? { audit: options.audit } : {}) }),
    close: () => usage.close(),
  };
}
