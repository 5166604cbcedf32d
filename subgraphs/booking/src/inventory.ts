import type { EntityClient } from '../../../lib/src/entity-client.js';

/** What booking needs to know about a room, read from the hotel subgraph (its owner). */
export interface RoomFacts {
  id: string;
  status: 'CLEAN' | 'DIRTY' | 'INSPECTED' | 'OUT_OF_ORDER';
  hotel: { id: string; timezone: string; currency: string };
  roomType: { capacity: number; baseRate: { amountMinor: number } };
}

export interface HotelFacts {
  id: string;
  timezone: string;
  currency: string;
  rooms: Array<Omit<RoomFacts, 'hotel'>>;
}

const ROOM_SELECTION = 'id status roomType { capacity baseRate { amountMinor } }';

/**
 * The booking subgraph's port to the hotel subgraph: rooms, capacities and rates come from their owner
 * through `_entities`, never from the hotel tables.
 */
export class HotelInventory {
  constructor(private readonly hotels: EntityClient) {}

  async room(roomId: string, correlationId: string): Promise<RoomFacts | null> {
    const [room] = await this.hotels.fetch<RoomFacts>(
      [{ __typename: 'Room', id: roomId }],
      `... on Room { ${ROOM_SELECTION} hotel { id timezone currency } }`,
      correlationId,
    );
    return room ?? null;
  }

  async hotel(hotelId: string, correlationId: string): Promise<HotelFacts | null> {
    const [hotel] = await this.hotels.fetch<HotelFacts>(
      [{ __typename: 'Hotel', id: hotelId }],
      `... on Hotel { id timezone currency rooms { ${ROOM_SELECTION} } }`,
      correlationId,
    );
    return hotel ?? null;
  }
}

/** Today's date (YYYY-MM-DD) in a hotel's time zone: "past" means before this. */
export function todayIn(timezone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
