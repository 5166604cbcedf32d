import { createRemoteJWKSet, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { isAppError, ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { Principal } from '../../../lib/src/identity.js';
import { principalFromClaims } from './claims.js';
import type { AuthConfig } from './config.js';
import { AuthenticationError, isAuthenticationError, type AuthenticationFailure } from './errors.js';
import type { RevocationList } from './revocation.js';
import type { SigningKeyStore, VerificationKey } from './signing-keys.js';
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

type ResolvedKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/** Built-in issuer: the kid must name a live key of ours, and the header alg must be that key's alg. */
export function storeKeyResolver(keys: SigningKeyStore): JWTVerifyGetKey {
  // The store re-imports every key on each reload (30 s). The verification cache trusts an entry only
  // while the resolver hands back the very same key object, so keep the first import of a kid for as
  // long as its alg and public half are unchanged: entries then survive reloads, not key changes.
  const firstImport = new Map<string, { material: string; key: ResolvedKey }>();
  const stable = new WeakMap<VerificationKey, ResolvedKey>();
  const stableKey = (key: VerificationKey): ResolvedKey => {
    let resolved = stable.get(key);
    if (resolved) return resolved;
    const material = JSON.stringify([key.alg, key.publicJwk]);
    const first = firstImport.get(key.kid);
    resolved = first?.material === material ? first.key : key.key;
    firstImport.set(key.kid, { material, key: resolved });
    stable.set(key, resolved);
    return resolved;
  };
  return async (header) => {
    if (typeof header.kid !== 'string' || !header.kid) throw new AuthenticationError('unknown_key');
    const key = await keys.verificationKey(header.kid);
    if (!key) throw new AuthenticationError('unknown_key');
    if (key.alg !== header.alg) throw new AuthenticationError('algorithm_not_allowed');
    return stableKey(key);
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
  /** Successful verifications remembered (by exact token string). Default 10 000; 0 turns the cache off. */
  cacheMaxEntries?: number;
  /** Longest an entry lives, whatever the token's exp. Default 5 min. */
  cacheMaxAgeMs?: number;
  /** Epoch ms. Default Date.now (tests move it instead of sleeping). */
  now?: () => number;
}

/** What one successful jwtVerify proved: valid for this key while exp / nbf hold. */
interface VerifiedEntry {
  payload: JWTPayload;
  header: JWTHeaderParameters;
  key: ResolvedKey;
  principal: Principal;
}

/** Bounds the cache by bytes too: external IdPs' tokens can be several kB each. */
const CACHE_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Checks, in order: algorithm allow-list (before any key is looked up, so `alg: none` and HS256-with-
 * the-public-key die here), known kid, signature, typ, exp / nbf / iss / aud and required claims, then the
 * revocation list. Every refusal is an AuthenticationError with its reason.
 *
 * The signature and static claims of a token that passed are cached (an ES256 verify is the dearest step
 * of a request). A hit is trusted only while exp / nbf still hold on this clock and getKey still returns
 * the identical key object — a retired, removed or replaced key, or a reloaded JWKS, turns it into a miss
 * that verifies from scratch. The revocation list is consulted on every request, hit or miss.
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const { config, getKey, revocations, builtIn } = options;
  const now = options.now ?? Date.now;
  const maxAgeMs = options.cacheMaxAgeMs ?? 300_000;
  const maxEntries = options.cacheMaxEntries ?? 10_000;
  const cache =
    maxEntries > 0
      ? new LRUCache<string, VerifiedEntry>({
          max: maxEntries,
          maxSize: CACHE_MAX_BYTES,
          sizeCalculation: (_, token) => token.length * 2, // the string plus its decoded payload
          ttl: maxAgeMs,
          // An injected clock drives expiry too (read on every check: no 1 ms reuse of a stale reading).
          ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
        })
      : undefined;
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

  /** The same checks jose makes on exp / nbf, against the same clock and tolerance. */
  const inTime = (payload: JWTPayload, at: number) =>
    payload.exp! > at - CLOCK_TOLERANCE_SECONDS && (payload.nbf === undefined || payload.nbf <= at + CLOCK_TOLERANCE_SECONDS);

  async function cached(token: string): Promise<VerifiedEntry | undefined> {
    const entry = cache?.get(token);
    if (!entry) return undefined;
    let key: ResolvedKey | undefined;
    try {
      const [protectedHeader, payload, signature] = token.split('.');
      key = await getKey(entry.header, { protected: protectedHeader, payload: payload!, signature: signature! });
    } catch {
      // Unknown or unreachable key now: the full path below gives the precise refusal.
    }
    if (key === entry.key && inTime(entry.payload, Math.floor(now() / 1000))) return entry;
    cache!.delete(token);
    return undefined;
  }

  async function verified(token: string): Promise<VerifiedEntry> {
    let payload: JWTPayload;
    let header: JWTHeaderParameters;
    let key: ResolvedKey | undefined;
    const recordingGetKey: JWTVerifyGetKey = async (h, t) => (key = await getKey(h, t));
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(token, recordingGetKey, { ...verifyOptions, currentDate: new Date(now()) }));
    } catch (error) {
      if (isAuthenticationError(error) || isAppError(error)) throw error;
      throw new AuthenticationError(failureOf(error));
    }
    if (typeof payload.sub !== 'string' || !payload.sub) throw new AuthenticationError('malformed');
    if (payload.jti !== undefined && typeof payload.jti !== 'string') throw new AuthenticationError('malformed');
    const entry = { payload, header, key: key!, principal: principalFromClaims(payload, claimNames) };
    // Never past exp (+ the tolerance jose grants) nor the cap; only successes get here.
    const ttl = Math.min(maxAgeMs, (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000 - now());
    if (cache && ttl >= 1) cache.set(token, entry, { ttl: Math.floor(ttl) });
    return entry;
  }

  return async (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new AuthenticationError('malformed');
    const { payload, principal } = (await cached(token)) ?? (await verified(token));
    if (payload.jti && (await revocations.isRevoked(payload.jti))) throw new AuthenticationError('revoked');
    // A copy per request: no caller can change what the next request with this token sees.
    return {
      principal: { ...principal, roles: [...principal.roles], hotelIds: [...principal.hotelIds], scopes: [...principal.scopes] },
      jti: payload.jti,
      expiresAt: payload.exp!,
    };
  };
}
