import type { PrismaClient } from '../../../lib/src/db.js';
import { BadUserInputError, NotFoundError } from '../../../lib/src/errors.js';
import { isIsoDate } from '../../../lib/src/scalars.js';
import { isUuid } from '../../../lib/src/validation.js';
import { todayIn, type HotelInventory } from './inventory.js';

export interface OccupancyDay {
  date: string;
  occupiedRooms: number;
  arrivals: number;
  departures: number;
}

/** `Query.occupancy` and every `occupancyChanged` event: the same shape. */
export interface OccupancyUpdate {
  hotelId: string;
  days: OccupancyDay[];
}

export const MAX_OCCUPANCY_DAYS = 62;
/** The live feed covers today and the next 14 days (SDL: occupancyChanged). */
export const LIVE_OCCUPANCY_DAYS = 15;
/** A hotel's time zone hardly ever changes: remembered this long, so a booking burst costs no hotel call. */
const TIMEZONE_TTL_MS = 10 * 60_000;

/**
 * Occupancy per night of a hotel. "Today" is the hotel's own date (its time zone comes from the hotel
 * subgraph through `_entities`, as room facts do, and is remembered for a while); the counts are ONE SQL
 * statement over `generate_series`, whatever the number of days.
 */
export class Occupancy {
  private readonly zones = new Map<string, { timezone: string; until: number }>();

  constructor(private readonly deps: { prisma: PrismaClient; inventory: HotelInventory }) {}

  /** A time zone learned elsewhere (createBooking reads it with the room facts). */
  rememberTimezone(hotelId: string, timezone: string): void {
    if (this.zones.size > 10_000) this.zones.clear();
    this.zones.set(hotelId, { timezone, until: Date.now() + TIMEZONE_TTL_MS });
  }

  /** The hotel's IANA time zone, or null when the hotel subgraph knows no such hotel. */
  async timezoneOf(hotelId: string, correlationId: string): Promise<string | null> {
    const known = this.zones.get(hotelId);
    if (known && known.until > Date.now()) return known.timezone;
    const timezone = await this.deps.inventory.timezone(hotelId, correlationId);
    if (timezone) this.rememberTimezone(hotelId, timezone);
    return timezone;
  }

  /** Today in the hotel's time zone (YYYY-MM-DD). */
  async todayOf(hotelId: string, correlationId: string): Promise<string> {
    const timezone = await this.timezoneOf(hotelId, correlationId);
    if (!timezone) throw new NotFoundError('Hotel', hotelId);
    return todayIn(timezone);
  }

  /** Validated entry point of `Query.occupancy`. */
  async forHotel(hotelId: string, from: string | null | undefined, days: number | null | undefined, correlationId: string): Promise<OccupancyUpdate> {
    const count = days ?? LIVE_OCCUPANCY_DAYS;
    const problems = [
      ...(isUuid(hotelId) ? [] : [{ field: 'hotelId', message: 'must be a valid hotel ID' }]),
      ...(Number.isInteger(count) && count >= 1 && count <= MAX_OCCUPANCY_DAYS ? [] : [{ field: 'days', message: `must be between 1 and ${MAX_OCCUPANCY_DAYS}` }]),
      ...(from && !isIsoDate(from) ? [{ field: 'from', message: 'must be a date YYYY-MM-DD' }] : []),
    ];
    if (problems.length) throw new BadUserInputError(problems);
    const start = from ?? (await this.todayOf(hotelId, correlationId));
    return { hotelId, days: await this.count(hotelId, start, count) };
  }

  /**
   * One statement: the nights [from, from + days) against the hotel's bookings. A booking touches a
   * night d when check_in <= d <= check_out (d = check_out is its departure day, not a night of the stay).
   */
  async count(hotelId: string, from: string, days: number): Promise<OccupancyDay[]> {
    const rows = await this.deps.prisma.$queryRaw<OccupancyDay[]>`
      SELECT to_char(n.night, 'YYYY-MM-DD') AS "date",
             count(DISTINCT b.room_id) FILTER (WHERE b.status IN ('PENDING', 'CONFIRMED', 'CHECKED_IN') AND b.check_out > n.night)::int AS "occupiedRooms",
             count(b.id) FILTER (WHERE b.status IN ('PENDING', 'CONFIRMED', 'CHECKED_IN') AND b.check_in = n.night)::int AS "arrivals",
             count(b.id) FILTER (WHERE b.status IN ('PENDING', 'CONFIRMED', 'CHECKED_IN', 'CHECKED_OUT') AND b.check_out = n.night)::int AS "departures"
        FROM (SELECT ${from}::date + i AS night FROM generate_series(0, ${days - 1}::int) AS i) AS n
        LEFT JOIN booking.bookings b
          ON b.hotel_id = ${hotelId}::uuid AND b.check_in <= n.night AND b.check_out >= n.night
       GROUP BY n.night
       ORDER BY n.night`;
    return rows;
  }
}
