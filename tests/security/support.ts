import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import { SignJWT } from 'jose';
import { ANONYMOUS, type Principal, type Role } from '../../lib/src/identity.js';
import { DEVELOPMENT_INTERNAL_SECRET, INTERNAL_ISSUER, InternalTokenSigner } from '../../lib/src/internal-token.js';
import { seedId } from '../../scripts/lib/seed.js';

/**
 * Calls the running test stack's subgraphs directly, as the gateway would: with an internal token minted
 * here for any principal (the stack runs with the development secret unless INTERNAL_TOKEN_SECRET is set).
 */
export type Subgraph = 'hotel' | 'booking' | 'pms' | 'audit';
export const SUBGRAPHS: Subgraph[] = ['hotel', 'booking', 'pms', 'audit'];

export const secret = () => process.env.INTERNAL_TOKEN_SECRET ?? DEVELOPMENT_INTERNAL_SECRET;
export const subgraphUrl = (name: Subgraph) => {
  const url = process.env[`INNKEEP_${name.toUpperCase()}_URL`];
  if (!url) throw new Error(`INNKEEP_${name.toUpperCase()}_URL is not set: run the tests through jest (global setup starts the stack)`);
  return url;
};

const signer = new InternalTokenSigner(secret(), 'gateway');
export const tokenFor = (principal: Principal, audience: Subgraph, correlationId = `sec-${randomUUID()}`) => signer.sign(principal, audience, correlationId);

/** A token with chosen flaws (other secret, past expiry, other audience or issuer) — what an attacker could hold. */
export async function craftToken(options: { principal?: Principal; audience: string; secret?: string; expiresAt?: number; issuer?: string }): Promise<string> {
  const p = options.principal ?? ANONYMOUS;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ kind: p.kind, roles: p.roles, hotelIds: p.hotelIds, scopes: p.scopes, cid: `sec-${randomUUID()}`, by: 'gateway' })
    .setProtectedHeader({ alg: 'HS256', typ: 'innkeep-internal+jwt' })
    .setIssuer(options.issuer ?? INTERNAL_ISSUER)
    .setAudience(options.audience)
    .setSubject(p.id)
    .setIssuedAt(now - 120)
    .setExpirationTime(options.expiresAt ?? now + 60)
    .sign(new TextEncoder().encode(options.secret ?? secret()));
}

export interface GqlError {
  message: string;
  path?: Array<string | number>;
  extensions: { code: string; correlationId: string; timestamp: string; service: string } & Record<string, unknown>;
}
export interface Answer {
  status: number;
  headers: Headers;
  data: any;
  errors: GqlError[];
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}

/** A GraphQL call to one subgraph as `principal`; every error is checked against the contract shape. */
export async function call(subgraph: Subgraph, principal: Principal, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const { status, headers, body } = await post(subgraphUrl(subgraph), { query, variables }, { authorization: `Bearer ${await tokenFor(principal, subgraph)}` });
  const errors: GqlError[] = body?.errors ?? [];
  for (const error of errors) expectContractError(error, subgraph);
  return { status, headers, data: body?.data, errors };
}

export function expectContractError(error: GqlError, service: string): void {
  expect(error.extensions).toEqual(
    expect.objectContaining({
      code: expect.stringMatching(/^(UNAUTHENTICATED|FORBIDDEN|BAD_USER_INPUT|NOT_FOUND|CONFLICT|RATE_LIMITED|SERVICE_UNAVAILABLE|UPSTREAM_TIMEOUT|INTERNAL_SERVER_ERROR)$/),
      correlationId: expect.stringMatching(/^[A-Za-z0-9._:-]{8,128}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/),
      service,
    }),
  );
}

export const GH = seedId('hotel:grand-harbor');
export const AL = seedId('hotel:alpine-lodge');
export const room = (hotel: 'grand-harbor' | 'alpine-lodge', number: string) => seedId(`room:${hotel}:${number}`);
export const seedBooking = (hotel: 'grand-harbor' | 'alpine-lodge', i: number) => seedId(`booking:${hotel}:${i}`);
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
export const RANDOM_ID = '5f0e8a3c-1d2b-4c5d-9e6f-7a8b9c0d1e2f';

const user = (id: string, roles: Role[], hotelIds: string[], email?: string): Principal => ({ kind: 'user', id, roles, hotelIds, scopes: [], ...(email ? { email } : {}) });
const apiKey = (id: string, scopes: string[], hotelIds: string[]): Principal => ({ kind: 'apiKey', id, roles: [], hotelIds, scopes });
const service = (id: string, scopes: string[], hotelIds: string[] = []): Principal => ({ kind: 'service', id, roles: [], hotelIds, scopes });

/** The cast of the matrix. `GH`: grand-harbor (seed bookings of guest@innkeep.test); `AL`: alpine-lodge. */
export const principals = {
  anonymous: ANONYMOUS,
  guestOwner: user('u-gwen', ['GUEST'], [], 'guest@innkeep.test'),
  guestOther: user('u-mallory', ['GUEST'], [], 'mallory@example.test'),
  frontDeskGH: user('u-fd-gh', ['FRONT_DESK'], [GH]),
  frontDeskAL: user('u-fd-al', ['FRONT_DESK'], [AL]),
  managerGH: user('u-mgr-gh', ['HOTEL_MANAGER'], [GH]),
  managerAL: user('u-mgr-al', ['HOTEL_MANAGER'], [AL]),
  auditorGH: user('u-aud-gh', ['AUDITOR'], [GH]),
  auditorAL: user('u-aud-al', ['AUDITOR'], [AL]),
  admin: user('u-admin', ['PLATFORM_ADMIN'], []),
  keyBookingsReadGH: apiKey('k-br-gh', ['bookings:read'], [GH]),
  keyBookingsReadAL: apiKey('k-br-al', ['bookings:read'], [AL]),
  keyBookingsWriteGH: apiKey('k-bw-gh', ['bookings:write'], [GH]),
  keyBookingsWriteAL: apiKey('k-bw-al', ['bookings:write'], [AL]),
  keyPmsSyncGH: apiKey('k-pms-gh', ['pms:sync'], [GH]),
  keyPmsSyncAL: apiKey('k-pms-al', ['pms:sync'], [AL]),
  keyAuditReadGH: apiKey('k-ar-gh', ['audit:read'], [GH]),
  keyAuditReadAL: apiKey('k-ar-al', ['audit:read'], [AL]),
  keyHotelsWriteGH: apiKey('k-hw-gh', ['hotels:write'], [GH]),
  keyHotelsWriteAL: apiKey('k-hw-al', ['hotels:write'], [AL]),
  servicePmsGH: service('pms', ['bookings:read'], [GH]),
  serviceBooking: service('booking', ['rooms:read']),
  serviceNoScope: service('stranger', []),
} satisfies Record<string, Principal>;
export type Who = keyof typeof principals;

/** What a response looks like with its per-request noise (IDs, timestamps, messages' IDs) removed. */
export function shapeOf(answer: Answer): unknown {
  return {
    data: answer.data,
    errors: answer.errors.map((e) => ({ code: e.extensions.code, path: e.path, resourceType: e.extensions.resourceType })),
  };
}

/** Every hotel ID anywhere in a response (fields named hotelId, or `hotel { id }`). */
export function hotelIdsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => hotelIdsIn(v, found));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'hotelId' && typeof v === 'string') found.add(v);
      else if (key === 'hotel' && v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string') found.add((v as { id: string }).id);
      hotelIdsIn(v, found);
    }
  }
  return found;
}

/** The one polling helper of the test suite. */
export { eventually } from '../e2e/support.js';
