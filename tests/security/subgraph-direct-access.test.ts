/**
 * A subgraph answers nobody but Innkeep's own processes: every request needs an internal token signed with
 * the shared secret for THIS subgraph (lib/src/subgraph.ts). Without one — even for `_service` or
 * `_entities` — a direct caller gets 401 and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { v7 as uuidv7 } from 'uuid';
import { ANONYMOUS } from '../../lib/src/identity.js';
import { sql } from './db.js';
import { craftToken, expectContractError, post, principals, seedBooking, SUBGRAPHS, subgraphUrl, tokenFor, type Subgraph } from './support.js';

const SDL = { query: '{ _service { sdl } }' };
const BOOKING_ENTITY = {
  query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Booking { id reference guest { email } } } }',
  variables: { r: [{ __typename: 'Booking', id: seedBooking('grand-harbor', 0) }] },
};

const otherAudience = (name: Subgraph): Subgraph => (name === 'hotel' ? 'booking' : 'hotel');
const now = () => Math.floor(Date.now() / 1000);

type Credential = [label: string, header: (name: Subgraph) => Promise<Record<string, string>>];
const BAD_CREDENTIALS: Credential[] = [
  ['no token', async () => ({})],
  ['a token signed with another secret (forged)', async (name) => ({ authorization: `Bearer ${await craftToken({ audience: name, principal: principals.admin, secret: 'x'.repeat(48) })}` })],
  ['an expired token', async (name) => ({ authorization: `Bearer ${await craftToken({ audience: name, principal: principals.admin, expiresAt: now() - 60 })}` })],
  ['a token for another subgraph (wrong audience)', async (name) => ({ authorization: `Bearer ${await tokenFor(principals.admin, otherAudience(name))}` })],
  ['a token from another issuer', async (name) => ({ authorization: `Bearer ${await craftToken({ audience: name, principal: principals.admin, issuer: 'someone-else' })}` })],
  ['an unsigned token (alg none)', async (name) => ({ authorization: `Bearer ${unsigned(name)}` })],
  ['a non-bearer scheme', async () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' })],
  ['garbage', async () => ({ authorization: 'Bearer not.a.token' })],
];

function unsigned(audience: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'innkeep-internal+jwt' })}.${b64({ iss: 'innkeep-internal', aud: audience, sub: 'u-admin', kind: 'user', roles: ['PLATFORM_ADMIN'], hotelIds: [], scopes: [], iat: now(), exp: now() + 60 })}.`;
}

function expectRefused(answer: { status: number; headers: Headers; body: any }, service: string): void {
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  expectContractError(answer.body.errors[0], service);
  expect(JSON.stringify(answer.body)).not.toMatch(/sdl|Booking|guest@/);
}

describe.each(SUBGRAPHS)('the %s subgraph, called directly', (name) => {
  it.each(BAD_CREDENTIALS)('refuses %s with 401 + WWW-Authenticate, for `_service { sdl }` and for `_entities`', async (_label, header) => {
    expectRefused(await post(subgraphUrl(name), SDL, await header(name)), name);
    expectRefused(await post(subgraphUrl(name), BOOKING_ENTITY, await header(name)), name);
    // A batched request is refused as a whole.
    expectRefused(await post(subgraphUrl(name), [SDL, SDL], await header(name)), name);
  });

  it('answers a request with a valid token for this subgraph (even an anonymous caller’s)', async () => {
    const answer = await post(subgraphUrl(name), SDL, { authorization: `Bearer ${await tokenFor(ANONYMOUS, name)}` });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data._service.sdl).toContain('type Query');
  });

  it('takes the correlation ID from the token', async () => {
    const cid = `sec-${randomUUID()}`;
    const token = await tokenFor(ANONYMOUS, name, cid);
    const answer = await post(subgraphUrl(name), SDL, { authorization: `Bearer ${token}`, 'x-correlation-id': 'header-id-differs' });
    expect(answer.headers.get('x-correlation-id')).toBe(cid);
  });

  it('keeps the health probes public', async () => {
    const base = new URL(subgraphUrl(name)).origin;
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
  });
});

describe('entity lookups with a valid token are still subject to the rules', () => {
  const lookup = async (who: keyof typeof principals) =>
    (await post(subgraphUrl('booking'), BOOKING_ENTITY, { authorization: `Bearer ${await tokenFor(principals[who], 'booking')}` })).body;

  it('an anonymous caller gets null for a Booking entity — no data, no hint that it exists', async () => {
    const body = await lookup('anonymous');
    expect(body.data._entities).toEqual([null]);
    expect(body.errors).toBeUndefined();
  });

  it('staff of the booking’s hotel get it; staff of another hotel get null', async () => {
    expect((await lookup('frontDeskGH')).data._entities[0]).toMatchObject({ id: seedBooking('grand-harbor', 0), guest: { email: 'guest@innkeep.test' } });
    expect((await lookup('frontDeskAL')).data._entities).toEqual([null]);
  });
});

describe('the audit ingestion route', () => {
  const url = () => new URL('/internal/audit-events', subgraphUrl('audit')).toString();
  const event = () => ({
    events: [{ id: uuidv7(), occurredAt: new Date().toISOString(), actor: 'service:security-test', action: 'security.probe', resourceType: 'Probe', resourceId: 'p-1', hotelId: null, correlationId: null, details: {} }],
  });
  const service = (scopes: string[]) => ({ kind: 'service' as const, id: 'booking', roles: [], hotelIds: [], scopes });

  it.each(BAD_CREDENTIALS)('refuses %s with 401', async (_label, header) => {
    expectRefused(await post(url(), event(), await header('audit')), 'audit');
  });

  it.each([
    ['a platform admin (a user, not a service)', principals.admin],
    ['an API key', { ...principals.keyAuditReadGH, scopes: ['audit:read', 'audit:write'] }],
    ['a service without audit:write', service(['rooms:read'])],
    ['an anonymous caller', ANONYMOUS],
  ])('refuses %s with 403 FORBIDDEN and writes nothing', async (_label, principal) => {
    const body = event();
    const answer = await post(url(), body, { authorization: `Bearer ${await tokenFor(principal, 'audit')}` });
    expect(answer.status).toBe(403);
    expect(answer.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expectContractError(answer.body.errors[0], 'audit');
    expect(await sql(`SELECT id FROM audit.events WHERE id = $1`, [body.events[0]!.id])).toEqual([]);
  });

  it('accepts a service principal with audit:write', async () => {
    const answer = await post(url(), event(), { authorization: `Bearer ${await tokenFor(service(['audit:write']), 'audit')}` });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ received: 1, appended: 1 });
  });
});
