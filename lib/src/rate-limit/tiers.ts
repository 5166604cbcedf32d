import type { Principal } from '../identity.js';

/**
 * Client tiers, derived from the verified principal (never from anything the client says):
 *  - `anonymous` — no credentials; keyed by client IP
 *  - `user`      — a person with a JWT (any role); keyed by user ID
 *  - `partner`   — an API key (PMS vendors, channel managers); keyed by key ID
 *  - `internal`  — Innkeep's own services calling each other; keyed by service name
 * An API key can be moved to another tier in the limits file (`apiKeys.<id>.tier`).
 */
export const TIERS = ['anonymous', 'user', 'partner', 'internal'] as const;
export type Tier = (typeof TIERS)[number];

const TIER_OF_KIND: Record<Principal['kind'], Tier> = { anonymous: 'anonymous', user: 'user', apiKey: 'partner', service: 'internal' };

export function defaultTierOf(principal: Principal): Tier {
  return TIER_OF_KIND[principal.kind] ?? 'anonymous';
}

/**
 * Who is counted: `user:<id>`, `apiKey:<id>`, `service:<name>`, or `ip:<address>` for anonymous callers
 * (all anonymous callers without a known address share `ip:unknown`).
 */
export function callerKey(principal: Principal, clientIp: string | undefined): string {
  if (principal.kind === 'anonymous') return `ip:${clientIp || 'unknown'}`;
  return `${principal.kind}:${principal.id}`;
}
