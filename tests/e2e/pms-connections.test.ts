/**
 * PMS connections through the gateway (issue 6): a hotel manager or the platform admin connects, updates
 * and disables a hotel's PMS connection; the credentials can never be read back (only that they exist and
 * a four-character hint) and are sealed in the database; every change is audited with details that never
 * carry them. syncReservations pulls the vendor's changes since its saved cursor and reports a conflict
 * (Innkeep wins: its status goes back to the vendor). Refused vendor credentials answer a coded error.
 */
import { describe, expect, it } from '@jest/globals';
import { DEMO_PMS_CREDENTIALS, seedId } from '../../scripts/lib/seed.js';
import { createPmsHotel } from '../chaos/support.js';
import { actAs, env, eventually, gql, ids, sql } from './support.js';

actAs('admin@innkeep.test');

const SECRET = 'fake-vendor-token'; // the fake vendor's access token / client secret
const CONNECTION = `vendor propertyCode status lastError credentialsConfigured credentialsHint lastPullAt`;
const CONNECT = `mutation($input: ConnectPmsInput!) { connectPms(input: $input) { ${CONNECTION} } }`;
const UPDATE = `mutation($input: UpdatePmsConnectionInput!) { updatePmsConnection(input: $input) { ${CONNECTION} } }`;
const DISABLE = `mutation($hotelId: ID!) { disablePmsConnection(hotelId: $hotelId) { ${CONNECTION} } }`;
const SYNC = `mutation($hotelId: ID!) { syncReservations(hotelId: $hotelId) { status pushed failed pulled conflicts reason connection { status lastError } } }`;

interface AuditNode { actor: string; action: string; resourceId: string; details: Record<string, unknown> }

/**
 * The hotel's PMS-connection audit events, once `done` holds for them. The outbox relay delivers events a
 * moment after the mutation answers, and one by one, so a test waits for exactly what it asserts: waiting for
 * "one of each action" and then counting raced the relay (CI saw one connection_created of two).
 */
const auditOf = (hotelId: string, done: (events: AuditNode[]) => boolean) =>
  eventually(async () => {
    const { data } = await gql<any>(`query($h: ID!) { auditEvents(filter: { hotelId: $h, resourceType: "PmsConnection" }, first: 100) { nodes { actor action resourceId correlationId details } } }`, { h: hotelId });
    const nodes = (data?.auditEvents.nodes ?? []) as AuditNode[];
    return done(nodes) && nodes;
  }, 20_000);

/** At least this many events of each action. */
const atLeast = (counts: Record<string, number>) => (events: AuditNode[]) =>
  Object.entries(counts).every(([action, n]) => events.filter((e) => e.action === action).length >= n);

const mews = (path: string, body: Record<string, unknown>) =>
  fetch(`${env('INNKEEP_VENDOR_URL')}/api/connector/v1/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ClientToken: 'e2e-client-token', AccessToken: SECRET, ...body }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('PMS connection settings', () => {
  it('connect, update, disable and reconnect: credentials never readable, sealed at rest, every change audited without them', async () => {
    const propertyCode = `PC-${Date.now()}`;
    const { hotelId } = await createPmsHotel({ vendor: 'opera', propertyCode, bookings: 1, connect: false });
    const credentials = { clientId: 'innkeep-e2e', clientSecret: SECRET };

    const connected = await gql<any>(CONNECT, { input: { hotelId, vendor: 'opera', propertyCode, credentials } });
    expect(connected.errors).toEqual([]);
    expect(connected.data.connectPms).toEqual({ vendor: 'opera', propertyCode, status: 'ACTIVE', lastError: null, credentialsConfigured: true, credentialsHint: `…${SECRET.slice(-4)}`, lastPullAt: null });
    const [row] = await sql<{ credentials_ciphertext: string }>(`SELECT credentials_ciphertext FROM pms.connections WHERE hotel_id = $1`, [hotelId]);
    expect(row!.credentials_ciphertext).toMatch(/^v1\./);
    expect(row!.credentials_ciphertext).not.toContain(SECRET);
    expect(row!.credentials_ciphertext).not.toContain('innkeep-e2e');

    // The schema has no field that returns them: asking is a validation error, not data.
    const probe = await gql<any>(`query($h: ID!) { pmsConnection(hotelId: $h) { credentials } }`, { h: hotelId });
    expect(probe.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');

    const twice = await gql<any>(CONNECT, { input: { hotelId, vendor: 'opera', propertyCode, credentials } });
    expect(twice.errors[0]!.extensions.code).toBe('CONFLICT');

    // A new vendor needs new credentials; credentials of the wrong style are refused without echoing them.
    const noCredentials = await gql<any>(UPDATE, { input: { hotelId, vendor: 'mews' } });
    expect(noCredentials.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'credentials' }] });
    const wrongStyle = await gql<any>(UPDATE, { input: { hotelId, credentials: { clientToken: 'a-client-token-1234', accessToken: 'an-access-token-5678' } } });
    expect(wrongStyle.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(wrongStyle.errors)).not.toContain('an-access-token-5678');
    const unknownVendor = await gql<any>(UPDATE, { input: { hotelId, vendor: 'fakepms', credentials } });
    expect(unknownVendor.errors[0]!.extensions.fields).toEqual([expect.objectContaining({ field: 'vendor' })]);

    const updated = await gql<any>(UPDATE, { input: { hotelId, propertyCode: `${propertyCode}-B`, credentials: { clientId: 'innkeep-e2e-2', clientSecret: `${SECRET}-rotated` } } });
    expect(updated.errors).toEqual([]);
    expect(updated.data.updatePmsConnection).toMatchObject({ propertyCode: `${propertyCode}-B`, credentialsConfigured: true, credentialsHint: '…ated' });

    const disabled = await gql<any>(DISABLE, { hotelId });
    expect(disabled.data.disablePmsConnection.status).toBe('DISABLED');
    expect((await gql<any>(SYNC, { hotelId })).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    const reconnected = await gql<any>(CONNECT, { input: { hotelId, vendor: 'mews', propertyCode, credentials: { clientToken: 'e2e-client-token', accessToken: SECRET } } });
    expect(reconnected.data.connectPms).toMatchObject({ vendor: 'mews', status: 'ACTIVE', credentialsConfigured: true });

    const events = await auditOf(hotelId, atLeast({ 'pms.connection_created': 2, 'pms.connection_updated': 1, 'pms.connection_disabled': 1 }));
    const byAction = (action: string) => events.filter((e) => e.action === action);
    expect(byAction('pms.connection_created')).toHaveLength(2);
    expect(byAction('pms.connection_created')[0]).toMatchObject({ actor: `user:${seedId('user:admin@innkeep.test')}`, details: { credentialsChanged: true } });
    expect(byAction('pms.connection_updated')).toEqual([expect.objectContaining({ details: expect.objectContaining({ changed: ['propertyCode', 'credentials'], credentialsChanged: true }) })]);
    expect(byAction('pms.connection_disabled')).toHaveLength(1);
    const trail = JSON.stringify(events);
    for (const secret of [SECRET, `${SECRET}-rotated`, 'innkeep-e2e', 'e2e-client-token']) expect(trail).not.toContain(secret);
  });

  it('only the hotel’s manager and the platform admin may change it; other tenants see NOT_FOUND', async () => {
    const gh = ids.grandHarbor;
    const asFrontDesk = await gql<any>(UPDATE, { input: { hotelId: gh, credentials: DEMO_PMS_CREDENTIALS } }, { as: 'frontdesk@grand-harbor.test' });
    expect(asFrontDesk.errors[0]!.extensions.code).toBe('FORBIDDEN');
    const otherManager = await gql<any>(DISABLE, { hotelId: gh }, { as: 'manager@alpine-lodge.test' });
    expect(otherManager.errors[0]!.extensions.code).toBe('NOT_FOUND');
    const anonymous = await gql<any>(DISABLE, { hotelId: gh }, { as: null });
    expect(anonymous.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');

    // The hotel's own manager may (same credentials again: the shared demo connection keeps working).
    const own = await gql<any>(UPDATE, { input: { hotelId: gh, credentials: DEMO_PMS_CREDENTIALS } }, { as: 'manager@grand-harbor.test' });
    expect(own.errors).toEqual([]);
    expect(own.data.updatePmsConnection).toMatchObject({ vendor: 'mews', credentialsConfigured: true });
    const byManager = (e: AuditNode) => e.action === 'pms.connection_updated' && e.actor === `user:${seedId('user:manager@grand-harbor.test')}`;
    const events = await auditOf(gh, (all) => all.some(byManager));
    expect(JSON.stringify(events.filter(byManager))).not.toContain(DEMO_PMS_CREDENTIALS.accessToken);
  });
});

describe('syncReservations with the vendor adapters', () => {
  it('pulls what changed at the vendor since the saved cursor and reports a conflict; Innkeep wins', async () => {
    const propertyCode = `CF-${Date.now()}`;
    const { hotelId, bookingIds } = await createPmsHotel({ vendor: 'mews', propertyCode, bookings: 2 });
    const first = await gql<any>(SYNC, { hotelId });
    expect(first.data.syncReservations).toMatchObject({ status: 'COMPLETED', pushed: 2, failed: 0, pulled: 0, conflicts: 0 });

    // At the vendor, the hotel's front desk cancels the first booking; Innkeep still has it confirmed.
    const { data } = await gql<any>(`query($b: ID!) { booking(id: $b) { reference status pms { externalId } } }`, { b: bookingIds[0] });
    const cancelled = await mews('reservations/cancel', { EnterpriseId: propertyCode, ReservationIds: [data.booking.pms.externalId] });
    expect(cancelled.body.Reservations[0].State).toBe('Canceled');

    const second = await gql<any>(SYNC, { hotelId });
    expect(second.errors).toEqual([]);
    expect(second.data.syncReservations).toMatchObject({ status: 'COMPLETED', pushed: 2, pulled: 1, conflicts: 1 });
    const after = await gql<any>(`query($b: ID!) { booking(id: $b) { pms { syncStatus conflict { vendorStatus innkeepStatus detectedAt } } } }`, { b: bookingIds[0] });
    expect(after.data.booking.pms.conflict).toEqual({ vendorStatus: 'CANCELLED', innkeepStatus: data.booking.status, detectedAt: expect.any(String) });
    // Innkeep's status went back to the vendor.
    const atVendor = await mews('reservations/getAll', { EnterpriseIds: [propertyCode], Limitation: { Count: 10 } });
    expect(atVendor.body.Reservations.find((r: any) => r.Identifier === data.booking.reference).State).not.toBe('Canceled');

    // Resumed from the saved cursor: the repair push is our own echo, so nothing new and no conflict.
    const third = await gql<any>(SYNC, { hotelId });
    expect(third.data.syncReservations).toMatchObject({ status: 'COMPLETED', pulled: 0, conflicts: 0 });

    // Three syncs, three events; the one asserted on is the second, so wait for all of them.
    const events = await auditOf(hotelId, atLeast({ 'pms.sync_completed': 3 }));
    const completed = events.filter((e) => e.action === 'pms.sync_completed').map((e) => e.details);
    expect(completed).toContainEqual(expect.objectContaining({ vendor: 'mews', via: 'request', pushed: 2, pulled: 1, conflicts: 1, failed: 0 }));
  });

  it('credentials the vendor refuses: SERVICE_UNAVAILABLE (PMS_VENDOR_AUTH_FAILED, not retryable), connection ERROR, not queued, audited', async () => {
    const propertyCode = `BC-${Date.now()}`;
    const { hotelId } = await createPmsHotel({ vendor: 'opera', propertyCode, bookings: 1, credentials: { clientId: 'innkeep-e2e', clientSecret: 'not-the-vendor-secret' } });
    const refused = await gql<any>(SYNC, { hotelId });
    expect(refused.errors[0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'PMS_VENDOR_AUTH_FAILED', retryable: false, vendor: 'opera' });
    expect(refused.errors[0]!.message).not.toContain('not-the-vendor-secret');
    const { data } = await gql<any>(`query($h: ID!) { pmsConnection(hotelId: $h) { status lastError pendingSync { attempts } } }`, { h: hotelId });
    expect(data.pmsConnection).toMatchObject({ status: 'ERROR', lastError: expect.stringContaining('credentials'), pendingSync: null });
    const events = await auditOf(hotelId, atLeast({ 'pms.sync_failed': 1 }));
    expect(events.find((e) => e.action === 'pms.sync_failed')!.details).toMatchObject({ vendor: 'opera', credentialsRefused: true });
  });
});
