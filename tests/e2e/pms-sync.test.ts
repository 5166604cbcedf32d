import { afterEach, describe, expect, it } from '@jest/globals';
import { createPmsHotel } from '../chaos/support.js';
import { actAs, env, eventually, gql, ids, inDays } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

const vendor = (path: string, init?: RequestInit) => fetch(`${env('INNKEEP_VENDOR_URL')}${path}`, init);
const setFaults = (faults: Record<string, unknown>) =>
  vendor('/__control/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });

const SYNC = `mutation($hotelId: ID!) { syncReservations(hotelId: $hotelId) { status pushed failed syncedAt retryAt reason connection { status lastSyncAt lastError } } }`;

describe('PMS sync with the fake vendor', () => {
  afterEach(async () => {
    await setFaults({ mode: 'ok' });
  });

  it('pushes the hotel’s current bookings to the vendor and shows the vendor’s IDs on the bookings', async () => {
    const created = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference } }`, {
      input: { hotelId: ids.alpineLodge, roomId: ids.room('alpine-lodge', '204'), checkIn: inDays(5), checkOut: inDays(6), guest: { name: 'Sync Guest', email: 'sync@example.test' } },
    });
    const { reference, id } = created.data.createBooking;

    const { data, errors } = await gql<any>(SYNC, { hotelId: ids.alpineLodge });
    expect(errors).toEqual([]);
    expect(data.syncReservations.status).toBe('COMPLETED');
    expect(data.syncReservations.pushed).toBeGreaterThanOrEqual(1);
    expect(data.syncReservations.failed).toBe(0);
    expect(data.syncReservations.connection).toMatchObject({ status: 'ACTIVE', lastError: null });

    // The seeded connection speaks the Mews style (which carries no booking ID); the fake vendor's generic API reads the same store.
    const atVendor = await (await vendor(`/v1/properties/AL-001/reservations/${reference}`, { headers: { authorization: 'Bearer fake-vendor-token' } })).json() as any;
    expect(atVendor).toMatchObject({ reference, guestName: 'Sync Guest' });

    const { data: after } = await gql<any>(`query($id: ID!) { booking(id: $id) { pms { externalId syncStatus stale syncedAt } } }`, { id });
    expect(after.booking.pms).toMatchObject({ externalId: atVendor.externalId, syncStatus: 'SYNCED', stale: false });
  });

  it('a failing vendor does not lose the sync: it answers QUEUED, shows the data as stale, and the queue pushes it once the vendor is back', async () => {
    // A hotel of this test's own (the seeded ones are read by other test files meanwhile).
    const propertyCode = `PS-${Date.now()}`;
    const { hotelId, bookingIds } = await createPmsHotel({ vendor: 'mews', propertyCode, bookings: 2 });
    const first = await gql<any>(SYNC, { hotelId });
    expect(first.data.syncReservations).toMatchObject({ status: 'COMPLETED', pushed: 2, failed: 0 });

    await setFaults({ mode: 'fail', status: 503, propertyCodes: [propertyCode] });
    const failed = await gql<any>(SYNC, { hotelId });
    expect(failed.errors).toEqual([]);
    expect(failed.data.syncReservations).toMatchObject({ status: 'QUEUED', retryAt: expect.any(String), reason: expect.stringContaining('503') });
    const broken = await gql<any>(
      `query($id: ID!, $b: ID!) { hotel(id: $id) { pmsConnection { status lastError stale pendingSync { retryAt attempts } } } booking(id: $b) { pms { syncStatus stale syncedAt } } }`,
      { id: hotelId, b: bookingIds[0] },
    );
    expect(broken.data.hotel.pmsConnection).toMatchObject({ status: 'ERROR', lastError: expect.stringContaining('503'), stale: true, pendingSync: { retryAt: expect.any(String) } });
    // Reads still answer, from the last synced data, marked stale.
    expect(broken.data.booking.pms).toMatchObject({ syncStatus: 'SYNCED', stale: true, syncedAt: expect.any(String) });

    await setFaults({ mode: 'ok' });
    const recovered = await eventually(async () => {
      const { data } = await gql<any>(`query($id: ID!) { hotel(id: $id) { pmsConnection { status stale pendingSync { attempts } } } }`, { id: hotelId });
      return data.hotel.pmsConnection.status === 'ACTIVE' && data.hotel.pmsConnection;
    }, 50_000);
    expect(recovered).toEqual({ status: 'ACTIVE', stale: false, pendingSync: null });
  }, 90_000);

  it('refuses to sync a hotel without a PMS connection with NOT_FOUND', async () => {
    const { errors } = await gql<any>(SYNC, { hotelId: '6b1f3a2e-9c8d-4e7f-a6b5-c4d3e2f1a0b9' });
    expect(errors[0]!.extensions.code).toBe('NOT_FOUND');
  });
});
