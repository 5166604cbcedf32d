/**
 * Who is calling, as every service sees it (GUIDE §3). The gateway establishes it (JWT or API key) and
 * hands it to subgraphs inside the signed internal token; subgraphs never see the caller's credentials.
 */
export const ROLES = ['GUEST', 'FRONT_DESK', 'HOTEL_MANAGER', 'AUDITOR', 'PLATFORM_ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** Scopes an API key may carry. */
export const SCOPES = ['bookings:read', 'bookings:write', 'pms:sync', 'audit:read', 'hotels:write'] as const;
export type Scope = (typeof SCOPES)[number];

export type PrincipalKind = 'user' | 'apiKey' | 'service' | 'anonymous';

export interface Principal {
  kind: PrincipalKind;
  /** User ID, API key ID, service name, or `anonymous`. */
  id: string;
  /** Users only: their login email (GUEST ownership of bookings is by this address). */
  email?: string;
  roles: Role[];
  /** Tenancy: hotels the caller acts for (PLATFORM_ADMIN: all, whatever this says). */
  hotelIds: string[];
  /** API keys and services: what they may do. Users have none. */
  scopes: string[];
}

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', id: 'anonymous', roles: [], hotelIds: [], scopes: [] }) as Principal;

/** How the principal appears in audit records and logs (never an email). */
export function actorOf(principal: Principal): string {
  return principal.kind === 'anonymous' ? 'anonymous' : `${principal.kind}:${principal.id}`;
}

/**
 * Everything an internal token binds about its caller, as one string: two callers with the same key get
 * the same token, and may share an upstream answer (gateway/src/upstream/shared-reads.ts).
 */
export const principalKey = (p: Principal, clientIp?: string): string =>
  `${p.kind}|${p.id}|${p.email ?? ''}|${p.roles.join(',')}|${p.hotelIds.join(',')}|${p.scopes.join(',')}|${clientIp ?? ''}`;

export const hasRole = (p: Principal, ...roles: Role[]) => p.roles.some((r) => roles.includes(r));
export const isPlatformAdmin = (p: Principal) => p.roles.includes('PLATFORM_ADMIN');
export const hasScope = (p: Principal, scope: Scope | string) => p.scopes.includes(scope);
/** Tenancy: may the caller act for this hotel at all? */
export const actsForHotel = (p: Principal, hotelId: string | null | undefined) =>
  isPlatformAdmin(p) || (!!hotelId && p.hotelIds.includes(hotelId));
