/**
 * The verification caches keep every promise of the uncached path: an ES256 access token or an HS256
 * internal token verified once is served from memory afterwards, but never past its exp, never after its
 * key is retired or removed, never when revoked, never for another token string. Real keys (the signing-key
 * store on a PostgreSQL database of its own), real jose tokens, the real Redis revocation list; WebCrypto is
 * only watched (a spy that calls through) to tell a cache hit from a verification.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { pino } from 'pino';
import { authConfig, DEVELOPMENT_KEY_ENCRYPTION_SECRET } from '../../gateway/src/auth/config.js';
import { rotateSigningKeys } from '../../gateway/src/auth/key-rotation.js';
import { redisRevocationList, type RevocationList } from '../../gateway/src/auth/revocation.js';
import { createSigningKey, createSigningKeyStore, type SigningKeyStore } from '../../gateway/src/auth/signing-keys.js';
import { createBearerVerifier, remoteKeyResolver, storeKeyResolver, type BearerVerifierOptions } from '../../gateway/src/auth/token-verifier.js';
import { createDatabase, type Database } from '../../lib/src/db.js';
import type { Principal } from '../../lib/src/identity.js';
import { DEVELOPMENT_INTERNAL_SECRET, InternalTokenError, InternalTokenSigner, InternalTokenVerifier } from '../../lib/src/internal-token.js';
import { migrate } from '../../lib/src/migrate.js';
import { scratchDatabase } from './scratch-database.js';
import { reasonOf, dropTestKeys } from './auth-support.js';

const scratch = scratchDatabase('innkeep_verify_cache_test');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisPrefix = `innkeep-verify-cache-test:${randomUUID()}:`;
const logger = pino({ level: 'silent' });
const config = authConfig();

// One clock for the key store, the verifiers and the tokens: tests move it instead of sleeping.
let clock = Date.now();
const now = () => clock;
const seconds = () => Math.floor(clock / 1000);
const advance = (ms: number) => {
  clock += ms;
};

let db: Database;
let redis: Redis;
let keys: SigningKeyStore;
let revocations: RevocationList;

/** Signature checks that reached WebCrypto (every jose verify does; a cache hit does not). */
const webCryptoVerify = jest.spyOn(globalThis.crypto.subtle, 'verify');
async function cryptoVerifiesDuring(work: () => Promise<unknown>): Promise<number> {
  const before = webCryptoVerify.mock.calls.length;
  await work();
  return webCryptoVerify.mock.calls.length - before;
}

const userA = { sub: 'user-a', email: 'a@innkeep.test', roles: ['FRONT_DESK'], hotelIds: ['00000000-0000-4000-8000-00000000000a'] };
const userB = { sub: 'user-b', email: 'b@innkeep.test', roles: ['PLATFORM_ADMIN'], hotelIds: [] };

/** An access token as the built-in issuer writes it, signed with the store's current signing key. */
async function accessToken(claims: JWTPayload = {}): Promise<string> {
  const key = await keys.signingKey();
  return new SignJWT({ ...userA, iss: config.AUTH_ISSUER, aud: config.AUTH_AUDIENCE, jti: randomUUID(), iat: seconds(), nbf: seconds(), exp: seconds() + 900, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);
}

const verifierOf = (options: Partial<BearerVerifierOptions> = {}) =>
  createBearerVerifier({ config, getKey: storeKeyResolver(keys), revocations, builtIn: true, now, ...options });

/** The same string with one character of segment `part` (0 header, 1 payload, 2 signature) changed. */
function tampered(token: string, part: number): string {
  const parts = token.split('.');
  const segment = parts[part]!;
  const at = Math.floor(segment.length / 2); // not the last character, whose low bits may be padding
  parts[part] = `${segment.slice(0, at)}${segment[at] === 'A' ? 'B' : 'A'}${segment.slice(at + 1)}`;
  return parts.join('.');
}

beforeAll(async () => {
  await scratch.create();
  await migrate(scratch.url);
  db = createDatabase({ url: scratch.url, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-verify-cache-test' });
  redis = new Redis(redisUrl, { keyPrefix: redisPrefix, maxRetriesPerRequest: 1 });
  revocations = redisRevocationList(redis, logger);
  keys = createSigningKeyStore({ prisma: db.prisma, logger, encryptionSecret: DEVELOPMENT_KEY_ENCRYPTION_SECRET, production: false, now });
  await keys.initialize(); // generates a development key
});

afterAll(async () => {
  webCryptoVerify.mockRestore();
  await dropTestKeys(redis, redisPrefix);
  await db?.close();
  await scratch.drop();
});

describe('access tokens (gateway)', () => {
  it('a token verified once is served from the cache: same principal, no signature check, across key-set reloads', async () => {
    const verify = verifierOf();
    const token = await accessToken();
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(1);
    let second: Principal | undefined;
    expect(await cryptoVerifiesDuring(async () => void (second = (await verify(token)).principal))).toBe(0);
    expect(second).toEqual({ kind: 'user', id: 'user-a', email: 'a@innkeep.test', roles: ['FRONT_DESK'], hotelIds: [userA.hotelIds[0]], scopes: [] });

    advance(31_000); // the store re-reads (and re-imports) its keys: unchanged keys keep the entry
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(0);
  });

  it('a caller changing the principal it got does not change what the next request sees', async () => {
    const verify = verifierOf();
    const token = await accessToken();
    const first = await verify(token);
    first.principal.roles.push('PLATFORM_ADMIN');
    first.principal.id = 'someone-else';
    expect((await verify(token)).principal).toMatchObject({ id: 'user-a', roles: ['FRONT_DESK'] });
  });

  it('a cached token is refused as expired once exp + the 5 s tolerance has passed', async () => {
    const verify = verifierOf();
    const token = await accessToken({ exp: seconds() + 60 });
    await verify(token);
    advance(64_000);
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(0); // still within the tolerance, from the cache
    advance(1000);
    expect(await reasonOf(verify(token))).toBe('expired');
    expect(await reasonOf(verify(token))).toBe('expired'); // and the refusal is not cached as a pass either
  });

  it('no entry outlives the cap (default 5 min), even for a token valid much longer', async () => {
    const verify = verifierOf();
    const token = await accessToken({ exp: seconds() + 3600 });
    await verify(token);
    advance(299_000);
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(0);
    advance(2000);
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(1);
  });

  it('a revoked token is refused although its verification is cached, and the check runs on every request', async () => {
    const verify = verifierOf();
    const token = await accessToken();
    await verify(token);
    await verify(token);
    const { jti, exp } = decodeJwt(token);
    await revocations.revoke(jti!, exp!);
    let reason = '';
    expect(await cryptoVerifiesDuring(async () => void (reason = await reasonOf(verify(token))))).toBe(0); // a cache hit…
    expect(reason).toBe('revoked'); // …refused all the same
    expect(await reasonOf(verify(token))).toBe('revoked');
  });

  it('a token for user A, then one for user B: B gets B’s claims, and A still A’s', async () => {
    const verify = verifierOf();
    const a = await accessToken();
    const b = await accessToken(userB);
    await verify(a);
    expect((await verify(b)).principal).toMatchObject({ id: 'user-b', email: 'b@innkeep.test', roles: ['PLATFORM_ADMIN'], hotelIds: [] });
    expect((await verify(a)).principal).toMatchObject({ id: 'user-a', roles: ['FRONT_DESK'] });
    expect((await verify(b)).principal).toMatchObject({ id: 'user-b', roles: ['PLATFORM_ADMIN'] });
  });

  it('a tampered copy (one character changed, in any part) is refused after the original was cached', async () => {
    const verify = verifierOf();
    const token = await accessToken();
    await verify(token);
    await verify(token);
    for (const part of [0, 1, 2]) {
      const forged = tampered(token, part);
      expect(forged).not.toBe(token);
      expect(['bad_signature', 'malformed', 'unknown_key', 'algorithm_not_allowed']).toContain(await reasonOf(verify(forged)));
    }
    // A payload promoted to PLATFORM_ADMIN under the cached token's signature.
    const [header, , signature] = token.split('.');
    const promoted = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), roles: ['PLATFORM_ADMIN'] })).toString('base64url')}.${signature}`;
    expect(await reasonOf(verify(promoted))).toBe('bad_signature');
    expect((await verify(token)).principal.roles).toEqual(['FRONT_DESK']);
  });

  it('after rotation, a cached token of the old key verifies until the key retires, then is refused at once', async () => {
    // A cap longer than the grace period, so that the refusal below is the cache's own, not its expiry.
    const verify = verifierOf({ cacheMaxAgeMs: 3 * 3600_000 });
    const oldToken = await accessToken({ exp: seconds() + 2 * 3600 }); // outlives the key on purpose
    await verify(oldToken);

    const { retiring } = await rotateSigningKeys(db.prisma, {
      encryptionSecret: DEVELOPMENT_KEY_ENCRYPTION_SECRET,
      accessTokenTtlSeconds: 60,
      development: true,
      now: new Date(clock),
    });
    const retireAfter = retiring[0]!.retireAfter.getTime(); // now + 60 s + 5 min grace
    advance(31_000); // the store sees the rotation
    const newToken = await accessToken({ ...userB, exp: seconds() + 2 * 3600 });
    await verify(newToken);
    expect(await cryptoVerifiesDuring(() => verify(oldToken))).toBe(0); // retiring, still verifying, still cached

    advance(retireAfter - clock + 1000);
    expect(await reasonOf(verify(oldToken))).toBe('unknown_key');
    expect(await reasonOf(verify(oldToken))).toBe('unknown_key');
    expect(await cryptoVerifiesDuring(() => verify(newToken))).toBe(0); // the live key's entries stay
  });

  it('a key deleted outright (say, compromised) refuses its cached tokens from the next key-set reload', async () => {
    const verify = verifierOf();
    await createSigningKey(db.prisma, { encryptionSecret: DEVELOPMENT_KEY_ENCRYPTION_SECRET, development: true, now: new Date(clock) });
    advance(31_000);
    const token = await accessToken();
    const { kid } = await keys.signingKey();
    await verify(token);
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(0);

    await db.prisma.signingKey.delete({ where: { kid } });
    advance(31_000);
    expect(await reasonOf(verify(token))).toBe('unknown_key');
  });

  it('failures are never cached: a token refused as not yet valid is accepted once its nbf arrives', async () => {
    const verify = verifierOf();
    const token = await accessToken({ nbf: seconds() + 60 });
    expect(await reasonOf(verify(token))).toBe('not_yet_valid');
    advance(30_000);
    expect(await reasonOf(verify(token))).toBe('not_yet_valid');
    advance(30_000);
    await expect(verify(token)).resolves.toMatchObject({ principal: { id: 'user-a' } });
  });
});

describe('access tokens of an external IdP (remote JWKS)', () => {
  const ISSUER = 'https://idp.example.test/realms/innkeep';
  const served: JWK[] = [];
  let idp: http.Server;
  let jwksUrl: string;

  beforeAll(async () => {
    idp = http.createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served })));
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/certs`;
  });

  afterAll(async () => {
    idp.closeAllConnections();
    await new Promise((resolve) => idp.close(resolve));
  });

  it('a key the IdP stops publishing refuses its cached tokens at the next JWKS refresh', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    served.push({ ...(await exportJWK(publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' });
    const external = authConfig({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_ALGORITHMS: 'RS256' });
    // jose's JWKS cache runs on the real clock: refreshed at most every 300 ms here.
    const verify = createBearerVerifier({
      config: external,
      getKey: remoteKeyResolver(jwksUrl, { cacheMaxAgeMs: 300, cooldownMs: 0 }),
      revocations,
      builtIn: false,
      now,
    });
    const token = await new SignJWT({ iss: ISSUER, aud: config.AUTH_AUDIENCE, sub: 'idp-user', jti: randomUUID(), iat: seconds(), exp: seconds() + 300 })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
      .sign(privateKey);
    await verify(token);
    expect(await cryptoVerifiesDuring(() => verify(token))).toBe(0);

    served.length = 0; // the IdP drops the key
    await new Promise((r) => setTimeout(r, 350));
    expect(await reasonOf(verify(token))).toBe('unknown_key');
  });
});

describe('internal tokens (subgraphs)', () => {
  const signer = new InternalTokenSigner(DEVELOPMENT_INTERNAL_SECRET, 'gateway', 60);
  const principalA: Principal = { kind: 'user', id: 'user-a', roles: ['FRONT_DESK'], hotelIds: [userA.hotelIds[0]!], scopes: [] };
  const principalB: Principal = { kind: 'apiKey', id: 'key-b', roles: [], hotelIds: [], scopes: ['pms:sync'] };

  /** Why `work` was refused. */
  async function refusal(work: Promise<unknown>): Promise<string> {
    try {
      await work;
    } catch (error) {
      if (error instanceof InternalTokenError) return error.message;
      throw error;
    }
    throw new Error('expected an InternalTokenError, but the token was accepted');
  }

  it('a token verified once is served from the cache, then refused as expired past exp + 5 s', async () => {
    clock = Date.now(); // the signer stamps iat / exp from the real clock
    const verifier = new InternalTokenVerifier(DEVELOPMENT_INTERNAL_SECRET, 'booking', { now });
    const token = await signer.sign(principalA, 'booking', 'cid-expiry');
    expect(await cryptoVerifiesDuring(() => verifier.verify(token))).toBe(1);
    expect(await cryptoVerifiesDuring(() => verifier.verify(token))).toBe(0);
    const { exp } = decodeJwt(token);
    advance((exp! + 4) * 1000 - clock);
    await expect(verifier.verify(token)).resolves.toMatchObject({ principal: { id: 'user-a' } }); // within the tolerance
    advance(1000);
    expect(await refusal(verifier.verify(token))).toBe('internal token expired');
    expect(await refusal(verifier.verify(token))).toBe('internal token expired');
  });

  it('two tokens never share an entry, and a tampered copy of a cached one is refused', async () => {
    clock = Date.now();
    const verifier = new InternalTokenVerifier(DEVELOPMENT_INTERNAL_SECRET, 'booking', { now });
    const a = await signer.sign(principalA, 'booking', 'cid-a');
    const b = await signer.sign(principalB, 'booking', 'cid-b');
    await verifier.verify(a);
    await verifier.verify(a);
    expect(await verifier.verify(b)).toMatchObject({ principal: { kind: 'apiKey', id: 'key-b', scopes: ['pms:sync'] }, correlationId: 'cid-b' });
    expect(await verifier.verify(a)).toMatchObject({ principal: { kind: 'user', id: 'user-a' }, correlationId: 'cid-a' });
    for (const part of [0, 1, 2]) expect(await refusal(verifier.verify(tampered(a, part)))).toBe('internal token invalid');
    // Another audience's token is refused whether or not that service has it cached.
    const forHotel = await signer.sign(principalA, 'hotel', 'cid-a');
    await new InternalTokenVerifier(DEVELOPMENT_INTERNAL_SECRET, 'hotel').verify(forHotel);
    expect(await refusal(verifier.verify(forHotel))).toBe('internal token invalid');
  });

  it('an empty correlation ID writes no cid claim (an identity-bound token); a given one is kept', async () => {
    const verifier = new InternalTokenVerifier(DEVELOPMENT_INTERNAL_SECRET, 'booking');
    const identityBound = await signer.sign(principalA, 'booking', '');
    expect(decodeJwt(identityBound)).not.toHaveProperty('cid');
    expect((await verifier.verify(identityBound)).correlationId).toBe('');
    const requestBound = await signer.sign(principalA, 'booking', 'cid-kept');
    expect(decodeJwt(requestBound).cid).toBe('cid-kept');
    expect((await verifier.verify(requestBound)).correlationId).toBe('cid-kept');
  });

  it('the signer reuses a token only for the same principal, audience, correlation ID and client IP', async () => {
    const reused = await signer.sign(principalA, 'booking', 'cid-reuse');
    expect(await signer.sign({ ...principalA }, 'booking', 'cid-reuse')).toBe(reused);
    expect(await signer.sign(principalA, 'hotel', 'cid-reuse')).not.toBe(reused);
    expect(await signer.sign(principalA, 'booking', 'cid-other')).not.toBe(reused);
    expect(await signer.sign({ ...principalA, roles: ['HOTEL_MANAGER'] }, 'booking', 'cid-reuse')).not.toBe(reused);
    expect(await signer.sign(principalA, 'booking', 'cid-reuse', { clientIp: '203.0.113.9' })).not.toBe(reused);
  });
});
