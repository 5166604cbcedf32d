import { afterEach, describe, expect, it } from '@jest/globals';
import { actAs, env, gql, ids, inDays } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

const vendor = (path: string, init?: RequestInit) => fetch(`${env('INNKEEP_VENDOR_URL')}${path}`, init);
const setFaults = (faults: Record<string, unknown>) =>
  vendor('/__control/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });

const SYNC = `mutation($hotelId: ID!) { syncReservations(hotelId: $hotelId) { pushed failed syncedAt connection { status lastSyncAt lastError } } }`;

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
    expect(data.syncReservations.pushed).toBeGreaterThanOrEqual(1);
    expect(data.syncReservations.failed).toBe(0);
    expect(data.syncReservations.connection).toMatchObject({ status: 'ACTIVE', lastError: null });

    const atVendor = await (await vendor(`/v1/properties/AL-001/reservations/${reference}`, { headers: { authorization: 'Bearer fake-vendor-token' } })).json() as any;
    expect(atVendor).toMatchObject({ bookingId: id, reference, guestName: 'Sync Guest' });

    const { data: after } = await gql<any>(`query($id: ID!) { booking(id: $id) { pms { externalId syncStatus stale syncedAt } } }`, { id });
    expect(after.booking.pms).toMatchObject({ externalId: atVendor.externalId, syncStatus: 'SYNCED', stale: false });
  });

  it('a failing vendor answers SERVICE_UNAVAILABLE, marks the connection ERROR, and recovers on the next sync', async () => {
    await setFaults({ mode: 'fail', status: 503, propertyCodes: ['GH-001'] });
    const failed = await gql<any>(SYNC, { hotelId: ids.grandHarbor });
    expect(failed.errors[0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryable: true, service: 'pms' });
    const broken = await gql<any>(`query($id: ID!) { hotel(id: $id) { pmsConnection { status lastError } } }`, { id: ids.grandHarbor });
    expect(broken.data.hotel.pmsConnection).toEqual({ status: 'ERROR', lastError: expect.stringContaining('503') });

    await setFaults({ mode: 'ok' });
    const recovered = await gql<any>(SYNC, { hotelId: ids.grandHarbor });
    expect(recovered.errors).toEqual([]);
    expect(recovered.data.syncReservations.connection.status).toBe('ACTIVE');
  });

  it('refuses to sync a hotel without a PMS connection with NOT_FOUND', async () => {
    const { errors } = await gql<any>(SYNC, { hotelId: '6b1f3a2e-9c8d-4e7f-a6b5-c4d3e2f1a0b9' });
    expect(errors[0]!.extensions.code).toBe('NOT_FOUND');
  });
});
