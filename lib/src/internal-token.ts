import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { webcrypto } from 'node:crypto';
import { principalKey, type Principal, type PrincipalKind, type Role } from './identity.js';

/**
 * The signed trust between Innkeep's own processes. The gateway (after verifying the caller's JWT or API
 * key) and the subgraphs (for their peer calls) sign a short-lived token per upstream request carrying the
 * principal and the correlation ID, with the target service as audience. Every subgraph verifies it and
 * refuses requests without a valid one — including `_service` and `_entities`.
 *
 * HS256 with a secret shared by the internal services: verification costs microseconds on every request.
 * Trade-off (documented in docs/security.md): any holder of the secret can mint internal tokens, so it
 * must be as well kept as a database password; per-issuer asymmetric keys are the next step.
 */
export const INTERNAL_ISSUER = 'innkeep-internal';
const ALGORITHM = 'HS256';
const CLOCK_TOLERANCE_SECONDS = 5;

export interface InternalClaims {
  principal: Principal;
  correlationId: string;
  /** Who signed: `gateway` or the calling subgraph. */
  issuedBy: string;
  /**
   * The end client's IP address as the gateway saw it (claim `ip`), when the signer gave one: anonymous
   * callers are rate-limited by it (lib/src/rate-limit). Signed, so a client cannot choose its own.
   */
  clientIp?: string;
}

/** Optional per-request facts carried beside the principal. */
export interface InternalTokenExtras {
  clientIp?: string;
}

export class InternalTokenError extends Error {
  override name = 'InternalTokenError';
}

/**
 * The shared secret as a WebCrypto HMAC key, imported once. jose imports a raw `Uint8Array` secret again
 * on every sign and verify; measured on this machine (20,000 HS256 tokens) that import was ~25–35 µs of the
 * ~85–90 µs each sign or verify cost. Tokens are signed per identity, so traffic of many callers (each new
 * anonymous client IP is its own identity) paid it on nearly every request, at the gateway and again at
 * the subgraph.
 */
function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

export class InternalTokenSigner {
  private readonly key: Promise<webcrypto.CryptoKey>;
  /** Bounded, and an entry lives half a token's life: a reused token always has the other half left. */
  private readonly cache: LRUCache<string, string>;

  constructor(
    secret: string,
    private readonly issuedBy: string,
    private readonly ttlSeconds = 60,
  ) {
    this.key = hmacKey(secret, 'sign');
    this.cache = new LRUCache({ max: 5000, ttl: Math.max(1, Math.floor((ttlSeconds * 1000) / 2)) });
  }

  /**
   * A token for `audience`. Tokens are reused for the same principal, audience and correlation ID while
   * they have more than half their life left, so a request fanning out to many fetches signs once.
   * An empty correlation ID writes no `cid` claim: the token is then bound to the identity, not a request.
   */
  async sign(principal: Principal, audience: string, correlationId: string, extras: InternalTokenExtras = {}): Promise<string> {
    const cacheKey = `${audience}|${correlationId}|${principalKey(principal, extras.clientIp)}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const token = await new SignJWT({
      kind: principal.kind,
      roles: principal.roles,
      hotelIds: principal.hotelIds,
      scopes: principal.scopes,
      ...(principal.email ? { email: principal.email } : {}),
      ...(correlationId ? { cid: correlationId } : {}),
      by: this.issuedBy,
      ...(extras.clientIp ? { ip: extras.clientIp } : {}),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'innkeep-internal+jwt' })
      .setIssuer(INTERNAL_ISSUER)
      .setAudience(audience)
      .setSubject(principal.id)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(await this.key);
    this.cache.set(cacheKey, token);
    return token;
  }
}

export interface InternalTokenVerifierOptions {
  /** Verified tokens remembered (by exact token string). Default 10 000; 0 turns the cache off. */
  cacheMaxEntries?: number;
  /** Epoch ms. Default Date.now (tests move it instead of sleeping). */
  now?: () => number;
}

/** Longest a verification is remembered, whatever the token's exp. */
const VERIFY_CACHE_MAX_AGE_MS = 60_000;

export class InternalTokenVerifier {
  private readonly key: Promise<webcrypto.CryptoKey>;
  private readonly now: () => number;
  /**
   * Every upstream fetch of a request carries the same token (the signer reuses it), so each subgraph
   * sees it many times. Only successes are cached, each at most until its exp (+ tolerance), and exp is
   * checked again on every hit. The secret is fixed for the verifier's life, so no key can change under it.
   */
  private readonly cache: LRUCache<string, { claims: InternalClaims; exp: number; nbf?: number }> | undefined;

  constructor(
    secret: string,
    private readonly audience: string,
    options: InternalTokenVerifierOptions = {},
  ) {
    this.key = hmacKey(secret, 'verify');
    this.now = options.now ?? Date.now;
    const max = options.cacheMaxEntries ?? 10_000;
    // An injected clock drives expiry too (read on every check: no 1 ms reuse of a stale reading).
    const clock = options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {};
    this.cache = max > 0 ? new LRUCache({ max, ttl: VERIFY_CACHE_MAX_AGE_MS, ...clock }) : undefined;
  }

  async verify(token: string): Promise<InternalClaims> {
    const hit = this.cache?.get(token);
    if (hit) {
      // The checks jose makes on exp / nbf, with the same clock and tolerance.
      const at = Math.floor(this.now() / 1000);
      if (hit.exp > at - CLOCK_TOLERANCE_SECONDS && (hit.nbf === undefined || hit.nbf <= at + CLOCK_TOLERANCE_SECONDS)) return copyOf(hit.claims);
      this.cache!.delete(token); // and jose below gives the refusal
    }
    return copyOf(await this.verifyFully(token));
  }

  private async verifyFully(token: string): Promise<InternalClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: [ALGORITHM],
        issuer: INTERNAL_ISSUER,
        audience: this.audience,
        typ: 'innkeep-internal+jwt',
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new InternalTokenError('internal token expired');
      throw new InternalTokenError('internal token invalid');
    }
    try {
      const principal: Principal = {
        kind: payload.kind as PrincipalKind,
        id: payload.sub!,
        roles: (payload.roles as Role[]) ?? [],
        hotelIds: (payload.hotelIds as string[]) ?? [],
        scopes: (payload.scopes as string[]) ?? [],
        ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
      };
      const claims: InternalClaims = {
        principal,
        correlationId: String(payload.cid ?? ''),
        issuedBy: String(payload.by ?? ''),
        ...(typeof payload.ip === 'string' ? { clientIp: payload.ip } : {}),
      };
      // Never past exp (+ the tolerance jose grants) nor the cap.
      const ttl = Math.min(VERIFY_CACHE_MAX_AGE_MS, (payload.exp! + CLOCK_TOLERANCE_SECONDS) * 1000 - this.now());
      if (this.cache && ttl >= 1) this.cache.set(token, { claims, exp: payload.exp!, nbf: payload.nbf }, { ttl: Math.floor(ttl) });
      return claims;
    } catch {
      throw new InternalTokenError('internal token invalid');
    }
  }
}

/** A copy per request: no caller can change what the next request with this token sees. */
function copyOf(claims: InternalClaims): InternalClaims {
  const { principal } = claims;
  const list = <T>(value: T[]): T[] => (Array.isArray(value) ? [...value] : value);
  return { ...claims, principal: { ...principal, roles: list(principal.roles), hotelIds: list(principal.hotelIds), scopes: list(principal.scopes) } };
}

const PRINCIPAL_KINDS = new Set<string>(['user', 'apiKey', 'service', 'anonymous']);
const BEARER = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * `Bearer <internal token>` (an Authorization header, or the same string inside a graphql-ws message) →
 * its verified claims. Throws InternalTokenError for anything else, including an unknown principal kind.
 */
export async function verifyBearer(verifier: InternalTokenVerifier, value: unknown): Promise<InternalClaims> {
  const token = typeof value === 'string' ? BEARER.exec(value)?.[1] : undefined;
  if (!token) throw new InternalTokenError('internal token invalid');
  const claims = await verifier.verify(token);
  if (!PRINCIPAL_KINDS.has(claims.principal.kind)) throw new InternalTokenError('internal token invalid');
  return claims;
}

/** Development default; production refuses to start with it (lib/src/production-guard.ts). */
export const DEVELOPMENT_INTERNAL_SECRET = 'development-only-internal-token-secret-do-not-use-in-production';
