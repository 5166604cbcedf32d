import { createPublicKey } from 'node:crypto';
import { describe, expect, it, beforeAll } from '@jest/globals';
import { SignJWT, importJWK, type JWK } from 'jose';
import { decryptPrivateKey } from '../../gateway/src/auth/key-encryption.js';
import { DEVELOPMENT_KEY_ENCRYPTION_SECRET } from '../../gateway/src/auth/config.js';
import { DEMO_PASSWORD, gatewayUrl, gql, sql, tokenFor } from '../e2e/support.js';

/**
 * Every forged, stale or revoked credential is refused at the gateway with HTTP 401, the RFC 6750
 * challenge and an UNAUTHENTICATED error — before anything reaches a subgraph. Forgeries are signed with
 * the gateway's REAL signing key where the attack is about another claim, so only that claim is wrong.
 */
const PROTECTED = `{ auditEvents(first: 1) { totalCount } }`;
let signingKey: Awaited<ReturnType<typeof importJWK>>;
let kid: string;
let publicPem: string;
let userId: string;

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function forge(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: ['PLATFORM_ADMIN'], hotelIds: [], email: 'admin@innkeep.test', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header })
    .setIssuer((claims.iss as string) ?? 'innkeep')
    .setAudience((claims.aud as string) ?? 'innkeep-api')
    .setSubject(userId)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setNotBefore((claims.nbf as number) ?? now)
    .setExpirationTime((claims.exp as number) ?? now + 600)
    .sign(signingKey);
}

async function expectRefused(token: string, reason?: RegExp) {
  const response = await fetch(gatewayUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: PROTECTED }),
  });
  const body = (await response.json()) as { data?: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  expect(body.data ?? null).toBeNull();
  expect(body.errors[0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', service: 'gateway', correlationId: expect.any(String), timestamp: expect.any(String) });
  if (reason) expect(body.errors[0]!.message).toMatch(reason);
  expect(JSON.stringify(body)).not.toContain(token);
  return body;
}

describe('attack corpus at the gateway', () => {
  beforeAll(async () => {
    await tokenFor('admin@innkeep.test'); // the gateway has created its signing key by now
    const [key] = await sql<{ kid: string; private_jwk_encrypted: string }>(
      `SELECT kid, private_jwk_encrypted FROM identity.signing_keys WHERE retire_after IS NULL ORDER BY created_at DESC LIMIT 1`,
    );
    kid = key!.kid;
    const jwk = JSON.parse(await decryptPrivateKey(key!.private_jwk_encrypted, DEVELOPMENT_KEY_ENCRYPTION_SECRET, kid)) as JWK;
    signingKey = await importJWK(jwk, "ES256");
    const { d: _d, ...publicJwk } = jwk;
    publicPem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    userId = (await sql<{ id: string }>(`SELECT id FROM identity.users WHERE email = 'admin@innkeep.test'`))[0]!.id;
  });

  it('a genuine token passes (the forgeries below differ from it in one claim only)', async () => {
    const { errors, data } = await gql<any>(PROTECTED, {}, { headers: { authorization: `Bearer ${await forge()}` }, as: null });
    expect(errors).toEqual([]);
    expect(data.auditEvents.totalCount).toEqual(expect.any(Number));
  });

  it('no token on a protected field → 401 UNAUTHENTICATED with a challenge', async () => {
    const response = await fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: PROTECTED }) });
    const body = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('alg: none', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64({ sub: 'x', iss: 'innkeep', aud: 'innkeep-api', roles: ['PLATFORM_ADMIN'], exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    await expectRefused(token);
  });

  it('HS256 signed with the public key (algorithm confusion)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ roles: ['PLATFORM_ADMIN'], hotelIds: [] })
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
      .setIssuer('innkeep').setAudience('innkeep-api').setSubject(userId).setJti(crypto.randomUUID()).setIssuedAt(now).setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(publicPem));
    await expectRefused(token);
  });

  it('expired', async () => {
    await expectRefused(await forge({ exp: Math.floor(Date.now() / 1000) - 120, nbf: Math.floor(Date.now() / 1000) - 1000 }), /expired/i);
  });

  it('nbf in the future', async () => {
    await expectRefused(await forge({ nbf: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 }));
  });

  it('wrong iss', async () => {
    await expectRefused(await forge({ iss: 'https://evil.example' }));
  });

  it('wrong aud', async () => {
    await expectRefused(await forge({ aud: 'another-api' }));
  });

  it('unknown kid', async () => {
    await expectRefused(await forge({}, { kid: 'no-such-key' }));
  });

  it('tampered payload (roles raised after signing)', async () => {
    const genuine = await tokenFor('frontdesk@grand-harbor.test');
    const [h, p, s] = genuine.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    await expectRefused(`${h}.${b64({ ...claims, roles: ['PLATFORM_ADMIN'] })}.${s}`);
  });

  it('a revoked jti after logout', async () => {
    const login = await (await fetch(new URL('/auth/login', gatewayUrl()), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'auditor@grand-harbor.test', password: DEMO_PASSWORD }) })).json() as { accessToken: string; refreshToken: string };
    expect((await gql<any>(PROTECTED, {}, { headers: { authorization: `Bearer ${login.accessToken}` }, as: null })).errors).toEqual([]);
    const logout = await fetch(new URL('/auth/logout', gatewayUrl()), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.accessToken}` }, body: JSON.stringify({ refreshToken: login.refreshToken }) });
    expect(logout.status).toBeLessThan(300);
    await expectRefused(login.accessToken, /revoked/i);
  });

  it('a reused refresh token is refused and revokes its whole family', async () => {
    const post = (path: string, body: object) => fetch(new URL(path, gatewayUrl()), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const login = await (await post('/auth/login', { email: 'manager@alpine-lodge.test', password: DEMO_PASSWORD })).json() as { refreshToken: string };
    const rotated = await (await post('/auth/refresh', { refreshToken: login.refreshToken })).json() as { refreshToken: string; accessToken: string };
    expect(rotated.refreshToken).toEqual(expect.any(String));

    const reuse = await post('/auth/refresh', { refreshToken: login.refreshToken });
    expect(reuse.status).toBe(401);
    expect(((await reuse.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    // The family is gone: even the newest refresh token no longer works.
    expect((await post('/auth/refresh', { refreshToken: rotated.refreshToken })).status).toBe(401);
  });

  it('a malformed Authorization header and an unknown API key are refused the same way', async () => {
    const basic = await fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic YWRtaW46YWRtaW4=' }, body: JSON.stringify({ query: PROTECTED }) });
    expect(basic.status).toBe(401);
    const key = await fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'ik_deadbeef_notarealsecretnotarealsecretnotarealsecret' }, body: JSON.stringify({ query: PROTECTED }) });
    expect(key.status).toBe(401);
    expect(key.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });
});
