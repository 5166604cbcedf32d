import { beforeAll, describe, expect, it } from '@jest/globals';
import { gql, ids, inDays, type DemoUser } from '../e2e/support.js';
import { seedId } from '../../scripts/lib/seed.js';

/**
 * The rule tables, driven through the real gateway with real logins (JWTs) and real API keys: the
 * gateway's mapping from credentials to the principal the subgraphs judge. (The full role × field matrix
 * against every subgraph is tests/security/authorization.test.ts.)
 */
const GH = ids.grandHarbor;
const AL = ids.alpineLodge;
const ghBooking = seedId('booking:grand-harbor:1'); // seeded, guest: Ana Sousa
const ghGuestBooking = seedId('booking:grand-harbor:0'); // seeded, guest: guest@innkeep.test

const READ_BOOKING = `query($id: ID!) { booking(id: $id) { reference hotel { slug } guest { name email phone } } }`;
const HOTEL_BOOKINGS = `query($id: ID!) { hotel(id: $id) { bookings(first: 50) { totalCount nodes { id hotel { id } } } } }`;
const AUDIT = `query($h: ID) { auditEvents(filter: { hotelId: $h }, first: 50) { totalCount nodes { hotelId } } }`;
const PMS = `query($id: ID!) { hotel(id: $id) { pmsConnection { vendor } } }`;
const CHECK_IN = `mutation($id: ID!) { checkIn(id: $id) { status } }`;

const codeOf = (r: { errors: Array<{ extensions: { code: string } }> }) => r.errors[0]?.extensions.code;

describe('through the gateway: who sees what', () => {
  it.each<[DemoUser, string, boolean]>([
    ['frontdesk@grand-harbor.test', 'own hotel', true],
    ['manager@grand-harbor.test', 'own hotel', true],
    ['admin@innkeep.test', 'every hotel', true],
    ['manager@alpine-lodge.test', 'foreign hotel', false],
    ['auditor@grand-harbor.test', 'no booking access', false],
  ])('%s (%s) reading a grand-harbor booking', async (user, _label, visible) => {
    const { data, errors } = await gql<any>(READ_BOOKING, { id: ghBooking }, { as: user });
    if (visible) {
      expect(errors).toEqual([]);
      expect(data.booking.hotel.slug).toBe('grand-harbor');
      expect(data.booking.guest.email).toBe('ana.sousa@example.test');
    } else {
      // Never the data; a foreign tenant's booking looks exactly like a missing one.
      expect(data?.booking ?? null).toBeNull();
      const missing = await gql<any>(READ_BOOKING, { id: '11111111-2222-4333-8444-555555555555' }, { as: user });
      expect(codeOf({ errors })).toBe(codeOf(missing));
    }
  });

  it('a guest sees only their own bookings, with their own contact details', async () => {
    const own = await gql<any>(READ_BOOKING, { id: ghGuestBooking }, { as: 'guest@innkeep.test' });
    expect(own.errors).toEqual([]);
    expect(own.data.booking.guest.email).toBe('guest@innkeep.test');
    const other = await gql<any>(READ_BOOKING, { id: ghBooking }, { as: 'guest@innkeep.test' });
    expect(other.data?.booking ?? null).toBeNull();
    const list = await gql<any>(HOTEL_BOOKINGS, { id: GH }, { as: 'guest@innkeep.test' });
    expect(list.data.hotel.bookings.nodes.length).toBeGreaterThan(0);
    const theirs = await gql<any>(`query($id: ID!) { hotel(id: $id) { bookings(first: 50) { nodes { guest { email } } } } }`, { id: GH }, { as: 'guest@innkeep.test' });
    expect(theirs.data.hotel.bookings.nodes.every((n: any) => n.guest.email === 'guest@innkeep.test')).toBe(true);
  });

  it('lists never contain another tenant’s objects', async () => {
    const foreign = await gql<any>(HOTEL_BOOKINGS, { id: GH }, { as: 'manager@alpine-lodge.test' });
    expect(foreign.data?.hotel?.bookings?.nodes ?? []).toEqual([]);
    const own = await gql<any>(HOTEL_BOOKINGS, { id: AL }, { as: 'manager@alpine-lodge.test' });
    expect(own.data.hotel.bookings.nodes.every((n: any) => n.hotel.id === AL)).toBe(true);

    const audit = await gql<any>(AUDIT, { h: null }, { as: 'auditor@grand-harbor.test' });
    expect(audit.errors).toEqual([]);
    expect(audit.data.auditEvents.nodes.every((e: any) => e.hotelId === GH)).toBe(true);
    const auditForeign = await gql<any>(AUDIT, { h: AL }, { as: 'auditor@grand-harbor.test' });
    expect(auditForeign.data?.auditEvents?.nodes ?? []).toEqual([]);
  });

  it('PMS settings are for managers of the hotel; front desk gets FORBIDDEN with the rest served', async () => {
    expect((await gql<any>(PMS, { id: GH }, { as: 'manager@grand-harbor.test' })).data.hotel.pmsConnection.vendor).toBe('mews');
    const frontDesk = await gql<any>(`query($id: ID!) { hotel(id: $id) { name pmsConnection { vendor } } }`, { id: GH }, { as: 'frontdesk@grand-harbor.test' });
    expect(frontDesk.data.hotel.name).toBe('Grand Harbor Hotel');
    expect(frontDesk.data.hotel.pmsConnection).toBeNull();
    expect(codeOf(frontDesk)).toBe('FORBIDDEN');
  });

  it('mutations on a foreign hotel’s booking answer NOT_FOUND and change nothing', async () => {
    const foreign = await gql<any>(CHECK_IN, { id: seedId('booking:grand-harbor:2') }, { as: 'manager@alpine-lodge.test' });
    expect(codeOf(foreign)).toBe('NOT_FOUND');
    const still = await gql<any>(`query($id: ID!) { booking(id: $id) { status } }`, { id: seedId('booking:grand-harbor:2') }, { as: 'admin@innkeep.test' });
    expect(still.data.booking.status).toBe('CONFIRMED');
  });

  it('anonymous callers get public hotel data, and UNAUTHENTICATED for the rest', async () => {
    const open = await gql<any>(`{ hotels { slug roomTypes { name baseRate { amount } } } }`, {}, { as: null });
    expect(open.errors).toEqual([]);
    const closed = await gql<any>(READ_BOOKING, { id: ghBooking }, { as: null });
    expect(closed.status).toBe(401);
    expect(codeOf(closed)).toBe('UNAUTHENTICATED');
  });
});

describe('through the gateway: API keys', () => {
  let readKey: string;
  let keyId: string;

  beforeAll(async () => {
    const created = await gql<any>(
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id prefix scopes hotelIds usageCount } } }`,
      { input: { name: 'channel manager (matrix)', scopes: ['bookings:read'], hotelIds: [GH] } },
      { as: 'manager@grand-harbor.test' },
    );
    expect(created.errors).toEqual([]);
    readKey = created.data.createApiKey.secret;
    keyId = created.data.createApiKey.apiKey.id;
  });

  it('reads within its scope and hotels, is refused outside them', async () => {
    const asKey = { as: null, headers: { 'x-api-key': readKey } } as const;
    expect((await gql<any>(HOTEL_BOOKINGS, { id: GH }, asKey)).data.hotel.bookings.totalCount).toBeGreaterThan(0);
    expect((await gql<any>(HOTEL_BOOKINGS, { id: AL }, asKey)).data?.hotel?.bookings?.nodes ?? []).toEqual([]);
    const write = await gql<any>(CHECK_IN, { id: seedId('booking:grand-harbor:2') }, asKey);
    expect(codeOf(write)).toBe('FORBIDDEN');
    const create = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
      input: { hotelId: GH, roomId: ids.room('grand-harbor', '104'), checkIn: inDays(800), checkOut: inDays(801), guest: { name: 'Key Guest', email: 'key@example.test' } },
    }, asKey);
    expect(codeOf(create)).toBe('FORBIDDEN');
  });

  it('a manager cannot create a key for another hotel', async () => {
    const refused = await gql<any>(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
      input: { name: 'sneaky', scopes: ['bookings:read'], hotelIds: [AL] },
    }, { as: 'manager@grand-harbor.test' });
    expect(['FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT']).toContain(codeOf(refused));
    expect(refused.data?.createApiKey ?? null).toBeNull();
  });

  it('revoked, the key answers 401', async () => {
    const revoked = await gql<any>(`mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`, { id: keyId }, { as: 'manager@grand-harbor.test' });
    expect(revoked.data.revokeApiKey.revokedAt).toEqual(expect.any(String));
    const refused = await gql<any>(`{ hotels { slug } }`, {}, { as: null, headers: { 'x-api-key': readKey } });
    expect(refused.status).toBe(401);
    expect(codeOf(refused)).toBe('UNAUTHENTICATED');
  });
});
