/**
 * The gateway audits its identity actions (issue "Integrity"): sign-in success and failure, refresh-token
 * reuse, sign-out, API-key create / rotate / revoke — each with actor, correlation ID and details without
 * secrets or raw PII, shipped through identity.outbox to the audit subgraph and chained there.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { seedId } from '../../scripts/lib/seed.js';
import { auditEventOf, DEMO_PASSWORD, gatewayUrl, gql, ids } from './support.js';

const base = () => gatewayUrl().replace(/\/graphql$/, '');
const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${base()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json().catch(() => null)) as any };
};
const MANAGER_ID = seedId('user:manager@grand-harbor.test');

describe('sign-in, sign-out and refresh-token reuse are audited', () => {
  it('a failed sign-in: anonymous actor, the reason, a hash of the email — never the email or password', async () => {
    const cid = `audit-fail-${randomUUID()}`;
    const wrong = await post('/auth/login', { email: 'manager@grand-harbor.test', password: 'wrong-password-1' }, { 'x-correlation-id': cid });
    expect(wrong.status).toBe(401);
    const event = await auditEventOf(cid, 'auth.login_failed');
    expect(event).toMatchObject({ actor: 'anonymous', resource_type: 'User', resource_id: MANAGER_ID, hotel_id: null, details: { reason: 'wrong_password', emailHash: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    expect(event.hash).toMatch(/^[0-9a-f]{64}$/); // chained (platform chain)
    const text = JSON.stringify(event);
    expect(text).not.toContain('manager@grand-harbor.test');
    expect(text).not.toContain('wrong-password-1');

    const cid2 = `audit-fail-${randomUUID()}`;
    await post('/auth/login', { email: 'nobody@nowhere.test', password: 'whatever-123' }, { 'x-correlation-id': cid2 });
    const unknown = await auditEventOf(cid2, 'auth.login_failed');
    expect(unknown).toMatchObject({ resource_id: 'unknown', details: { reason: 'unknown_email' } });
    // The same email always hashes alike, so attempts on one account can be counted.
    expect(unknown.details.emailHash).not.toBe(event.details.emailHash);
  });

  it('a sign-in, a refresh-token replay and a sign-out, each with the user and the request correlation ID', async () => {
    const cid = `audit-ok-${randomUUID()}`;
    const login = await post('/auth/login', { email: 'manager@grand-harbor.test', password: DEMO_PASSWORD }, { 'x-correlation-id': cid });
    expect(login.status).toBe(200);
    const event = await auditEventOf(cid, 'auth.login_succeeded');
    expect(event).toMatchObject({ actor: `user:${MANAGER_ID}`, resource_id: MANAGER_ID, details: { method: 'password', roles: ['HOTEL_MANAGER'] } });
    expect(JSON.stringify(event)).not.toContain(login.body.refreshToken);

    // Use the refresh token twice: the second is reuse (the family is revoked) and audited.
    const first = await post('/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(first.status).toBe(200);
    const cidReuse = `audit-reuse-${randomUUID()}`;
    const replay = await post('/auth/refresh', { refreshToken: login.body.refreshToken }, { 'x-correlation-id': cidReuse });
    expect(replay.status).toBe(401);
    expect(await auditEventOf(cidReuse, 'auth.refresh_token_reused')).toMatchObject({ resource_id: MANAGER_ID, details: { familyRevoked: true } });

    const cidOut = `audit-out-${randomUUID()}`;
    const out = await post('/auth/logout', {}, { authorization: `Bearer ${first.body.accessToken}`, 'x-correlation-id': cidOut });
    expect(out.status).toBe(200);
    expect(await auditEventOf(cidOut, 'auth.logout')).toMatchObject({ actor: `user:${MANAGER_ID}`, resource_id: MANAGER_ID });
  });
});

describe('API-key changes are audited in the same transaction as the change', () => {
  it('create, rotate and revoke: the key (prefix, scopes, hotels), the actor, never the secret', async () => {
    const as = 'manager@grand-harbor.test' as const;
    const cid = `audit-key-${randomUUID()}`;
    const created = await gql<any>(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id prefix } } }`,
      { input: { name: `audit-${cid.slice(-8)}`, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] } },
      { as, headers: { 'x-correlation-id': cid } },
    );
    expect(created.errors).toEqual([]);
    const { id, prefix } = created.data.createApiKey.apiKey;
    const event = await auditEventOf(cid, 'api_key.created');
    expect(event).toMatchObject({ actor: `user:${MANAGER_ID}`, resource_type: 'ApiKey', resource_id: id, hotel_id: ids.grandHarbor, details: { prefix, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] } });
    expect(JSON.stringify(event)).not.toContain(created.data.createApiKey.secret);

    const cidRotate = `audit-rot-${randomUUID()}`;
    const rotated = await gql<any>(`mutation($id: ID!) { rotateApiKey(id: $id) { secret apiKey { id } } }`, { id }, { as, headers: { 'x-correlation-id': cidRotate } });
    expect(rotated.errors).toEqual([]);
    const newId = rotated.data.rotateApiKey.apiKey.id;
    expect(await auditEventOf(cidRotate, 'api_key.rotated')).toMatchObject({ resource_id: newId, details: { replaces: id } });

    const cidRevoke = `audit-rev-${randomUUID()}`;
    const revoked = await gql<any>(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: newId }, { as, headers: { 'x-correlation-id': cidRevoke } });
    expect(revoked.errors).toEqual([]);
    expect(await auditEventOf(cidRevoke, 'api_key.revoked')).toMatchObject({ resource_id: newId, hotel_id: ids.grandHarbor });

    // Readable through the API by the hotel's auditor, like every event of the hotel.
    const trail = await gql<any>(`query($h: ID!, $r: ID) { auditEvents(filter: { hotelId: $h, resourceId: $r }) { nodes { action correlationId } } }`, { h: ids.grandHarbor, r: newId }, { as: 'auditor@grand-harbor.test' });
    expect(trail.data.auditEvents.nodes.map((n: any) => n.action).sort()).toEqual(['api_key.revoked', 'api_key.rotated']);
  });
});
