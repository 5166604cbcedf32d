/**
 * The audited actions beyond sign-in and bookings (issue "Integrity", docs/security.md "What is audited"):
 * authorization denials, staff reads of guest PII, catalog and room-status changes, rate-limit reloads
 * and PLATFORM_ADMIN mutations — each with its actor, the request's correlation ID and details without
 * PII or argument values, delivered through the producers' outboxes to the audit trail.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { seedId } from '../../scripts/lib/seed.js';
import { extraPort } from '../setup/state.js';
import { metric, metricsOf, sleep, startProcess, type Proc } from '../chaos/support.js';
import { auditEventOf, auditEventsOf, env, eventually, gql, ids, inDays, sql, type AuditRow, type DemoUser } from './support.js';

const cid = (label: string) => `audit-act-${label}-${randomUUID()}`;
const call = (query: string, variables: Record<string, unknown>, as: DemoUser | null, correlationId: string) =>
  gql<any>(query, variables, { as, headers: { 'x-correlation-id': correlationId } });
const user = (email: DemoUser) => `user:${seedId(`user:${email}`)}`;
const ADMIN: DemoUser = 'admin@innkeep.test';
const FRONT_DESK: DemoUser = 'frontdesk@grand-harbor.test';

/** A hotel of this file's own (the seeded rooms other tests rely on are never changed here). */
async function createOwnHotel() {
  const slug = `audit-actions-${randomUUID().slice(0, 8)}`;
  const hotelCid = cid('hotel');
  const hotel = await call(
    `mutation($input: CreateHotelInput!) { createHotel(input: $input) { id } }`,
    { input: { name: 'Audit Actions Inn', slug, timezone: 'Europe/Lisbon', currency: 'EUR', address: { line1: 'Rua 1', city: 'Lisboa', postalCode: '1000-001', country: 'PT' } } },
    ADMIN,
    hotelCid,
  );
  expect(hotel.errors).toEqual([]);
  const hotelId: string = hotel.data.createHotel.id;
  const typeCid = cid('room-type');
  const type = await call(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id } }`, { input: { hotelId, name: 'Double', capacity: 2, baseRateMinor: 10000 } }, ADMIN, typeCid);
  expect(type.errors).toEqual([]);
  const roomTypeId: string = type.data.createRoomType.id;
  const roomCid = cid('room');
  const room = await call(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, { input: { hotelId, roomTypeId, number: '11', floor: 1 } }, ADMIN, roomCid);
  expect(room.errors).toEqual([]);
  return { slug, hotelId, roomTypeId, roomId: room.data.createRoom.id as string, cids: { hotelCid, typeCid, roomCid } };
}

let own: Awaited<ReturnType<typeof createOwnHotel>>;
beforeAll(async () => {
  own = await createOwnHotel();
}, 60_000);

describe('catalog and room-status changes are audited in the transaction of the change', () => {
  it('hotel, room type and room creation: the admin, the correlation ID, the new object', async () => {
    expect(await auditEventOf(own.cids.hotelCid, 'hotel.created')).toMatchObject({
      actor: user(ADMIN),
      resource_type: 'Hotel',
      resource_id: own.hotelId,
      hotel_id: own.hotelId,
      details: { slug: own.slug, currency: 'EUR', country: 'PT' },
    });
    expect(await auditEventOf(own.cids.typeCid, 'room_type.created')).toMatchObject({ actor: user(ADMIN), resource_id: own.roomTypeId, hotel_id: own.hotelId, details: { capacity: 2, baseRateMinor: 10000 } });
    expect(await auditEventOf(own.cids.roomCid, 'room.created')).toMatchObject({ actor: user(ADMIN), resource_id: own.roomId, hotel_id: own.hotelId, details: { number: '11', status: 'CLEAN' } });
    // Each specific event names the admin: no extra admin.mutation for these.
    expect(await auditEventsOf(own.cids.hotelCid, 'admin.mutation')).toEqual([]);
  });

  it('a room status change records from / to; a write of the same status records nothing', async () => {
    const setStatus = `mutation($id: ID!, $s: RoomStatus!) { setRoomStatus(roomId: $id, status: $s) { status } }`;
    const changed = cid('status');
    expect((await call(setStatus, { id: own.roomId, s: 'DIRTY' }, ADMIN, changed)).errors).toEqual([]);
    expect(await auditEventOf(changed, 'room.status_changed')).toMatchObject({
      actor: user(ADMIN),
      correlation_id: changed,
      resource_type: 'Room',
      resource_id: own.roomId,
      hotel_id: own.hotelId,
      details: { from: 'CLEAN', to: 'DIRTY', number: '11' },
    });
    // The same event through the API, as an auditor reads it.
    const listed = await call(`query($f: AuditEventFilter) { auditEvents(filter: $f) { nodes { actor correlationId details } } }`, { f: { hotelId: own.hotelId, action: 'room.status_changed' } }, ADMIN, cid('read'));
    expect(listed.data.auditEvents.nodes).toEqual(expect.arrayContaining([expect.objectContaining({ actor: user(ADMIN), correlationId: changed, details: expect.objectContaining({ from: 'CLEAN', to: 'DIRTY' }) })]));

    const same = cid('status-same');
    expect((await call(setStatus, { id: own.roomId, s: 'DIRTY' }, ADMIN, same)).errors).toEqual([]);
    // setRoomStatus has no specific event when nothing changed, so the admin's call is still on record.
    expect(await auditEventOf(same, 'admin.mutation')).toMatchObject({ details: { rootFields: ['setRoomStatus'], outcome: 'ok' } });
    expect(await auditEventsOf(same, 'room.status_changed')).toEqual([]);
  });

  it('a rate change records the old and new rate', async () => {
    const correlationId = cid('rate');
    const updated = await call(`mutation($id: ID!) { updateRoomType(id: $id, input: { baseRateMinor: 12500 }) { id } }`, { id: own.roomTypeId }, ADMIN, correlationId);
    expect(updated.errors).toEqual([]);
    expect(await auditEventOf(correlationId, 'rate.changed')).toMatchObject({ actor: user(ADMIN), resource_id: own.roomTypeId, hotel_id: own.hotelId, details: { fromMinor: 10000, toMinor: 12500, changed: ['baseRateMinor'] } });
  });

  it('a write that fails records no change event, but the admin’s failed mutation is on record', async () => {
    const correlationId = cid('dup-room');
    const duplicate = await call(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, { input: { hotelId: own.hotelId, roomTypeId: own.roomTypeId, number: '11', floor: 1 } }, ADMIN, correlationId);
    expect(duplicate.errors[0]!.extensions.code).toBe('CONFLICT');
    expect(await auditEventOf(correlationId, 'admin.mutation')).toMatchObject({
      actor: user(ADMIN),
      hotel_id: null,
      details: { service: 'hotel', rootFields: ['createRoom'], outcome: 'error', errorCodes: ['CONFLICT'] },
    });
    expect(await auditEventsOf(correlationId, 'room.created')).toEqual([]);
  });
});

describe('staff reads of guest PII are audited once per request and hotel, without the data', () => {
  it('a page of bookings read with guest email and phone: one event, the IDs, never the values', async () => {
    const emails = [`pii-a-${randomUUID().slice(0, 8)}@example.test`, `pii-b-${randomUUID().slice(0, 8)}@example.test`];
    const phone = '+351 912 345 678';
    const bookingIds: string[] = [];
    for (const [i, email] of emails.entries()) {
      const created = await call(
        `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`,
        { input: { hotelId: own.hotelId, roomId: own.roomId, checkIn: inDays(420 + i * 3), checkOut: inDays(421 + i * 3), guests: 1, guest: { name: 'Pia Private', email, phone } } },
        ADMIN,
        cid('pii-book'),
      );
      expect(created.errors).toEqual([]);
      bookingIds.push(created.data.createBooking.id);
    }
    const correlationId = cid('pii-read');
    const read = await call(`query($id: ID!) { hotel(id: $id) { bookings(first: 10) { nodes { id guest { name email phone } } } } }`, { id: own.hotelId }, ADMIN, correlationId);
    expect(read.errors).toEqual([]);
    expect(read.data.hotel.bookings.nodes.map((n: any) => n.guest.email).sort()).toEqual([...emails].sort());

    const event = await auditEventOf(correlationId, 'guest.pii_read');
    expect(event).toMatchObject({ actor: user(ADMIN), resource_type: 'Hotel', resource_id: own.hotelId, hotel_id: own.hotelId, details: { fields: ['email', 'phone'], guestCount: 2, principalKind: 'user', roles: ['PLATFORM_ADMIN'] } });
    expect([...event.details.bookingIds].sort()).toEqual([...bookingIds].sort());
    const text = JSON.stringify(event);
    for (const email of emails) expect(text).not.toContain(email);
    expect(text).not.toContain(phone);
    await sleep(500);
    expect(await auditEventsOf(correlationId, 'guest.pii_read')).toHaveLength(1);
  });

  it('front desk reading guests of their hotel is audited; the same query without email / phone is not', async () => {
    const query = (fields: string) => `query($id: ID!) { hotel(id: $id) { bookings(first: 5) { nodes { id guest { ${fields} } } } } }`;
    const withPii = cid('pii-fd');
    const read = await call(query('name email'), { id: ids.grandHarbor }, FRONT_DESK, withPii);
    expect(read.errors).toEqual([]);
    const nodes = read.data.hotel.bookings.nodes as Array<{ id: string; guest: { email: string } }>;
    expect(nodes.length).toBeGreaterThan(0);
    const event = await auditEventOf(withPii, 'guest.pii_read');
    expect(event).toMatchObject({ actor: user(FRONT_DESK), hotel_id: ids.grandHarbor, details: { fields: ['email'], guestCount: expect.any(Number), roles: ['FRONT_DESK'] } });
    expect(event.details.bookingIds).toEqual(expect.arrayContaining(nodes.map((n) => n.id)));
    for (const node of nodes) expect(JSON.stringify(event)).not.toContain(node.guest.email);

    const withoutPii = cid('pii-none');
    expect((await call(query('name'), { id: ids.grandHarbor }, FRONT_DESK, withoutPii)).errors).toEqual([]);
    await sleep(1500);
    expect(await auditEventsOf(withoutPii, 'guest.pii_read')).toEqual([]);
  });
});

describe('authorization denials of authenticated callers are audited, one event per request', () => {
  it('front desk trying a PLATFORM_ADMIN mutation: the operation, field, rule and roles — never the arguments', async () => {
    const correlationId = cid('deny');
    const secretName = `Forbidden Inn ${randomUUID()}`;
    const refused = await call(
      `mutation Sneaky($input: CreateHotelInput!) { createHotel(input: $input) { id } }`,
      { input: { name: secretName, slug: `nope-${randomUUID().slice(0, 8)}`, timezone: 'Europe/Lisbon', currency: 'EUR', address: { line1: 'x', city: 'y', postalCode: '1', country: 'PT' } } },
      FRONT_DESK,
      correlationId,
    );
    expect(refused.errors[0]!.extensions.code).toBe('FORBIDDEN');
    const event = await auditEventOf(correlationId, 'authz.denied');
    expect(event).toMatchObject({
      actor: user(FRONT_DESK),
      resource_type: 'Operation',
      // A user of one hotel: that hotel's chain, so its auditors see it.
      hotel_id: ids.grandHarbor,
      details: { service: 'hotel', operationType: 'mutation', denied: [{ path: 'createHotel', rule: 'isPlatformAdmin' }], deniedCount: 1, principalKind: 'user', roles: ['FRONT_DESK'] },
    });
    expect(event.details.operation).toMatch(/Sneaky/);
    expect(JSON.stringify(event)).not.toContain(secretName);
  });

  it('many refused fields in one request make one event; anonymous refusals are only counted', async () => {
    const correlationId = cid('deny-many');
    const refused = await call(`{ a: booking(id: "${randomUUID()}") { id } b: bookingByReference(reference: "NOPE") { id } }`, {}, 'auditor@grand-harbor.test', correlationId);
    expect(refused.errors.map((e) => e.extensions.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    const event = await auditEventOf(correlationId, 'authz.denied');
    expect(event).toMatchObject({ actor: user('auditor@grand-harbor.test'), details: { service: 'booking', deniedCount: 2, roles: ['AUDITOR'] } });
    expect(event.details.denied).toEqual(expect.arrayContaining([{ path: 'a', rule: 'mayReadBookings' }, { path: 'b', rule: 'mayReadBookings' }]));
    await sleep(500);
    expect(await auditEventsOf(correlationId, 'authz.denied')).toHaveLength(1);

    const hotelBase = env('INNKEEP_HOTEL_URL').replace(/\/graphql$/, '');
    const before = metric(await metricsOf(hotelBase), 'innkeep_authz_denials_total', { code: 'UNAUTHENTICATED', principal_kind: 'anonymous' }) ?? 0;
    const anonymous = cid('deny-anon');
    const anon = await call(`query($id: ID!) { room(id: $id) { status } }`, { id: own.roomId }, null, anonymous);
    expect(anon.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    await eventually(async () => (metric(await metricsOf(hotelBase), 'innkeep_authz_denials_total', { code: 'UNAUTHENTICATED', principal_kind: 'anonymous' }) ?? 0) > before);
    await sleep(1500);
    expect(await auditEventsOf(anonymous, 'authz.denied')).toEqual([]);
  });

  it("the gateway's own identity rules: front desk listing API keys", async () => {
    const correlationId = cid('deny-keys');
    const refused = await call(`{ apiKeys { id } }`, {}, FRONT_DESK, correlationId);
    expect(refused.errors[0]!.extensions.code).toBe('FORBIDDEN');
    expect(await auditEventOf(correlationId, 'authz.denied')).toMatchObject({
      actor: user(FRONT_DESK),
      hotel_id: ids.grandHarbor,
      details: { service: 'gateway', denied: [{ path: 'apiKeys', rule: 'apiKeyManager' }], roles: ['FRONT_DESK'] },
    });
  });
});

describe('a SIGHUP reload of the rate limits is audited on the platform chain', () => {
  let dir: string;
  let booking: Proc | undefined;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'innkeep-audit-rl-'));
  });
  afterAll(async () => {
    await booking?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applied: hashes of the old and new file and the changed entries; refused: the outcome and why', async () => {
    const file = path.join(dir, `limits-${randomUUID().slice(0, 8)}.yaml`);
    const v1 = 'fields:\n  Query.availableRooms: { default: { max: 1000, window: 1m } }\n';
    const v2 = 'fields:\n  Query.availableRooms: { default: { max: 2000, window: 1m } }\n';
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    writeFileSync(file, v1);
    booking = await startProcess('booking', extraPort(6), { RATE_LIMITS_FILE: file }, 'audit-actions-booking');
    const reloadOf = (outcome: string) =>
      eventually(
        async () =>
          (await sql<AuditRow>(`SELECT * FROM audit.events WHERE action = 'config.rate_limits_reloaded' AND details->>'file' LIKE $1 AND details->>'outcome' = $2`, [`%${path.basename(file)}`, outcome]))[0],
        15_000,
      );

    writeFileSync(file, v2);
    booking.child.kill('SIGHUP');
    expect(await reloadOf('ok')).toMatchObject({
      actor: 'system:booking',
      resource_type: 'Config',
      hotel_id: null,
      details: { service: 'booking', previousHash: sha(v1), newHash: sha(v2), changedKeys: ['fields.Query.availableRooms'] },
    });

    writeFileSync(file, 'fields:\n  Query.availableRooms: { default: { max: -1, window: soon } }\n');
    booking.child.kill('SIGHUP');
    const refused = await reloadOf('refused');
    expect(refused).toMatchObject({ actor: 'system:booking', hotel_id: null, details: { previousHash: sha(v2), changedKeys: [] } });
    expect(refused.details.reason).toMatch(/availableRooms/);
  }, 90_000);
});
