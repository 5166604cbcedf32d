import DataLoader from 'dataloader';
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
  /**
   * Room lookups of concurrent requests (e.g. a burst of createBooking) travel as one `_entities` call.
   * Room facts are not caller-specific, so sharing a batch leaks nothing; nothing is cached between
   * batches, so a rate change is seen by the next booking.
   */
  private readonly rooms: DataLoader<{ roomId: string; correlationId: string }, RoomFacts | null, string>;

  constructor(private readonly hotels: EntityClient) {
    this.rooms = new DataLoader(
      (keys) =>
        this.hotels.fetch<RoomFacts>(
          keys.map((k) => ({ __typename: 'Room', id: k.roomId })),
          `... on Room { ${ROOM_SELECTION} hotel { id timezone currency } }`,
          keys[0]!.correlationId,
        ),
      { cache: false, cacheKeyFn: (k) => k.roomId, batchScheduleFn: (run) => setTimeout(run, 2), maxBatchSize: 100 },
    );
  }

  room(roomId: string, correlationId: string): Promise<RoomFacts | null> {
    return this.rooms.load({ roomId, correlationId });
  }

  async hotel(hotelId: string, correlationId: string): Promise<HotelFacts | null> {
    const [hotel] = await this.hotels.fetch<HotelFacts>(
      [{ __typename: 'Hotel', id: hotelId }],
      `... on Hotel { id timezone currency rooms { ${ROOM_SELECTION} } }`,
      correlationId,
    );
    return hotel ?? null;
  }

  /** A hotel's IANA time zone ("today" of the hotel), or null for no such hotel. */
  async timezone(hotelId: string, correlationId: string): Promise<string | null> {
    const [hotel] = await this.hotels.fetch<{ timezone: string }>([{ __typename: 'Hotel', id: hotelId }], '... on Hotel { timezone }', correlationId);
    return hotel?.timezone ?? null;
  }
}

/** Today's date (YYYY-MM-DD) in a hotel's time zone: "past" means before this. */
export function todayIn(timezone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
