/**
 * PMS connectors against a real fake-vendor server (in this process, on a free port) over real HTTP, and
 * the pull against the real test database: each adapter pushes, cancels, pulls since a cursor and reads
 * availability in its own wire style; Opera's OAuth token is cached, renewed before it expires and
 * fetched again on a 401; vendor answers map to our error classes (bad credentials → VendorAuthError,
 * 5xx / timeout → VendorUnavailableError, 4xx → VendorRejectedError); the pull resumes from the persisted
 * cursor and is idempotent; credentials are sealed (AES-256-GCM) and the column refuses plaintext.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createDatabase, type PmsConnection } from '../../lib/src/db.js';
import { createLogger } from '../../lib/src/logger.js';
import { definePolicy } from '../../lib/src/policies.js';
import { startVendor } from '../../pms-vendor/src/server.js';
import { adapterSpecs, connectorConfigShape, refuseDevelopmentCredentialsKey } from '../../subgraphs/pms/src/connectors/config.js';
import { ConnectorRegistry } from '../../subgraphs/pms/src/connectors/registry.js';
import { isVendorVerdict, VendorAuthError, VendorRejectedError, VendorUnavailableError, type PmsConnector, type VendorAccount } from '../../subgraphs/pms/src/connectors/types.js';
import { CredentialsCipher, CredentialsDecryptionError, credentialsHint, DEVELOPMENT_PMS_CREDENTIALS_KEY } from '../../subgraphs/pms/src/credentials.js';
import { z } from 'zod';
import { pullVendorChanges } from '../../subgraphs/pms/src/pull.js';
import { env, sql } from '../e2e/support.js';

const TOKEN = 'connector-test-vendor-token';
const logger = createLogger('pms', 'silent');
type Vendor = Awaited<ReturnType<typeof startVendor>>;
let vendor: Vendor;
let registry: ConnectorRegistry;
const db = createDatabase({ url: env('INNKEEP_DATABASE_URL'), poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'pms-connectors-test' });

const control = async (path: string, body?: unknown) => {
  const res = await fetch(`${vendor.url}/__control/${path}`, { method: body === undefined ? 'POST' : 'PUT', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.status === 204 ? null : ((await res.json()) as any);
};
const stats = async () => ((await (await fetch(`${vendor.url}/__control/stats`)).json()) as { requests: { total: number; byRoute: Record<string, number> } }).requests;

const CREDENTIALS = {
  mews: { clientToken: 'innkeep-connector-test', accessToken: TOKEN },
  opera: { clientId: 'innkeep-connector-test', clientSecret: TOKEN },
} as const;
const WRONG = {
  mews: { clientToken: 'innkeep-connector-test', accessToken: 'not-the-access-token' },
  opera: { clientId: 'innkeep-connector-test', clientSecret: 'not-the-client-secret' },
} as const;
type Style = keyof typeof CREDENTIALS;

const account = (style: Style, propertyCode = `P-${randomUUID().slice(0, 8)}`, credentials: Record<string, string> = CREDENTIALS[style]): VendorAccount => ({
  connectionId: randomUUID(),
  propertyCode,
  credentials,
});
const day = (offset: number) => new Date(Date.UTC(2031, 0, 10) + offset * 86_400_000).toISOString().slice(0, 10);
const stay = (reference: string, nights: [number, number] = [0, 2], status: 'CONFIRMED' | 'PENDING' = 'CONFIRMED') => ({ reference, status, checkIn: day(nights[0]), checkOut: day(nights[1]), guestName: 'Ada Lovelace' });

beforeAll(async () => {
  vendor = await startVendor({ port: 0, apiToken: TOKEN, controlEnabled: true, tokenTtlSeconds: 2, logger: createLogger('pms-vendor', 'silent') });
  registry = new ConnectorRegistry(
    [
      { name: 'mews', style: 'mews', baseUrl: vendor.url },
      { name: 'opera', style: 'opera', baseUrl: vendor.url },
    ],
    { timeoutMs: 400 },
  );
});

afterAll(async () => {
  await vendor.stop();
  await db.close();
});

beforeEach(async () => {
  await control('reset');
});

describe.each(['mews', 'opera'] as const)('the %s adapter against the fake vendor', (style) => {
  const connector = () => registry.get(style)!;

  it('pushes a reservation idempotently (same vendor ID and change stamp on a repeat) and cancels it', async () => {
    const acct = account(style);
    const first = await connector().pushReservation(acct, stay('R-1'));
    expect(first).toMatchObject({ reference: 'R-1', status: 'CONFIRMED', checkIn: day(0), checkOut: day(2), externalId: expect.any(String) });
    const again = await connector().pushReservation(acct, stay('R-1'));
    expect(again).toEqual(first);

    const cancelled = await connector().cancelReservation(acct, first.externalId);
    expect(cancelled).toMatchObject({ externalId: first.externalId, status: 'CANCELLED' });
    expect(Date.parse(cancelled.updatedAt)).toBeGreaterThan(Date.parse(first.updatedAt));
    // Cancelling twice is not an error; an unknown reservation is the vendor refusing (4xx), not an outage.
    await expect(connector().cancelReservation(acct, first.externalId)).resolves.toMatchObject({ status: 'CANCELLED' });
    const unknown = await connector().cancelReservation(acct, 'FPMS-nope-1').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(VendorRejectedError);
    expect((unknown as VendorRejectedError).status).toBe(404);
  });

  it("speaks the vendor's wire style", async () => {
    await connector().pushReservation(account(style), stay('R-W'));
    const routes = Object.keys((await stats()).byRoute);
    expect(routes).toEqual(style === 'mews' ? ['POST /api/connector/v1/reservations/add'] : ['POST /oauth/v1/tokens', 'POST /rsv/v1/hotels/:hotelCode/reservations']);
  });

  it('pulls changes since a cursor, page by page, oldest first', async () => {
    const acct = account(style);
    for (const ref of ['A', 'B', 'C']) await connector().pushReservation(acct, stay(ref));
    const first = await connector().pullReservations(acct, null, 2);
    expect(first.reservations.map((r) => r.reference)).toEqual(['A', 'B']);
    expect(first.hasMore).toBe(true);
    const second = await connector().pullReservations(acct, first.cursor, 2);
    expect(second.reservations.map((r) => r.reference)).toEqual(['C']);
    // Nothing changed since: an empty page that keeps the cursor.
    const third = await connector().pullReservations(acct, second.cursor, 2);
    expect(third).toEqual({ reservations: [], cursor: second.cursor, hasMore: false });
    // Another property's reservations are not in this one's feed.
    expect((await connector().pullReservations(account(style), null, 10)).reservations).toEqual([]);
  });

  it('pulls availability per night: rooms minus the reservations holding the night', async () => {
    const acct = account(style);
    await connector().pushReservation(acct, stay('AV-1', [1, 3]));
    await connector().pushReservation(acct, stay('AV-2', [2, 3]));
    const nights = await connector().pullAvailability(acct, day(0), day(4));
    expect(nights).toEqual([
      { date: day(0), roomType: 'STANDARD', available: 20 },
      { date: day(1), roomType: 'STANDARD', available: 19 },
      { date: day(2), roomType: 'STANDARD', available: 18 },
      { date: day(3), roomType: 'STANDARD', available: 20 },
    ]);
  });

  it('maps vendor answers to our errors: bad credentials, 5xx, timeout, 4xx', async () => {
    const refused = await connector().pushReservation(account(style, 'P-AUTH', WRONG[style]), stay('E-1')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(VendorAuthError);
    expect(isVendorVerdict(refused)).toBe(true); // never trips the breaker
    expect((refused as Error).message).not.toContain(Object.values(WRONG[style])[1]); // never echoes the secret

    const invalid = await connector().pushReservation(account(style), { ...stay('E-2'), checkOut: day(-1) }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(VendorRejectedError);
    expect((invalid as VendorRejectedError).status).toBe(400);

    const acct = account(style);
    await connector().pullReservations(acct, null, 1); // Opera: token fetched while the vendor is healthy
    await control('faults', { mode: 'fail', status: 503 });
    const failing = await connector().pullReservations(acct, null, 10).catch((e: unknown) => e);
    expect(failing).toBeInstanceOf(VendorUnavailableError);
    expect((failing as Error).message).toBe('PMS vendor answered 503');

    await control('faults', { mode: 'hang' });
    const started = Date.now();
    const hung = await connector().pullAvailability(acct, day(0), day(1)).catch((e: unknown) => e);
    expect(hung).toBeInstanceOf(VendorUnavailableError);
    expect((hung as Error).message).toBe('PMS vendor timed out after 400 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Opera OAuth2 client credentials', () => {
  const opera = () => registry.get('opera')!;
  const tokenRequests = async () => (await stats()).byRoute['POST /oauth/v1/tokens'] ?? 0;

  it('caches the token, renews it before it expires, and fetches a new one when a call answers 401', async () => {
    const acct = account('opera');
    await opera().pullReservations(acct, null, 10);
    await opera().pullReservations(acct, null, 10);
    expect(await tokenRequests()).toBe(1); // cached

    // The vendor's tokens live 2 s; the adapter renews at half-life for short-lived tokens.
    await new Promise((r) => setTimeout(r, 1100));
    await opera().pullReservations(acct, null, 10);
    expect(await tokenRequests()).toBe(2);

    // Revoked at the vendor: the call answers 401, the adapter fetches a token and repeats the call once.
    await control('revoke-tokens');
    await expect(opera().pushReservation(acct, stay('T-1'))).resolves.toMatchObject({ reference: 'T-1' });
    expect(await tokenRequests()).toBe(3);
    // The refused attempt was answered 401 before the vendor counted it: one counted call, the repeat.
    expect((await stats()).byRoute['POST /rsv/v1/hotels/:hotelCode/reservations']).toBe(1);
  });

  it('one connection’s token is never used for another (cached per connection and credentials)', async () => {
    await opera().pullReservations(account('opera'), null, 1);
    await opera().pullReservations(account('opera'), null, 1);
    expect(await tokenRequests()).toBe(2);
  });
});

describe('credentials at rest', () => {
  const cipher = new CredentialsCipher('a-test-credentials-key-of-at-least-32-chars');
  const hotelId = randomUUID();

  it('seals with AES-256-GCM: round trip, never plaintext, bound to its hotel, refused after tampering', () => {
    const sealed = cipher.seal(CREDENTIALS.opera, hotelId);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(TOKEN);
    expect(sealed).not.toContain(Buffer.from(TOKEN).toString('base64url'));
    expect(cipher.open(sealed, hotelId)).toEqual(CREDENTIALS.opera);
    // A fresh IV each time: equal credentials never give equal ciphertexts.
    expect(cipher.seal(CREDENTIALS.opera, hotelId)).not.toBe(sealed);
    // Copied onto another hotel's row, it does not open.
    expect(() => cipher.open(sealed, randomUUID())).toThrow(CredentialsDecryptionError);
    const parts = sealed.split('.');
    parts[4] = Buffer.from(Buffer.from(parts[4]!, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url');
    expect(() => cipher.open(parts.join('.'), hotelId)).toThrow(CredentialsDecryptionError);
    expect(() => new CredentialsCipher('another-key-another-key-another-key').open(sealed, hotelId)).toThrow(/does not have/);
    expect(credentialsHint(CREDENTIALS.opera)).toBe(`…${TOKEN.slice(-4)}`);
  });

  it('after a key rotation the previous key still opens old rows, which ask to be re-sealed', () => {
    const old = cipher.seal(CREDENTIALS.mews, hotelId);
    const rotated = new CredentialsCipher('the-new-credentials-key-of-32-chars-or-more', ['a-test-credentials-key-of-at-least-32-chars']);
    expect(rotated.open(old, hotelId)).toEqual(CREDENTIALS.mews);
    expect(rotated.needsReseal(old)).toBe(true);
    expect(rotated.needsReseal(rotated.seal(CREDENTIALS.mews, hotelId))).toBe(false);
  });

  it('the database refuses anything but a sealed value in the credentials column', async () => {
    const id = randomUUID();
    await expect(
      sql(`INSERT INTO pms.connections (id, hotel_id, vendor, property_code, updated_at, credentials_ciphertext) VALUES ($1, $1, 'mews', 'X', now(), $2)`, [id, JSON.stringify(CREDENTIALS.mews)]),
    ).rejects.toThrow(/connections_credentials_sealed_check/);
    await sql(`INSERT INTO pms.connections (id, hotel_id, vendor, property_code, updated_at, credentials_ciphertext) VALUES ($1, $1, 'mews', 'X', now(), $2)`, [id, cipher.seal(CREDENTIALS.mews, id)]);
    await sql(`DELETE FROM pms.connections WHERE id = $1`, [id]);
  });
});

describe('connector configuration', () => {
  const parse = (env: Record<string, string>) => z.object(connectorConfigShape).parse(env);

  it('serves mews and opera by default, on the fake vendor unless each has its own URL; aliases take PMS_VENDOR_URL', () => {
    expect(adapterSpecs(parse({}))).toEqual([
      { name: 'mews', style: 'mews', baseUrl: 'http://127.0.0.1:4010' },
      { name: 'opera', style: 'opera', baseUrl: 'http://127.0.0.1:4010' },
    ]);
    // docker-compose passes unset variables as empty strings: they mean "default".
    const custom = parse({ PMS_ADAPTERS: 'opera, staging=mews', PMS_OPERA_URL: 'https://ohip.example', PMS_VENDOR_URL: 'http://fake:4010', PMS_MEWS_URL: '', PMS_CREDENTIALS_KEY: '' });
    expect(adapterSpecs(custom)).toEqual([
      { name: 'opera', style: 'opera', baseUrl: 'https://ohip.example' },
      { name: 'staging', style: 'mews', baseUrl: 'http://fake:4010' },
    ]);
    expect(custom.PMS_CREDENTIALS_KEY).toBe(DEVELOPMENT_PMS_CREDENTIALS_KEY);
    for (const bad of ['fakepms', 'mews,mews', 'x=sabre', ' , ']) expect(() => parse({ PMS_ADAPTERS: bad })).toThrow();
    expect(() => parse({ PMS_CREDENTIALS_KEY: 'too-short' })).toThrow(/at least 32/);
  });

  it('production refuses the development credentials key', () => {
    expect(() => refuseDevelopmentCredentialsKey({ production: true, PMS_CREDENTIALS_KEY: DEVELOPMENT_PMS_CREDENTIALS_KEY })).toThrow(/PMS_CREDENTIALS_KEY is the development default/);
    expect(refuseDevelopmentCredentialsKey({ production: true, PMS_CREDENTIALS_KEY: 'a-real-random-secret-of-32-characters-or-more' }).production).toBe(true);
    expect(refuseDevelopmentCredentialsKey({ production: false, PMS_CREDENTIALS_KEY: DEVELOPMENT_PMS_CREDENTIALS_KEY }).production).toBe(false);
  });
});

describe('the pull (real database): resumable from the persisted cursor, idempotent, conflicts recorded', () => {
  const policy = definePolicy({ name: 'pms:test-pull', logger, isFailure: (e) => !isVendorVerdict(e) });
  let connection: PmsConnection;
  let acct: VendorAccount;
  let mews: PmsConnector;
  const bookingIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];

  beforeEach(async () => {
    mews = registry.get('mews')!;
    const hotelId = randomUUID();
    connection = await db.prisma.pmsConnection.create({ data: { hotelId, vendor: 'mews', propertyCode: `PULL-${hotelId.slice(0, 8)}` } });
    acct = { connectionId: connection.id, propertyCode: connection.propertyCode, credentials: CREDENTIALS.mews };
    // Five bookings of ours the vendor holds, each changed there since we last looked (no stamp recorded
    // yet), in agreement with Innkeep (CONFIRMED).
    for (const [i, bookingId] of bookingIds.entries()) {
      const pushed = await mews.pushReservation(acct, stay(`REF-${i}`));
      const row = { hotelId, externalId: pushed.externalId, syncStatus: 'SYNCED' as const, pushedStatus: 'CONFIRMED', vendorStatus: null, vendorUpdatedAt: null, conflictAt: null };
      await db.prisma.pmsReservation.upsert({ where: { bookingId }, create: { bookingId, ...row }, update: row });
    }
  });

  const pull = (innkeep: Record<string, string> = {}, pageSize = 2) =>
    db.prisma.pmsConnection
      .findUniqueOrThrow({ where: { id: connection.id } })
      .then((fresh) => pullVendorChanges({ prisma: db.prisma, connection: fresh, connector: mews, account: acct, policy, innkeepStatus: new Map(Object.entries(innkeep)), log: logger, pageSize }));
  const savedCursor = async () => (await db.prisma.pmsConnection.findUniqueOrThrow({ where: { id: connection.id } })).pullCursor;

  it('saves the cursor, a re-run pulls nothing again, and the echoes of our own pushes are skipped', async () => {
    const first = await pull();
    expect(first).toEqual({ pulled: 5, conflicts: 0, conflictBookingIds: [] });
    const cursor = await savedCursor();
    expect(cursor).toEqual(expect.any(String));
    expect(await pull()).toEqual({ pulled: 0, conflicts: 0, conflictBookingIds: [] });
    expect(await savedCursor()).toBe(cursor);

    // Our own push, recorded the way sync.ts records it: the vendor reports it as a change; it is not one.
    const pushed = await mews.pushReservation(acct, { ...stay('REF-0'), guestName: 'Ada King' });
    await db.prisma.pmsReservation.update({ where: { bookingId: bookingIds[0] }, data: { vendorUpdatedAt: new Date(pushed.updatedAt) } });
    expect(await pull()).toEqual({ pulled: 0, conflicts: 0, conflictBookingIds: [] });
    expect(await savedCursor()).not.toBe(cursor); // …but the cursor moves past it
  });

  it('resumes from the persisted cursor after the vendor failed mid-pull, seeing every change exactly once', async () => {
    // Every second vendor request fails: page 1 (2 reservations) is taken, page 2 fails.
    await control('faults', { mode: 'fail', status: 503, failRate: 0.5 });
    await expect(pull()).rejects.toThrow(/503/);
    const afterFailure = await savedCursor();
    expect(afterFailure).toEqual(expect.any(String)); // page 1's cursor was saved before the failure
    await control('faults', { mode: 'ok' });
    const resumed = await pull();
    expect(resumed.pulled).toBe(3); // the three not yet seen, not all five
    expect(await pull()).toMatchObject({ pulled: 0 });
  });

  it('a vendor-side status change Innkeep disagrees with is a conflict: recorded once, Innkeep wins', async () => {
    await pull();
    const [cancelledAtVendor] = (await db.prisma.pmsReservation.findMany({ where: { bookingId: bookingIds[1] } }))!;
    await mews.cancelReservation(acct, cancelledAtVendor!.externalId!);
    // Another vendor change that agrees with Innkeep (it is cancelled in Innkeep too): no conflict.
    const agreed = (await db.prisma.pmsReservation.findUniqueOrThrow({ where: { bookingId: bookingIds[2] } })).externalId!;
    await mews.cancelReservation(acct, agreed);

    const outcome = await pull({ [bookingIds[1]!]: 'CONFIRMED', [bookingIds[2]!]: 'CANCELLED' });
    expect(outcome).toEqual({ pulled: 2, conflicts: 1, conflictBookingIds: [bookingIds[1]] });
    const row = await db.prisma.pmsReservation.findUniqueOrThrow({ where: { bookingId: bookingIds[1] } });
    expect(row).toMatchObject({ vendorStatus: 'CANCELLED', conflictVendorStatus: 'CANCELLED', conflictInnkeepStatus: 'CONFIRMED', conflictAt: expect.any(Date) });
    expect(await db.prisma.pmsReservation.findUniqueOrThrow({ where: { bookingId: bookingIds[2] } })).toMatchObject({ vendorStatus: 'CANCELLED', conflictAt: null });
    // Idempotent: the same changes are not counted again.
    expect(await pull({ [bookingIds[1]!]: 'CONFIRMED' })).toMatchObject({ pulled: 0, conflicts: 0 });
  });

  it('reservations Innkeep never pushed are counted as pulled and otherwise left alone', async () => {
    await pull();
    await mews.pushReservation(acct, stay('MADE-AT-THE-VENDOR'));
    expect(await pull()).toEqual({ pulled: 1, conflicts: 0, conflictBookingIds: [] });
  });
});
