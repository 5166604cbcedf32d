import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Principal, PrincipalKind, Role } from './identity.js';

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

interface Cached {
  token: string;
  renewAfter: number;
}

export class InternalTokenSigner {
  private readonly key: Uint8Array;
  private readonly cache = new Map<string, Cached>();

  constructor(
    secret: string,
    private readonly issuedBy: string,
    private readonly ttlSeconds = 60,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  /**
   * A token for `audience`. Tokens are reused for the same principal, audience and correlation ID while
   * they have more than half their life left, so a request fanning out to many fetches signs once.
   */
  async sign(principal: Principal, audience: string, correlationId: string, extras: InternalTokenExtras = {}): Promise<string> {
    const cacheKey = `${audience}|${correlationId}|${principal.kind}|${principal.id}|${principal.roles.join(',')}|${principal.hotelIds.join(',')}|${principal.scopes.join(',')}|${extras.clientIp ?? ''}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && cached.renewAfter > now) return cached.token;
    const token = await new SignJWT({
      kind: principal.kind,
      roles: principal.roles,
      hotelIds: principal.hotelIds,
      scopes: principal.scopes,
      ...(principal.email ? { email: principal.email } : {}),
      cid: correlationId,
      by: this.issuedBy,
      ...(extras.clientIp ? { ip: extras.clientIp } : {}),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'innkeep-internal+jwt' })
      .setIssuer(INTERNAL_ISSUER)
      .setAudience(audience)
      .setSubject(principal.id)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
    if (this.cache.size > 5000) this.cache.clear();
    this.cache.set(cacheKey, { token, renewAfter: now + (this.ttlSeconds * 1000) / 2 });
    return token;
  }
}

export class InternalTokenVerifier {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly audience: string,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string): Promise<InternalClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALGORITHM],
        issuer: INTERNAL_ISSUER,
        audience: this.audience,
        typ: 'innkeep-internal+jwt',
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: 5,
      });
      const principal: Principal = {
        kind: payload.kind as PrincipalKind,
        id: payload.sub!,
        roles: (payload.roles as Role[]) ?? [],
        hotelIds: (payload.hotelIds as string[]) ?? [],
        scopes: (payload.scopes as string[]) ?? [],
        ...(typeof payload.email === 'string' ? { email: payload.email } : {}),
      };
      return {
        principal,
        correlationId: String(payload.cid ?? ''),
        issuedBy: String(payload.by ?? ''),
        ...(typeof payload.ip === 'string' ? { clientIp: payload.ip } : {}),
      };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new InternalTokenError('internal token expired');
      throw new InternalTokenError('internal token invalid');
    }
  }
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
