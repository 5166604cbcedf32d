/** Every operation the dashboard sends (the contract: subgraphs/*\/schema.graphql, gateway identity schema). */

export type RoomStatus = 'CLEAN' | 'DIRTY' | 'INSPECTED' | 'OUT_OF_ORDER';
export type BookingStatus = 'PENDING' | 'CONFIRMED' | 'CHECKED_IN' | 'CHECKED_OUT' | 'CANCELLED';
export type BookingEventType = 'CREATED' | 'CONFIRMED' | 'CANCELLED' | 'CHECKED_IN' | 'CHECKED_OUT';

export interface Viewer {
  kind: string;
  email: string | null;
  roles: string[];
  hotelIds: string[];
}
export interface HotelSummary {
  id: string;
  name: string;
}
export interface Room {
  id: string;
  number: string;
  floor: number;
  status: RoomStatus;
}
export interface OccupancyDay {
  date: string;
  occupiedRooms: number;
  arrivals: number;
  departures: number;
}
export interface Occupancy {
  hotelId: string;
  days: OccupancyDay[];
}
export interface Booking {
  id: string;
  reference: string;
  status: BookingStatus;
  checkIn: string;
  checkOut: string;
  guest: { name: string };
  room: { number: string };
}
export interface BookingEvent {
  type: BookingEventType;
  occurredAt: string;
  booking: Booking;
}

export const WHO_AM_I = /* GraphQL */ `
  query DashboardViewer {
    me { kind email roles hotelIds }
    hotels { id name }
  }
`;
export type WhoAmI = { me: Viewer; hotels: HotelSummary[] };

const OCCUPANCY_FIELDS = 'hotelId days { date occupiedRooms arrivals departures }';
const BOOKING_FIELDS = 'id reference status checkIn checkOut guest { name } room { number }';
const ROOM_FIELDS = 'id number floor status';

/** Today and the next 14 days, "today" being the hotel's own (its time zone), as the subscription sends. */
export const SNAPSHOT = /* GraphQL */ `
  query DashboardSnapshot($hotelId: ID!) {
    hotel(id: $hotelId) { id name timezone rooms { ${ROOM_FIELDS} } }
    occupancy(hotelId: $hotelId, days: 15) { ${OCCUPANCY_FIELDS} }
  }
`;
export type Snapshot = { hotel: (HotelSummary & { timezone: string; rooms: Room[] }) | null; occupancy: Occupancy };

/**
 * Stays that include the night of `from` and begin before `to` (= from + 1 day): today's in-house guests
 * and arrivals; the page keeps those whose check-in is today. Cancelled and checked-out ones are left out.
 */
export const STAYS_TONIGHT = /* GraphQL */ `
  query DashboardArrivals($hotelId: ID!, $from: Date!, $to: Date!) {
    hotel(id: $hotelId) {
      id
      bookings(filter: { from: $from, to: $to, status: [PENDING, CONFIRMED, CHECKED_IN] }, first: 50) {
        totalCount
        nodes { ${BOOKING_FIELDS} }
      }
    }
  }
`;
export type StaysTonight = { hotel: { id: string; bookings: { totalCount: number; nodes: Booking[] } } | null };

export const BOOKING_CHANGED = /* GraphQL */ `
  subscription DashboardBookings($hotelId: ID!) {
    bookingChanged(hotelId: $hotelId) { type occurredAt booking { ${BOOKING_FIELDS} } }
  }
`;
export const OCCUPANCY_CHANGED = /* GraphQL */ `
  subscription DashboardOccupancy($hotelId: ID!) {
    occupancyChanged(hotelId: $hotelId) { ${OCCUPANCY_FIELDS} }
  }
`;
export const ROOM_STATUS_CHANGED = /* GraphQL */ `
  subscription DashboardRooms($hotelId: ID!) {
    roomStatusChanged(hotelId: $hotelId) { ${ROOM_FIELDS} }
  }
`;
