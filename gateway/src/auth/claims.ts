import type { JWTPayload } from 'jose';
import { ROLES, type Principal, type Role } from '../../../lib/src/identity.js';
import { isUuid } from '../../../lib/src/validation.js';

/**
 * Turns verified claims into a Principal. Roles outside ROLES and hotel IDs that are not UUIDs are dropped:
 * an IdP's other roles (e.g. Keycloak's `offline_access`) must not reach the rule trees, and a malformed
 * ID must not reach a database cast.
 */
export interface ClaimNames {
  roles: string;
  hotelIds: string;
}

/** A claim by exact name first (Auth0's `https://innkeep.example/roles`), else as a dotted path (Keycloak's `realm_access.roles`). */
export function readClaim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** An array of strings, or one string of space/comma separated values (how some IdPs send lists). */
function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const KNOWN_ROLES = new Set<string>(ROLES);

export function principalFromClaims(payload: JWTPayload, names: ClaimNames): Principal {
  const roles = [...new Set(stringList(readClaim(payload, names.roles)).filter((r): r is Role => KNOWN_ROLES.has(r)))];
  const hotelIds = [...new Set(stringList(readClaim(payload, names.hotelIds)).filter(isUuid).map((id) => id.toLowerCase()))];
  return {
    kind: 'user',
    id: payload.sub!,
    ...(typeof payload.email === 'string' ? { email: payload.email.toLowerCase() } : {}),
    roles,
    hotelIds,
    scopes: [],
  };
}
