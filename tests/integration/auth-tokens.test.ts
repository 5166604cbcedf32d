/**
 * The built-in issuer keeps its promises with real signed tokens, a real PostgreSQL (a database of its
 * own) and a real Redis (a key prefix of its own): login, the attack corpus at `authenticateBearer`,
 * refresh rotation and reuse detection, logout, signing-key rotation, an external IdP, and what
 * production refuses. No global setup: the AuthService is built in-process and served on port 0.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { pino } from 'pino';
import { authConfig, DEVELOPMENT_KEY_ENCRYPTION_SECRET, type AuthConfig } from '../../gateway/src/auth/config.js';
import { createAuthService, type AuthService, type AuthTuning } from '../../gateway/src/auth/index.js';
import { listSigningKeys, pruneRetiredKeys } from '../../gateway/src/auth/key-rotation.js';
import { createSigningKey, createSigningKeyStore } from '../../gateway/src/auth/signing-keys.js';
import { createDatabase, type Database } from '../../lib/src/db.js';
import { createHttpApp, finishHttpApp, listen } from '../../lib/src/http.js';
import { REDACT_PATHS } from '../../lib/src/logger.js';
import { migrate } from '../../lib/src/migrate.js';
import { DEMO_USERS, seedDemoData, seedId } from '../../scripts/lib/seed.js';
import { scratchDatabase } from './scratch-database.js';
import { reasonOf, dropTestKeys } from './auth-support.js';

const scratch = scratchDatabase('innkeep_auth_test');
const testUrl = scratch.url;

const PASSWORD = `pw-${randomUUID()}`; // unique, so the captured logs can be searched for it
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const GRAND_HARBOR = seedId('hotel:grand-harbor');
const execFileAsync = promisify(execFile);


// Every log line of every service instance, to prove no secret reaches a log.
const logLines: string[] = [];
const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, { write: (line: string) => void logLines.push(line) });

let db: Database;
let redis: Redis;
const redisPrefix = `innkeep-auth-test:${randomUUID()}:`;
const running: Array<{ auth: AuthService; server: http.Server }> = [];

interface Served {
  auth: AuthService;
  url: string;
}

/** An AuthService with its routes on an express app on port 0 (as the gateway mounts them). */
async function serve(config: AuthConfig = authConfig(), tuning: AuthTuning = {}, redisClient: Redis | null = redis): Promise<Served> {
  const auth = await createAuthService({ prisma: db.prisma, redis: redisClient, logger, config, production: false, tuning });
  const app = createHttpApp({ logger, checks: [] });
  auth.mountRoutes(app);
  finishHttpApp(app);
  const server = http.createServer(app);
  const url = await listen(server, 0, '127.0.0.1');
  running.push({ auth, server });
  return { auth, url };
}

async function call(base: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

const login = (s: Served, email: string, password = PASSWORD) => call(s.url, '/auth/login', { email, password });
async function tokensFor(s: Served, email: string) {
  const res = await login(s, email);
  expect(res.status).toBe(200);
  return res.body as { accessToken: string; refreshToken: string; expiresIn: number; refreshExpiresIn: number; tokenType: string };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

let main: Served;

beforeAll(async () => {
  await scratch.create();
  await migrate(testUrl);
  db = createDatabase({ url: testUrl, poolSize: 6, acquireTimeoutMs: 5000, applicationName: 'innkeep-auth-test' });
  await seedDemoData(db.prisma, '2026-06-01', PASSWORD);
  redis = new Redis(redisUrl, { keyPrefix: redisPrefix, maxRetriesPerRequest: 1 });
  // Short key cache: a rotation reaches this instance within 300 ms instead of 30 s.
  main = await serve(authConfig(), { keyCacheTtlMs: 300, unknownKidReloadIntervalMs: 0 });
});

afterAll(async () => {
  for (const { auth, server } of running) {
    await auth.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await dropTestKeys(redis, redisPrefix);
  await db?.close();
  await scratch.drop();
});

describe('demo users (development seed)', () => {
  it('creates the demo users once, with their roles and hotels', async () => {
    const users = await db.prisma.user.findMany({ orderBy: { email: 'asc' } });
    expect(users.map((u) => u.email).sort()).toEqual(DEMO_USERS.map((u) => u.email).sort());
    const byEmail = new Map(users.map((u) => [u.email, u]));
    expect(byEmail.get('admin@innkeep.test')).toMatchObject({ roles: ['PLATFORM_ADMIN'], hotelIds: [] });
    expect(byEmail.get('manager@grand-harbor.test')).toMatchObject({ roles: ['HOTEL_MANAGER'], hotelIds: [GRAND_HARBOR] });
    expect(byEmail.get('frontdesk@grand-harbor.test')).toMatchObject({ roles: ['FRONT_DESK'], hotelIds: [GRAND_HARBOR] });
    expect(byEmail.get('auditor@grand-harbor.test')).toMatchObject({ roles: ['AUDITOR'], hotelIds: [GRAND_HARBOR] });
    expect(byEmail.get('manager@alpine-lodge.test')).toMatchObject({ roles: ['HOTEL_MANAGER'], hotelIds: [seedId('hotel:alpine-lodge')] });
    expect(byEmail.get('frontdesk@alpine-lodge.test')).toMatchObject({ roles: ['FRONT_DESK'], hotelIds: [seedId('hotel:alpine-lodge')] });
    expect(byEmail.get('guest@innkeep.test')).toMatchObject({ roles: ['GUEST'], hotelIds: [] });
    expect(users.every((u) => u.passwordHash.startsWith('scrypt$') && !u.passwordHash.includes(PASSWORD))).toBe(true);

    await expect(seedDemoData(db.prisma, '2026-06-01', 'another-password')).resolves.toEqual({ seeded: [] });
    expect(await db.prisma.user.count()).toBe(DEMO_USERS.length);
    expect((await login(main, 'admin@innkeep.test', 'another-password')).status).toBe(401); // left alone
  });
});

describe('POST /auth/login', () => {
  it('returns a short-lived ES256 access token with every claim, and a refresh token', async () => {
    const res = await login(main, 'Manager@Grand-Harbor.test'); // email compared in lowercase
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 900,
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      refreshExpiresIn: 30 * 86_400,
    });
    const header = decodeProtectedHeader(res.body.accessToken);
    expect(header).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    const claims = decodeJwt(res.body.accessToken);
    expect(claims).toEqual({
      iss: 'innkeep',
      aud: 'innkeep-api',
      sub: seedId('user:manager@grand-harbor.test'),
      roles: ['HOTEL_MANAGER'],
      hotelIds: [GRAND_HARBOR],
      email: 'manager@grand-harbor.test',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: expect.any(Number),
      nbf: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - nowSeconds())).toBeLessThan(5);
  });

  it('the access token verifies to the user principal', async () => {
    const { accessToken } = await tokensFor(main, 'frontdesk@grand-harbor.test');
    await expect(main.auth.authenticateBearer(accessToken)).resolves.toEqual({
      kind: 'user',
      id: seedId('user:frontdesk@grand-harbor.test'),
      email: 'frontdesk@grand-harbor.test',
      roles: ['FRONT_DESK'],
      hotelIds: [GRAND_HARBOR],
      scopes: [],
    });
  });

  it('answers a wrong password and an unknown email exactly alike: 401 "Invalid email or password"', async () => {
    const wrong = await login(main, 'admin@innkeep.test', 'not-the-password');
    const unknown = await login(main, 'nobody@innkeep.test', 'not-the-password');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="innkeep"/);
      expect(res.body).toEqual({
        errors: [
          {
            message: 'Invalid email or password',
            extensions: { code: 'UNAUTHENTICATED', correlationId: expect.any(String), timestamp: expect.stringMatching(/Z$/), service: 'gateway' },
          },
        ],
      });
    }
    expect(res(wrong)).toEqual(res(unknown));
  });

  it('refuses a disabled user with the same answer', async () => {
    await db.prisma.user.update({ where: { email: 'auditor@grand-harbor.test' }, data: { disabled: true } });
    try {
      const res = await login(main, 'auditor@grand-harbor.test');
      expect(res.status).toBe(401);
      expect(res.body.errors[0].message).toBe('Invalid email or password');
    } finally {
      await db.prisma.user.update({ where: { email: 'auditor@grand-harbor.test' }, data: { disabled: false } });
    }
  });

  it('answers a bad body with 400 BAD_USER_INPUT naming the fields', async () => {
    const res = await call(main.url, '/auth/login', { email: 'not-an-email' });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', service: 'gateway', correlationId: expect.any(String) });
    expect(res.body.errors[0].extensions.fields.map((f: { field: string }) => f.field).sort()).toEqual(['email', 'password']);

    const broken = await call(main.url, '/auth/login', '{"email":', { 'content-type': 'application/json' });
    expect(broken.status).toBe(400);
    expect(broken.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

/** Claims as the built-in issuer writes them, for tokens the tests sign themselves with the real key. */
function claimsFor(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return {
    iss: 'innkeep',
    aud: 'innkeep-api',
    sub: seedId('user:admin@innkeep.test'),
    roles: ['PLATFORM_ADMIN'],
    hotelIds: [],
    email: 'admin@innkeep.test',
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 600,
    ...overrides,
  };
}

describe('the attack corpus at authenticateBearer: each refused with its reason', () => {
  let signingKid: string;
  let sign: (claims: JWTPayload, header?: Record<string, unknown>) => Promise<string>;
  let publicJwk: JWK;

  beforeAll(async () => {
    // The issuer's real private key, read the way the gateway reads it.
    const store = createSigningKeyStore({ prisma: db.prisma, logger, encryptionSecret: DEVELOPMENT_KEY_ENCRYPTION_SECRET, production: false });
    await store.initialize();
    const key = await store.signingKey();
    signingKid = key.kid;
    publicJwk = (await store.publicKeys()).find((k) => k.kid === key.kid)!;
    sign = (claims, header = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
  });

  it('a token the tests sign with the real key is accepted (the corpus below differs in one thing each)', async () => {
    await expect(main.auth.authenticateBearer(await sign(claimsFor()))).resolves.toMatchObject({ kind: 'user', roles: ['PLATFORM_ADMIN'] });
  });

  it('alg: none', async () => {
    const token = `${b64url({ alg: 'none', typ: 'at+jwt', kid: signingKid })}.${b64url(claimsFor())}.`;
    expect(await reasonOf(main.auth.authenticateBearer(token))).toBe('algorithm_not_allowed');
  });

  it('HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const jwks = await call(main.url, '/.well-known/jwks.json');
    const published = jwks.body.keys.find((k: JWK) => k.kid === signingKid);
    expect(published).toEqual(publicJwk);
    for (const secret of [JSON.stringify(published), Buffer.from(JSON.stringify(published))]) {
      const header = b64url({ alg: 'HS256', typ: 'at+jwt', kid: signingKid });
      const payload = b64url(claimsFor());
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      expect(await reasonOf(main.auth.authenticateBearer(`${header}.${payload}.${signature}`))).toBe('algorithm_not_allowed');
    }
    // And the configuration cannot be talked into HMAC either.
    expect(() => authConfig({ AUTH_ALGORITHMS: 'ES256,HS256' })).toThrow(/AUTH_ALGORITHMS|algorithm/);
  });

  it('expired', async () => {
    const now = nowSeconds();
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor({ iat: now - 1000, nbf: now - 1000, exp: now - 60 }))))).toBe('expired');
  });

  it('nbf in the future', async () => {
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor({ nbf: nowSeconds() + 300 }))))).toBe('not_yet_valid');
  });

  it('wrong iss', async () => {
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor({ iss: 'https://evil.example' }))))).toBe('wrong_issuer');
  });

  it('wrong aud', async () => {
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor({ aud: 'some-other-api' }))))).toBe('wrong_audience');
  });

  it('unknown kid (a key of the attacker), and no kid at all', async () => {
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid: 'attacker-key', typ: 'at+jwt' }).sign(attacker.privateKey);
    expect(await reasonOf(main.auth.authenticateBearer(forged))).toBe('unknown_key');
    const ourKidTheirKey = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid: signingKid, typ: 'at+jwt' }).sign(attacker.privateKey);
    expect(await reasonOf(main.auth.authenticateBearer(ourKidTheirKey))).toBe('bad_signature');
    const noKid = await sign(claimsFor(), { kid: undefined });
    expect(await reasonOf(main.auth.authenticateBearer(noKid))).toBe('unknown_key');
  });

  it('tampered payload (a front-desk token promoted to PLATFORM_ADMIN)', async () => {
    const { accessToken } = await tokensFor(main, 'frontdesk@grand-harbor.test');
    const [header, payload, signature] = accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const tampered = `${header}.${b64url({ ...claims, roles: ['PLATFORM_ADMIN'] })}.${signature}`;
    expect(await reasonOf(main.auth.authenticateBearer(tampered))).toBe('bad_signature');
  });

  it('garbage, a token of another type, and a token missing a claim are malformed', async () => {
    expect(await reasonOf(main.auth.authenticateBearer('not.a.jwt'))).toBe('malformed');
    expect(await reasonOf(main.auth.authenticateBearer(''))).toBe('malformed');
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor(), { typ: 'JWT' })))).toBe('malformed');
    expect(await reasonOf(main.auth.authenticateBearer(await sign(claimsFor({ jti: undefined }))))).toBe('malformed');
  });

  it('revoked jti after logout (held in Redis until the token expires)', async () => {
    const { accessToken, refreshToken } = await tokensFor(main, 'manager@grand-harbor.test');
    await expect(main.auth.authenticateBearer(accessToken)).resolves.toMatchObject({ kind: 'user' });

    const out = await call(main.url, '/auth/logout', { refreshToken }, { authorization: `Bearer ${accessToken}` });
    expect(out).toMatchObject({ status: 200, body: { loggedOut: true } });
    expect(await reasonOf(main.auth.authenticateBearer(accessToken))).toBe('revoked');

    const { jti, exp } = decodeJwt(accessToken);
    const ttl = await redis.ttl(`auth:revoked-jti:${jti}`); // the client adds the test's key prefix
    expect(ttl).toBeGreaterThan(0);
    expect(Math.abs(ttl - (exp! - nowSeconds()))).toBeLessThanOrEqual(2);

    // The refresh family went with it.
    expect((await call(main.url, '/auth/refresh', { refreshToken })).status).toBe(401);
    // Logging out again with the revoked token: 401 with a plain reason and the Bearer challenge.
    const again = await call(main.url, '/auth/logout', {}, { authorization: `Bearer ${accessToken}` });
    expect(again.status).toBe(401);
    expect(again.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(again.body.errors[0]).toMatchObject({ message: 'The access token has been revoked', extensions: { code: 'UNAUTHENTICATED', reason: 'revoked' } });
    expect((await call(main.url, '/auth/logout', {})).status).toBe(401);
  });

  it('without Redis, revocation lives in an in-memory Map of the instance', async () => {
    const local = await serve(authConfig(), {}, null);
    const { accessToken } = await tokensFor(local, 'guest@innkeep.test');
    expect((await call(local.url, '/auth/logout', {}, { authorization: `Bearer ${accessToken}` })).status).toBe(200);
    expect(await reasonOf(local.auth.authenticateBearer(accessToken))).toBe('revoked');
  });
});

describe('POST /auth/refresh', () => {
  it('rotates the refresh token: each one works once and yields a new pair', async () => {
    const first = await tokensFor(main, 'guest@innkeep.test');
    const second = await call(main.url, '/auth/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 30 * 86_400 });
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    await expect(main.auth.authenticateBearer(second.body.accessToken)).resolves.toMatchObject({ email: 'guest@innkeep.test', roles: ['GUEST'] });
    const third = await call(main.url, '/auth/refresh', { refreshToken: second.body.refreshToken });
    expect(third.status).toBe(200);

    // Only hashes are stored.
    const rows = await db.prisma.refreshToken.findMany({ where: { userId: seedId('user:guest@innkeep.test') } });
    expect(JSON.stringify(rows)).not.toContain(first.refreshToken);
  });

  it('reuse of a used refresh token revokes the whole family: the newest one stops working too', async () => {
    const first = await tokensFor(main, 'manager@alpine-lodge.test');
    const second = (await call(main.url, '/auth/refresh', { refreshToken: first.refreshToken })).body;
    const third = (await call(main.url, '/auth/refresh', { refreshToken: second.refreshToken })).body;

    const replay = await call(main.url, '/auth/refresh', { refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    expect(replay.body.errors[0]).toMatchObject({ message: expect.stringMatching(/already used/), extensions: { code: 'UNAUTHENTICATED', service: 'gateway' } });

    const newest = await call(main.url, '/auth/refresh', { refreshToken: third.refreshToken });
    expect(newest.status).toBe(401);
    expect(newest.body.errors[0].message).toMatch(/revoked/);

    const family = await db.prisma.refreshToken.findMany({ where: { userId: seedId('user:manager@alpine-lodge.test') } });
    expect(family.length).toBe(3);
    expect(new Set(family.map((t) => t.familyId)).size).toBe(1);
    expect(family.every((t) => t.revokedAt !== null)).toBe(true);
    // A fresh login starts a new family and works.
    expect((await login(main, 'manager@alpine-lodge.test')).status).toBe(200);
  });

  it('refuses unknown, expired and malformed refresh tokens', async () => {
    expect((await call(main.url, '/auth/refresh', { refreshToken: 'made-up' })).status).toBe(401);
    const { refreshToken } = await tokensFor(main, 'auditor@grand-harbor.test');
    await db.prisma.refreshToken.updateMany({ where: { userId: seedId('user:auditor@grand-harbor.test') }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await call(main.url, '/auth/refresh', { refreshToken });
    expect(expired.status).toBe(401);
    expect(expired.body.errors[0].message).toMatch(/expired/);
    const bad = await call(main.url, '/auth/refresh', {});
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].extensions.fields).toEqual([{ field: 'refreshToken', message: expect.any(String) }]);
  });
});

describe('signing-key rotation', () => {
  const tsx = 'node_modules/.bin/tsx';
  const runScript = (...args: string[]) =>
    execFileAsync(tsx, ['scripts/rotate-keys.ts', ...args], {
      cwd: process.cwd(),
      env: { ...process.env, DATABASE_URL: testUrl, NODE_ENV: 'development', AUTH_KEY_ENCRYPTION_SECRET: DEVELOPMENT_KEY_ENCRYPTION_SECRET },
    });

  it('old tokens keep verifying, new tokens carry the new kid, JWKS lists both; after retire_after the old key is gone', async () => {
    const before = await tokensFor(main, 'admin@innkeep.test');
    const oldKid = decodeProtectedHeader(before.accessToken).kid!;

    const { stdout } = await runScript('--dev');
    const newKid = /New signing key: (\S+)/.exec(stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    expect(stdout).toContain(`Retiring: ${oldKid}`);
    const oldRow = await db.prisma.signingKey.findUniqueOrThrow({ where: { kid: oldKid } });
    // Retires after access-token TTL + 5 min: every token it signed has expired by then.
    expect(oldRow.retireAfter!.getTime() - Date.now()).toBeGreaterThan((900 + 300 - 30) * 1000);
    expect(oldRow.retireAfter!.getTime() - Date.now()).toBeLessThanOrEqual((900 + 300) * 1000);

    // A replica started now signs with the new key at once; the running one within its key-cache TTL.
    const replica = await serve(authConfig());
    const fromReplica = await tokensFor(replica, 'admin@innkeep.test');
    expect(decodeProtectedHeader(fromReplica.accessToken).kid).toBe(newKid);
    await expect(main.auth.authenticateBearer(fromReplica.accessToken)).resolves.toMatchObject({ kind: 'user' }); // unknown kid → re-read
    await new Promise((r) => setTimeout(r, 350));
    const fromMain = await tokensFor(main, 'admin@innkeep.test');
    expect(decodeProtectedHeader(fromMain.accessToken).kid).toBe(newKid);

    // The old key's token still verifies, everywhere.
    await expect(main.auth.authenticateBearer(before.accessToken)).resolves.toMatchObject({ kind: 'user' });
    await expect(replica.auth.authenticateBearer(before.accessToken)).resolves.toMatchObject({ kind: 'user' });
    const jwks = await call(main.url, '/.well-known/jwks.json');
    expect(jwks.headers.get('cache-control')).toMatch(/max-age/);
    expect(jwks.body.keys.map((k: JWK) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    for (const key of jwks.body.keys as JWK[]) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.d).toBeUndefined(); // public halves only
    }

    const listed = await runScript('--list');
    expect(listed.stdout).toMatch(new RegExp(`${newKid}\\s+ES256\\s+signing`));
    expect(listed.stdout).toMatch(new RegExp(`${oldKid}\\s+ES256\\s+verifying`));

    // Past retire_after the old key verifies nothing and leaves the JWKS.
    await db.prisma.signingKey.update({ where: { kid: oldKid }, data: { retireAfter: new Date(Date.now() - 1000) } });
    await new Promise((r) => setTimeout(r, 350));
    expect(await reasonOf(main.auth.authenticateBearer(before.accessToken))).toBe('unknown_key');
    const fresh = await serve(authConfig());
    expect(await reasonOf(fresh.auth.authenticateBearer(before.accessToken))).toBe('unknown_key');
    expect((await call(main.url, '/.well-known/jwks.json')).body.keys.map((k: JWK) => k.kid)).toEqual([newKid]);
    await expect(main.auth.authenticateBearer(fromMain.accessToken)).resolves.toMatchObject({ kind: 'user' });

    expect((await listSigningKeys(db.prisma)).find((k) => k.kid === oldKid)?.status).toBe('retired');
    expect(await pruneRetiredKeys(db.prisma)).toEqual([oldKid]);
  });

  it('stores private keys only encrypted', async () => {
    const rows = await db.prisma.signingKey.findMany();
    for (const row of rows) {
      expect(row.privateJwkEncrypted).toMatch(/^v1\./);
      expect(row.privateJwkEncrypted).not.toContain('"d"');
      expect(row.publicJwk).not.toHaveProperty('d');
    }
  });
});

describe('external IdP mode (AUTH_JWKS_URL)', () => {
  const ISSUER = 'https://idp.example.test/realms/innkeep';
  const served: JWK[] = [];
  let fetches = 0;
  let idp: http.Server;
  let jwksUrl: string;
  const idpKeys = new Map<string, CryptoKey>();

  async function addIdpKey(kid: string): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    served.push({ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' });
    idpKeys.set(kid, privateKey);
  }
  const idpToken = (kid: string, claims: JWTPayload = {}, alg = 'RS256') =>
    new SignJWT({
      iss: ISSUER,
      aud: 'innkeep-api',
      sub: 'idp-user-42',
      jti: randomUUID(),
      iat: nowSeconds(),
      exp: nowSeconds() + 300,
      realm_access: { roles: ['HOTEL_MANAGER', 'offline_access', 'uma_authorization'] },
      'https://innkeep.test/hotelIds': [GRAND_HARBOR, 'not-a-uuid'],
      email: 'Manager@Example.test',
      ...claims,
    })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .sign(idpKeys.get(kid)!);

  const externalConfig = (overrides: Record<string, string> = {}) =>
    authConfig({
      AUTH_JWKS_URL: jwksUrl,
      AUTH_ISSUER: ISSUER,
      AUTH_ALGORITHMS: 'RS256',
      AUTH_ROLES_CLAIM: 'realm_access.roles',
      AUTH_HOTEL_IDS_CLAIM: 'https://innkeep.test/hotelIds',
      ...overrides,
    });

  beforeAll(async () => {
    await addIdpKey('idp-key-1');
    idp = http.createServer((req, res) => {
      if (req.url !== '/protocol/openid-connect/certs') {
        res.writeHead(404).end();
        return;
      }
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/protocol/openid-connect/certs`;
  });

  afterAll(async () => {
    idp.closeAllConnections();
    await new Promise((resolve) => idp.close(resolve));
  });

  it("verifies the IdP's tokens against its JWKS, maps its role and hotel claims, refetches on an unknown kid", async () => {
    const keysBefore = await db.prisma.signingKey.count();
    const external = await serve(externalConfig(), { jwks: { cooldownMs: 0 } });
    expect(await db.prisma.signingKey.count()).toBe(keysBefore); // no signing key of ours in this mode

    await expect(external.auth.authenticateBearer(await idpToken('idp-key-1'))).resolves.toEqual({
      kind: 'user',
      id: 'idp-user-42',
      email: 'manager@example.test',
      roles: ['HOTEL_MANAGER'], // offline_access & co. are not Innkeep roles
      hotelIds: [GRAND_HARBOR],
      scopes: [],
    });
    expect(fetches).toBe(1);
    await external.auth.authenticateBearer(await idpToken('idp-key-1'));
    expect(fetches).toBe(1); // cached

    await addIdpKey('idp-key-2'); // the IdP rotates
    await expect(external.auth.authenticateBearer(await idpToken('idp-key-2'))).resolves.toMatchObject({ id: 'idp-user-42' });
    expect(fetches).toBe(2); // unknown kid → refetched

    idpKeys.set('never-published', (await generateKeyPair('RS256')).privateKey);
    expect(await reasonOf(external.auth.authenticateBearer(await idpToken('never-published')))).toBe('unknown_key');
    expect(await reasonOf(external.auth.authenticateBearer(await idpToken('idp-key-1', { iss: 'https://other-idp.test' })))).toBe('wrong_issuer');
    expect(await reasonOf(external.auth.authenticateBearer(await idpToken('idp-key-1', { aud: 'account' })))).toBe('wrong_audience');
    idpKeys.set('es-key', (await generateKeyPair('ES256')).privateKey);
    expect(await reasonOf(external.auth.authenticateBearer(await idpToken('es-key', {}, 'ES256')))).toBe('algorithm_not_allowed'); // AUTH_ALGORITHMS=RS256
    // Our own built-in tokens mean nothing here.
    const ours = await tokensFor(main, 'admin@innkeep.test');
    expect(await reasonOf(external.auth.authenticateBearer(ours.accessToken))).toMatch(/^(algorithm_not_allowed|unknown_key)$/);
  });

  it('issues nothing itself (no login, no JWKS) but logout revokes the IdP token jti', async () => {
    const external = await serve(externalConfig(), { jwks: { cooldownMs: 0 } });
    expect((await call(external.url, '/auth/login', { email: 'admin@innkeep.test', password: PASSWORD })).status).toBe(404);
    expect((await call(external.url, '/.well-known/jwks.json')).status).toBe(404);
    const token = await idpToken('idp-key-1');
    expect((await call(external.url, '/auth/logout', {}, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await reasonOf(external.auth.authenticateBearer(token))).toBe('revoked');
  });

  it('an unreachable IdP is SERVICE_UNAVAILABLE, not a pass and not the caller’s fault', async () => {
    const down = await serve(externalConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:9/certs' }), { jwks: { timeoutMs: 500 } });
    await expect(down.auth.authenticateBearer(await idpToken('idp-key-1'))).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
  });
});

describe('production refuses to start without proper keys', () => {
  const PROD_SECRET = `prod-secret-${randomUUID()}`;
  const start = (config: AuthConfig, redisClient: Redis | null = redis) =>
    createAuthService({ prisma: db.prisma, redis: redisClient, logger, config, production: true });

  it('refuses the development encryption secret', async () => {
    await expect(start(authConfig())).rejects.toThrow(/AUTH_KEY_ENCRYPTION_SECRET: is the development default/);
  });

  it('refuses when there are only development keys', async () => {
    expect(await db.prisma.signingKey.count({ where: { development: false } })).toBe(0);
    await expect(start(authConfig({ AUTH_KEY_ENCRYPTION_SECRET: PROD_SECRET }))).rejects.toThrow(/No signing key for access tokens.*auth:rotate-keys/s);
  });

  it('refuses without Redis and with an http JWKS URL', async () => {
    await expect(start(authConfig({ AUTH_KEY_ENCRYPTION_SECRET: PROD_SECRET }), null)).rejects.toThrow(/REDIS_URL/);
    await expect(start(authConfig({ AUTH_JWKS_URL: 'http://idp.example.test/certs' }))).rejects.toThrow(/AUTH_JWKS_URL: must be an https/);
  });

  it('starts with a production key, ignoring development keys, and refuses a secret that does not decrypt it', async () => {
    const devSigned = await tokensFor(main, 'admin@innkeep.test'); // signed with a development key
    await expect(main.auth.authenticateBearer(devSigned.accessToken)).resolves.toMatchObject({ kind: 'user' });
    // From here on the newest key is a production one, which the development instances cannot decrypt.
    const { kid } = await createSigningKey(db.prisma, { encryptionSecret: PROD_SECRET, development: false });
    await expect(start(authConfig({ AUTH_KEY_ENCRYPTION_SECRET: `wrong-${PROD_SECRET}` }))).rejects.toThrow(/does not decrypt/);

    const prod = await start(authConfig({ AUTH_KEY_ENCRYPTION_SECRET: PROD_SECRET }));
    try {
      expect(await reasonOf(prod.authenticateBearer(devSigned.accessToken))).toBe('unknown_key');
      const store = createSigningKeyStore({ prisma: db.prisma, logger, encryptionSecret: PROD_SECRET, production: true });
      await store.initialize();
      expect((await store.publicKeys()).map((k) => k.kid)).toEqual([kid]);
      const key = await store.signingKey();
      const token = await new SignJWT(claimsFor()).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(key.privateKey);
      await expect(prod.authenticateBearer(token)).resolves.toMatchObject({ kind: 'user', roles: ['PLATFORM_ADMIN'] });
    } finally {
      await prod.close();
    }
  });
});

describe('logs', () => {
  it('never contain a password, an access or refresh token', async () => {
    const all = logLines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./); // a JWT
    const refreshHashes = await db.prisma.refreshToken.count();
    expect(refreshHashes).toBeGreaterThan(0);
    expect(all).not.toMatch(/"refreshToken"/);
  });
});

// Two results are "alike" when everything but per-request values is equal.
function res(r: { status: number; body: Record<string, any> }) {
  return { status: r.status, errors: r.body.errors.map((e: { message: string; extensions: Record<string, unknown> }) => ({ message: e.message, code: e.extensions.code })) };
}
