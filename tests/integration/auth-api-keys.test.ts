/**
 * API keys for service callers, and the identity models against the hand-written migration. Runs the
 * AuthService in-process against a real PostgreSQL, in a database of its own; API-key authentication
 * needs no Redis (the service gets none here, as in single-process development).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { authConfig } from '../../gateway/src/auth/config.js';
import { createAuthService, type AuthService } from '../../gateway/src/auth/index.js';
import { createDatabase, PgErrorCode, pgErrorCode, type Database } from '../../lib/src/db.js';
import { isAppError } from '../../lib/src/errors.js';
import type { Principal } from '../../lib/src/identity.js';
import { REDACT_PATHS } from '../../lib/src/logger.js';
import { migrate } from '../../lib/src/migrate.js';
import { seedId } from '../../scripts/lib/seed.js';
import { scratchDatabase } from './scratch-database.js';
import { reasonOf } from './auth-support.js';

const scratch = scratchDatabase('innkeep_auth_api_keys_test');
const testUrl = scratch.url;

const GH = seedId('hotel:grand-harbor');
const AL = seedId('hotel:alpine-lodge');


const logLines: string[] = [];
const logger = pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, { write: (line: string) => void logLines.push(line) });

const user = (id: string, roles: Principal['roles'], hotelIds: string[]): Principal => ({ kind: 'user', id, roles, hotelIds, scopes: [] });
const platformAdmin = user(randomUUID(), ['PLATFORM_ADMIN'], []);
const ghManager = user(randomUUID(), ['HOTEL_MANAGER'], [GH]);
const alManager = user(randomUUID(), ['HOTEL_MANAGER'], [AL]);
const ghFrontDesk = user(randomUUID(), ['FRONT_DESK'], [GH]);

let db: Database;
let auth: AuthService;
const services: AuthService[] = [];
const secretsShown: string[] = [];

async function service(env: Record<string, string> = {}, usageFlushIntervalMs?: number): Promise<AuthService> {
  const s = await createAuthService({ prisma: db.prisma, redis: null, logger, config: authConfig(env), production: false, tuning: { usageFlushIntervalMs } });
  services.push(s);
  return s;
}

/** The GraphQL error code (extensions.code) `work` must throw. */
async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (isAppError(error)) return String(error.extensions.code);
    throw error;
  }
  throw new Error('expected an AppError');
}

async function createKey(by: Principal, input: Partial<{ name: string; scopes: string[]; hotelIds: string[]; expiresAt: Date | null }> = {}, on = auth) {
  const created = await on.apiKeys.create({ name: 'Channel manager', scopes: ['bookings:read'], hotelIds: [GH], ...input }, by);
  secretsShown.push(created.secret);
  return created;
}

beforeAll(async () => {
  await scratch.create();
  await migrate(testUrl);
  db = createDatabase({ url: testUrl, poolSize: 4, acquireTimeoutMs: 5000, applicationName: 'innkeep-auth-api-keys-test' });
  auth = await service();
});

afterAll(async () => {
  for (const s of services) await s.close();
  await db?.close();
  await scratch.drop();
});

describe('every identity model matches the migration (create, then read back)', () => {
  async function sqlStateOf(work: () => Promise<unknown>): Promise<string | undefined> {
    try {
      await work();
    } catch (error) {
      return pgErrorCode(error) ?? `no SQLSTATE found in ${String(error)}`;
    }
    throw new Error('expected the database to refuse this');
  }

  it('User and RefreshToken', async () => {
    const { prisma } = db;
    const data = { email: 'model-check@innkeep.test', name: 'Model Check', passwordHash: 'scrypt$15$8$1$x$y', roles: ['FRONT_DESK', 'AUDITOR'], hotelIds: [GH, AL] };
    const created = await prisma.user.create({ data });
    expect(await prisma.user.findUniqueOrThrow({ where: { email: data.email } })).toEqual({
      ...data,
      id: created.id,
      disabled: false,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    const familyId = randomUUID();
    const token = await prisma.refreshToken.create({ data: { familyId, userId: created.id, tokenHash: 'a'.repeat(64), expiresAt: new Date('2030-01-01T00:00:00Z') } });
    expect(await prisma.refreshToken.findUniqueOrThrow({ where: { tokenHash: 'a'.repeat(64) }, include: { user: true } })).toMatchObject({
      id: token.id,
      familyId,
      usedAt: null,
      revokedAt: null,
      createdAt: expect.any(Date),
      user: { email: data.email },
    });
    // The database keeps its own promises.
    expect(await sqlStateOf(() => prisma.refreshToken.create({ data: { familyId, userId: created.id, tokenHash: 'a'.repeat(64), expiresAt: new Date() } }))).toBe(PgErrorCode.uniqueViolation);
    expect(await sqlStateOf(() => prisma.user.create({ data: { ...data, email: 'Mixed@Case.test' } }))).toBe(PgErrorCode.checkViolation);
    expect(await sqlStateOf(() => prisma.user.create({ data: { ...data, email: 'root@innkeep.test', roles: ['ROOT'] } }))).toBe(PgErrorCode.checkViolation);
    expect(await sqlStateOf(() => prisma.user.create({ data: { ...data, email: 'model-check@innkeep.test' } }))).toBe(PgErrorCode.uniqueViolation);
    // Deleting a user takes their refresh tokens along.
    await prisma.user.delete({ where: { id: created.id } });
    expect(await prisma.refreshToken.count({ where: { familyId } })).toBe(0);
  });

  it('SigningKey', async () => {
    const { prisma } = db;
    const data = { kid: 'model-check-kid', alg: 'ES256', publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, privateJwkEncrypted: 'v1.a.b.c.d', retireAfter: new Date('2030-01-01T00:00:00Z') };
    await prisma.signingKey.create({ data });
    expect(await prisma.signingKey.findUniqueOrThrow({ where: { kid: data.kid } })).toEqual({ ...data, development: false, createdAt: expect.any(Date) });
    await prisma.signingKey.delete({ where: { kid: data.kid } });
  });

  it('ApiKey, with its rotation link', async () => {
    const { prisma } = db;
    const data = { prefix: 'model001', secretHash: 'b'.repeat(64), name: 'Model check', scopes: ['pms:sync'], hotelIds: [GH], createdBy: 'user:x', expiresAt: new Date('2030-01-01T00:00:00Z') };
    const old = await prisma.apiKey.create({ data });
    const next = await prisma.apiKey.create({ data: { ...data, prefix: 'model002' } });
    await prisma.apiKey.update({ where: { id: old.id }, data: { replacedById: next.id, validUntil: new Date('2029-01-01T00:00:00Z'), usageCount: 9_007_199_254_740_993n } });
    expect(await prisma.apiKey.findUniqueOrThrow({ where: { prefix: 'model001' }, include: { replacedBy: true } })).toEqual({
      ...data,
      id: old.id,
      revokedAt: null,
      validUntil: new Date('2029-01-01T00:00:00Z'),
      replacedById: next.id,
      lastUsedAt: null,
      usageCount: 9_007_199_254_740_993n, // bigint: beyond 2^53 without loss
      createdAt: expect.any(Date),
      replacedBy: expect.objectContaining({ id: next.id, prefix: 'model002' }),
    });
    expect(await prisma.apiKey.findUniqueOrThrow({ where: { id: next.id }, include: { replaces: true } })).toMatchObject({ usageCount: 0n, replaces: { id: old.id } });
    await prisma.apiKey.deleteMany({ where: { id: { in: [old.id, next.id] } } });
  });
});

describe('API key lifecycle', () => {
  it('create: the secret is shown once, the database holds only its hash', async () => {
    const expiresAt = new Date(Date.now() + 7 * 86_400_000);
    const { apiKey, secret } = await createKey(platformAdmin, { name: 'Fake PMS', scopes: ['pms:sync', 'bookings:read', 'pms:sync'], hotelIds: [GH], expiresAt });
    expect(secret).toMatch(new RegExp(`^ik_${apiKey.prefix}_[A-Za-z0-9_-]{43}$`));
    expect(apiKey).toEqual({
      id: expect.any(String),
      prefix: expect.stringMatching(/^[a-z0-9]{8}$/),
      name: 'Fake PMS',
      scopes: ['pms:sync', 'bookings:read'],
      hotelIds: [GH],
      createdBy: `user:${platformAdmin.id}`,
      createdAt: expect.any(Date),
      expiresAt,
      revokedAt: null,
      validUntil: null,
      lastUsedAt: null,
      usageCount: 0,
    });

    const secretPart = secret.slice(`ik_${apiKey.prefix}_`.length);
    const [row] = (await db.pool.query('SELECT row_to_json(k)::text AS json, secret_hash FROM identity.api_keys k WHERE id = $1', [apiKey.id])).rows;
    expect(row.json).not.toContain(secretPart); // no column holds the secret ...
    expect(row.json).not.toContain(secret);
    expect(row.secret_hash).toBe(createHash('sha256').update(secretPart).digest('hex')); // ... only its hash
    // Nor does any later answer.
    expect(JSON.stringify(await auth.apiKeys.list(platformAdmin))).not.toContain(secretPart);
  });

  it('authenticates with its scopes and hotels; a wrong secret or garbage is unknown', async () => {
    const { apiKey, secret } = await createKey(platformAdmin, { scopes: ['bookings:read', 'bookings:write'], hotelIds: [GH, AL] });
    await expect(auth.authenticateApiKey(secret)).resolves.toEqual({
      kind: 'apiKey',
      id: apiKey.id,
      roles: [],
      scopes: ['bookings:read', 'bookings:write'],
      hotelIds: [GH, AL],
    });
    const wrongSecret = `ik_${apiKey.prefix}_${'A'.repeat(43)}`;
    expect(await reasonOf(auth.authenticateApiKey(wrongSecret))).toBe('unknown_api_key');
    expect(await reasonOf(auth.authenticateApiKey('ik_zzzzzzzz_' + 'A'.repeat(43)))).toBe('unknown_api_key');
    expect(await reasonOf(auth.authenticateApiKey('garbage'))).toBe('unknown_api_key');
    expect(await reasonOf(auth.authenticateApiKey(''))).toBe('unknown_api_key');
  });

  it('expires', async () => {
    const { apiKey, secret } = await createKey(platformAdmin, { expiresAt: new Date(Date.now() + 60_000) });
    await expect(auth.authenticateApiKey(secret)).resolves.toMatchObject({ id: apiKey.id });
    await db.prisma.apiKey.update({ where: { id: apiKey.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await reasonOf(auth.authenticateApiKey(secret))).toBe('api_key_expired');
    expect(await codeOf(auth.apiKeys.rotate(apiKey.id, platformAdmin))).toBe('CONFLICT');
  });

  it('is revoked at once; revoking again changes nothing', async () => {
    const { apiKey, secret } = await createKey(ghManager);
    await expect(auth.authenticateApiKey(secret)).resolves.toMatchObject({ id: apiKey.id });
    const revoked = await auth.apiKeys.revoke(apiKey.id, ghManager);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await reasonOf(auth.authenticateApiKey(secret))).toBe('api_key_revoked');
    expect((await auth.apiKeys.revoke(apiKey.id, platformAdmin)).revokedAt).toEqual(revoked.revokedAt);
    expect(await codeOf(auth.apiKeys.rotate(apiKey.id, platformAdmin))).toBe('CONFLICT');
  });

  it('rotates with an overlap (default 24 h): old and new both work, the old one only until validUntil', async () => {
    const { apiKey, secret: oldSecret } = await createKey(ghManager, { scopes: ['pms:sync'] });
    const before = Date.now();
    const rotated = await auth.apiKeys.rotate(apiKey.id, ghManager);
    secretsShown.push(rotated.secret);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(rotated.apiKey).toMatchObject({ name: apiKey.name, scopes: ['pms:sync'], hotelIds: [GH], validUntil: null });
    expect(rotated.apiKey.id).not.toBe(apiKey.id);
    expect(rotated.previousValidUntil.getTime()).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(rotated.previousValidUntil.getTime()).toBeLessThanOrEqual(Date.now() + 86_400_000);
    expect(await db.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).toMatchObject({ replacedById: rotated.apiKey.id, validUntil: rotated.previousValidUntil });

    await expect(auth.authenticateApiKey(oldSecret)).resolves.toMatchObject({ id: apiKey.id });
    await expect(auth.authenticateApiKey(rotated.secret)).resolves.toMatchObject({ id: rotated.apiKey.id, scopes: ['pms:sync'] });
    // The old key can be rotated only once: its replacement is the one to rotate next.
    expect(await codeOf(auth.apiKeys.rotate(apiKey.id, ghManager))).toBe('CONFLICT');
  });

  it('after the overlap only the new key works', async () => {
    const shortOverlap = await service({ API_KEY_ROTATION_OVERLAP_SECONDS: '1' });
    const { apiKey, secret: oldSecret } = await createKey(platformAdmin, {}, shortOverlap);
    const rotated = await shortOverlap.apiKeys.rotate(apiKey.id, platformAdmin);
    secretsShown.push(rotated.secret);
    await expect(shortOverlap.authenticateApiKey(oldSecret)).resolves.toMatchObject({ id: apiKey.id });
    await new Promise((r) => setTimeout(r, Math.max(0, rotated.previousValidUntil.getTime() - Date.now()) + 50));
    expect(await reasonOf(shortOverlap.authenticateApiKey(oldSecret))).toBe('api_key_expired');
    await expect(shortOverlap.authenticateApiKey(rotated.secret)).resolves.toMatchObject({ id: rotated.apiKey.id });
  });

  it('counts usage in memory, shows it at once, and writes it in one batched UPDATE', async () => {
    const counting = await service({}, 60_000); // no timer flush during the test: flush() / close() write
    const a = await createKey(platformAdmin, {}, counting);
    const b = await createKey(platformAdmin, {}, counting);
    for (let i = 0; i < 3; i++) await counting.authenticateApiKey(a.secret);
    await counting.authenticateApiKey(b.secret);
    await reasonOf(counting.authenticateApiKey(`ik_${a.apiKey.prefix}_${'B'.repeat(43)}`)); // failures are not uses

    const listed = new Map((await counting.apiKeys.list(platformAdmin)).map((k) => [k.id, k]));
    expect(listed.get(a.apiKey.id)).toMatchObject({ usageCount: 3, lastUsedAt: expect.any(Date) });
    expect(listed.get(b.apiKey.id)).toMatchObject({ usageCount: 1 });
    expect(await db.prisma.apiKey.findUniqueOrThrow({ where: { id: a.apiKey.id } })).toMatchObject({ usageCount: 0n, lastUsedAt: null });

    await counting.close(); // flushes
    const rowA = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: a.apiKey.id } });
    expect(rowA.usageCount).toBe(3n);
    expect(rowA.lastUsedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: b.apiKey.id } })).usageCount).toBe(1n);

    // Replicas add up: another instance's uses increment, they do not overwrite.
    const replica = await service({}, 50);
    await replica.authenticateApiKey(a.secret);
    await replica.authenticateApiKey(a.secret);
    const deadline = Date.now() + 5000;
    while ((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: a.apiKey.id } })).usageCount !== 5n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: a.apiKey.id } })).usageCount).toBe(5n);
  });
});

describe('who may manage which API keys', () => {
  it('a hotel manager cannot create a key for a foreign hotel, for no hotel, or for more than their hotels', async () => {
    expect(await codeOf(createKey(ghManager, { hotelIds: [AL] }))).toBe('FORBIDDEN');
    expect(await codeOf(createKey(ghManager, { hotelIds: [GH, AL] }))).toBe('FORBIDDEN');
    expect(await codeOf(createKey(ghManager, { hotelIds: [] }))).toBe('FORBIDDEN');
    await expect(createKey(ghManager, { hotelIds: [GH] })).resolves.toMatchObject({ apiKey: { hotelIds: [GH], createdBy: `user:${ghManager.id}` } });
  });

  it('only platform admins and hotel managers manage keys at all', async () => {
    expect(await codeOf(createKey(ghFrontDesk))).toBe('FORBIDDEN');
    expect(await codeOf(auth.apiKeys.list(ghFrontDesk))).toBe('FORBIDDEN');
    const { secret } = await createKey(platformAdmin, { scopes: ['hotels:write'], hotelIds: [GH] });
    const service = await auth.authenticateApiKey(secret);
    expect(await codeOf(createKey(service))).toBe('FORBIDDEN'); // an API key cannot mint API keys
  });

  it("another hotel's key is NOT_FOUND for a manager, exactly like a missing one; lists show only their own", async () => {
    const alKey = (await createKey(alManager, { hotelIds: [AL], name: 'Alpine channel' })).apiKey;
    const mixed = (await createKey(platformAdmin, { hotelIds: [GH, AL], name: 'Both hotels' })).apiKey;
    const global = (await createKey(platformAdmin, { hotelIds: [], name: 'No hotel' })).apiKey;
    for (const id of [alKey.id, mixed.id, global.id, randomUUID(), 'not-a-uuid']) {
      expect(await codeOf(auth.apiKeys.rotate(id, ghManager))).toBe('NOT_FOUND');
      expect(await codeOf(auth.apiKeys.revoke(id, ghManager))).toBe('NOT_FOUND');
    }
    const ghList = await auth.apiKeys.list(ghManager);
    expect(ghList.length).toBeGreaterThan(0);
    expect(ghList.every((k) => k.hotelIds.length > 0 && k.hotelIds.every((h) => h === GH))).toBe(true);
    expect((await auth.apiKeys.list(alManager)).map((k) => k.id)).toContain(alKey.id);
    const all = (await auth.apiKeys.list(platformAdmin)).map((k) => k.id);
    expect(all).toEqual(expect.arrayContaining([alKey.id, mixed.id, global.id]));
  });

  it('refuses bad input with BAD_USER_INPUT naming the field', async () => {
    const fieldsOf = async (input: Record<string, unknown>) => {
      try {
        await auth.apiKeys.create({ name: 'x', scopes: ['bookings:read'], hotelIds: [GH], ...input } as never, platformAdmin);
      } catch (error) {
        if (isAppError(error, 'BAD_USER_INPUT')) return (error.extensions.fields as Array<{ field: string }>).map((f) => f.field);
        throw error;
      }
      throw new Error('expected BAD_USER_INPUT');
    };
    expect(await fieldsOf({ scopes: ['root'] })).toEqual(['input.scopes.0']);
    expect(await fieldsOf({ scopes: [] })).toEqual(['input.scopes']);
    expect(await fieldsOf({ hotelIds: ['grand-harbor'] })).toEqual(['input.hotelIds.0']);
    expect(await fieldsOf({ name: '  ' })).toEqual(['input.name']);
    expect(await fieldsOf({ expiresAt: new Date(Date.now() - 1000) })).toEqual(['input.expiresAt']);
  });
});

describe('logs', () => {
  it('never contain an API key secret', () => {
    expect(secretsShown.length).toBeGreaterThan(5);
    const all = logLines.join('\n');
    for (const secret of secretsShown) expect(all).not.toContain(secret.slice(12));
  });
});
