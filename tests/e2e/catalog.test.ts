import { describe, expect, it } from '@jest/globals';
import { actAs, gql, ids, inDays, sql } from './support.js';

// Staff queries and mutations need an identity: these tests act as the platform admin unless they say otherwise.
actAs('admin@innkeep.test');

const slug = `seaside-${Date.now().toString(36)}`;

describe('managing the hotel catalog', () => {
  it('creates a hotel with a room type and rooms, sets a room status, and sells the room through booking', async () => {
    const hotel = await gql<any>(
      `mutation($input: CreateHotelInput!) { createHotel(input: $input) { id slug timezone currency address { city country } } }`,
      { input: { name: 'Seaside Inn', slug, timezone: 'Europe/Lisbon', currency: 'EUR', address: { line1: 'Rua do Mar 1', city: 'Cascais', postalCode: '2750-001', country: 'PT' } } },
    );
    expect(hotel.errors).toEqual([]);
    const hotelId = hotel.data.createHotel.id;

    const roomType = await gql<any>(`mutation($input: CreateRoomTypeInput!) { createRoomType(input: $input) { id capacity baseRate { amount amountMinor currency } } }`, {
      input: { hotelId, name: 'Ocean Double', capacity: 2, baseRateMinor: 15900 },
    });
    expect(roomType.data.createRoomType.baseRate).toEqual({ amount: '159.00', amountMinor: 15900, currency: 'EUR' });

    const room = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id number status roomType { name } hotel { slug } } }`, {
      input: { hotelId, roomTypeId: roomType.data.createRoomType.id, number: '101', floor: 1 },
    });
    expect(room.data.createRoom).toMatchObject({ number: '101', status: 'CLEAN', roomType: { name: 'Ocean Double' }, hotel: { slug } });
    const roomId = room.data.createRoom.id;

    const status = await gql<any>(`mutation($id: ID!) { setRoomStatus(roomId: $id, status: OUT_OF_ORDER) { status } }`, { id: roomId });
    expect(status.data.setRoomStatus.status).toBe('OUT_OF_ORDER');
    const outOfOrder = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
      input: { hotelId, roomId, checkIn: inDays(3), checkOut: inDays(4), guest: { name: 'Sea Guest', email: 'sea@example.test' } },
    });
    expect(outOfOrder.errors[0]!.extensions.code).toBe('CONFLICT');

    await gql(`mutation($id: ID!) { setRoomStatus(roomId: $id, status: CLEAN) { status } }`, { id: roomId });
    const raised = await gql<any>(`mutation($id: ID!) { updateRoomType(id: $id, input: { baseRateMinor: 20000 }) { baseRate { amount } } }`, { id: roomType.data.createRoomType.id });
    expect(raised.data.updateRoomType.baseRate.amount).toBe('200.00');
    const booked = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { total { amountMinor currency } room { number bookings(first: 5) { totalCount nodes { reference } } } } }`, {
      input: { hotelId, roomId, checkIn: inDays(3), checkOut: inDays(5), guest: { name: 'Sea Guest', email: 'sea@example.test' } },
    });
    expect(booked.errors).toEqual([]);
    expect(booked.data.createBooking.total).toEqual({ amountMinor: 40000, currency: 'EUR' });
    expect(booked.data.createBooking.room.bookings.totalCount).toBe(1);

    const renamed = await gql<any>(`mutation($id: ID!) { updateHotel(id: $id, input: { name: "Seaside Inn & Spa" }) { name slug } }`, { id: hotelId });
    expect(renamed.data.updateHotel).toEqual({ name: 'Seaside Inn & Spa', slug });
    expect((await gql<any>(`query($slug: String!) { hotel(slug: $slug) { id rooms { number } } }`, { slug })).data.hotel).toEqual({ id: hotelId, rooms: [{ number: '101' }] });
  });

  it('refuses duplicates with CONFLICT and bad values with BAD_USER_INPUT, writing nothing', async () => {
    const before = Number((await sql(`SELECT count(*) AS n FROM hotel.hotels`))[0]!.n);
    const duplicate = await gql<any>(`mutation { createHotel(input: { name: "Copy", slug: "grand-harbor", timezone: "Europe/Lisbon", currency: "EUR", address: { line1: "x", city: "y", postalCode: "1", country: "PT" } }) { id } }`);
    expect(duplicate.errors[0]!.extensions.code).toBe('CONFLICT');
    const invalid = await gql<any>(`mutation { createHotel(input: { name: "", slug: "Not A Slug", timezone: "Mars/Olympus", currency: "XYZ", address: { line1: "x", city: "y", postalCode: "1", country: "Portugal" } }) { id } }`);
    expect((invalid.errors[0]!.extensions.fields as Array<{ field: string }>).map((f) => f.field).sort()).toEqual(
      ['input.address.country', 'input.currency', 'input.name', 'input.slug', 'input.timezone'],
    );
    expect(Number((await sql(`SELECT count(*) AS n FROM hotel.hotels`))[0]!.n)).toBe(before);

    const roomTaken = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, {
      input: { hotelId: ids.grandHarbor, roomTypeId: (await sql(`SELECT id FROM hotel.room_types WHERE hotel_id = $1 LIMIT 1`, [ids.grandHarbor]))[0]!.id, number: '101', floor: 1 },
    });
    expect(roomTaken.errors[0]!.extensions.code).toBe('CONFLICT');
    const foreignType = await gql<any>(`mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }`, {
      input: { hotelId: ids.grandHarbor, roomTypeId: (await sql(`SELECT id FROM hotel.room_types WHERE hotel_id = $1 LIMIT 1`, [ids.alpineLodge]))[0]!.id, number: '999', floor: 9 },
    });
    expect(foreignType.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'input.roomTypeId', message: expect.any(String) }] });
    const missing = await gql<any>(`mutation { setRoomStatus(roomId: "not-a-uuid", status: DIRTY) { id } }`);
    expect(missing.errors[0]!.extensions.code).toBe('NOT_FOUND');
    expect((await gql<any>(`{ hotel(id: "not-a-uuid") { id } }`)).data.hotel).toBeNull();
    expect((await gql<any>(`{ hotel { id } }`)).errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'id', message: expect.any(String) }] });
  });
});
