import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isAppError, ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { Principal } from '../../../lib/src/identity.js';
import { principalFromClaims } from './claims.js';
import type { AuthConfig } from './config.js';
import { AuthenticationError, isAuthenticationError, type AuthenticationFailure } from './errors.js';
import type { RevocationList } from './revocation.js';
import type { SigningKeyStore } from './signing-keys.js';
import { ACCESS_TOKEN_TYPE } from './token-issuer.js';

export interface VerifiedAccessToken {
  principal: Principal;
  /** Absent only for an external IdP that issues no `jti` (such tokens cannot be revoked one by one). */
  jti?: string;
  /** `exp`, epoch seconds. */
  expiresAt: number;
}

export type BearerVerifier = (token: string) => Promise<VerifiedAccessToken>;

/** Clock skew tolerated between the issuer and this replica (exp and nbf). */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Anything longer is not a token we issue or accept; refuse it before parsing. */
const MAX_TOKEN_LENGTH = 8192;

/** Built-in issuer: the kid must name a live key of ours, and the header alg must be that key's alg. */
export function storeKeyResolver(keys: SigningKeyStore): JWTVerifyGetKey {
  return async (header) => {
    if (typeof header.kid !== 'string' || !header.kid) throw new AuthenticationError('unknown_key');
    const key = await keys.verificationKey(header.kid);
    if (!key) throw new AuthenticationError('unknown_key');
    if (key.alg !== header.alg) throw new AuthenticationError('algorithm_not_allowed');
    return key.key;
  };
}

export interface RemoteJwksOptions {
  /** Minimum time between two fetches caused by unknown kids (jose `cooldownDuration`). Default 30 s. */
  cooldownMs?: number;
  /** Refetch the key set at least this often even when every kid is known. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** Fetch timeout. Default 5 s. */
  timeoutMs?: number;
}

/** External IdP: jose's remote JWKS (cached; refetched on an unknown kid, at most once per cooldown). */
export function remoteKeyResolver(url: string, options: RemoteJwksOptions = {}): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5000,
  });
  return async (header, token) => {
    if (typeof header.kid !== 'string' || !header.kid) throw new AuthenticationError('unknown_key');
    try {
      return await jwks(header, token);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw new AuthenticationError('unknown_key');
      // Timeout, network failure, or an IdP answering garbage: not the caller's fault.
      throw new ServiceUnavailableError('The identity provider keys cannot be fetched right now; retry shortly', {
        reason: 'JWKS_UNAVAILABLE',
      });
    }
  };
}

function failureOf(error: unknown): AuthenticationFailure {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm_not_allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad_signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return 'not_yet_valid';
      if (claim === 'iss') return 'wrong_issuer';
      if (claim === 'aud') return 'wrong_audience';
      return 'malformed';
    default:
      return 'malformed';
  }
}

export interface BearerVerifierOptions {
  config: AuthConfig;
  getKey: JWTVerifyGetKey;
  revocations: RevocationList;
  /** Built-in tokens must carry every claim we issue and `typ: at+jwt`; external ones need exp and sub. */
  builtIn: boolean;
}

/**
 * Checks, in order: algorithm allow-list (before any key is looked up, so `alg: none` and HS256-with-
 * the-public-key die here), known kid, signature, typ, exp / nbf / iss / aud and required claims, then the
 * revocation list. Every refusal is an AuthenticationError with its reason.
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const { config, getKey, revocations, builtIn } = options;
  const verifyOptions = {
    algorithms: config.AUTH_ALGORITHMS,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: builtIn ? ['exp', 'iat', 'nbf', 'jti', 'sub'] : ['exp', 'sub'],
    ...(builtIn ? { typ: ACCESS_TOKEN_TYPE } : {}),
  };
  // Our own tokens always say `roles` / `hotelIds`; the configurable names are for an external IdP.
  const claimNames = builtIn ? { roles: 'roles', hotelIds: 'hotelIds' } : { roles: config.AUTH_ROLES_CLAIM, hotelIds: config.AUTH_HOTEL_IDS_CLAIM };

  return async (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new AuthenticationError('malformed');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (error) {
      if (isAuthenticationError(error) || isAppError(error)) throw error;
      throw new AuthenticationError(failureOf(error));
    }
    if (typeof payload.sub !== 'string' || !payload.sub) throw new AuthenticationError('malformed');
    if (payload.jti !== undefined && typeof payload.jti !== 'string') throw new AuthenticationError('malformed');
    if (payload.jti && (await revocations.isRevoked(payload.jti))) throw new AuthenticationError('revoked');
    return { principal: principalFromClaims(payload, claimNames), jti: payload.jti, expiresAt: payload.exp! };
  };
}
