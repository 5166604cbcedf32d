import type { Booking } from '../../../lib/src/db.js';
import { topic, type EventBus } from '../../../lib/src/events.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { todayIn } from './inventory.js';
import { LIVE_OCCUPANCY_DAYS, type Occupancy } from './occupancy.js';

export type BookingEventType = 'CREATED' | 'CONFIRMED' | 'CANCELLED' | 'CHECKED_IN' | 'CHECKED_OUT';

/** A committed booking change, as the domain (bookings.ts) reports it. */
export interface BookingChange {
  type: BookingEventType;
  /** The row right after the change. */
  booking: Booking;
  correlationId: string;
  /** The hotel's time zone when the change already knew it (createBooking reads it with the room). */
  timezone?: string;
}

/** What `bookingChanged` subscribers receive (the row travels whole: `BookingEvent.booking` resolves it as any Booking). */
export interface BookingEventPayload {
  type: BookingEventType;
  booking: Booking;
  occurredAt: Date;
}

/**
 * Publishes booking changes AFTER their transaction committed: `booking:<hotelId>` at once (in commit
 * order: the publish is issued synchronously when the commit returns), then the hotel's occupancy for
 * today + 14 days on `occupancy:<hotelId>`. Occupancy recomputations of one hotel never overlap: changes
 * arriving while one runs coalesce into one more run, so the last snapshot published is the freshest and a
 * burst of bookings costs a few queries, not one per booking.
 */
export class BookingFeed {
  private readonly occupancyRuns = new Map<string, { again: boolean; done: Promise<void> }>();
  private readonly business;

  constructor(private readonly deps: { events: EventBus; occupancy: Occupancy; logger: Logger; metrics?: Metrics }) {
    // Business metrics, labelled by hotel: one series per tenant (bounded by the hotels of the platform),
    // never by guest or booking.
    this.business = deps.metrics && {
      changes: deps.metrics.counter('innkeep_bookings_total', 'Committed booking changes by hotel and event (CREATED, CONFIRMED, CANCELLED, CHECKED_IN, CHECKED_OUT)', ['hotel', 'event'] as const),
      occupied: deps.metrics.gauge('innkeep_occupancy_rooms', "Rooms occupied tonight (the hotel's date), per hotel; updated on every booking change of the hotel", ['hotel'] as const),
    };
  }

  changed(change: BookingChange): void {
    const { booking } = change;
    this.business?.changes.inc({ hotel: booking.hotelId, event: change.type });
    const payload: BookingEventPayload = { type: change.type, booking, occurredAt: new Date() };
    void this.deps.events.publish(topic('booking', booking.hotelId), payload);
    if (change.timezone) this.deps.occupancy.rememberTimezone(booking.hotelId, change.timezone);
    this.occupancyChanged(booking.hotelId, change.correlationId);
  }

  /** Resolves when no occupancy recomputation is running (stop: before the database closes). */
  async drain(): Promise<void> {
    while (this.occupancyRuns.size) await Promise.all([...this.occupancyRuns.values()].map((r) => r.done));
  }

  private occupancyChanged(hotelId: string, correlationId: string): void {
    const running = this.occupancyRuns.get(hotelId);
    if (running) {
      running.again = true;
      return;
    }
    const run = { again: false, done: Promise.resolve() };
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await this.publishOccupancy(hotelId, correlationId);
        } while (run.again);
      } finally {
        this.occupancyRuns.delete(hotelId);
      }
    })();
    this.occupancyRuns.set(hotelId, run);
  }

  private async publishOccupancy(hotelId: string, correlationId: string): Promise<void> {
    const log = this.deps.logger.child({ correlationId, hotelId });
    try {
      let today: string;
      try {
        today = await this.deps.occupancy.todayOf(hotelId, correlationId);
      } catch (error) {
        // The hotel subgraph is unreachable: a day off at midnight beats no live update at all.
        log.warn({ err: error }, 'hotel time zone unavailable: occupancy published from today in UTC');
        today = todayIn('UTC');
      }
      const days = await this.deps.occupancy.count(hotelId, today, LIVE_OCCUPANCY_DAYS);
      this.business?.occupied.set({ hotel: hotelId }, days[0]?.occupiedRooms ?? 0);
      await this.deps.events.publish(topic('occupancy', hotelId), { hotelId, days });
    } catch (error) {
      log.warn({ err: error }, 'occupancy not published (the booking change itself is committed)');
    }
  }
}
