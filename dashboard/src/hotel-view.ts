import { query } from './api.js';
import type { Session } from './auth.js';
import { fill, formatDay, formatTime, h } from './dom.js';
import type { LiveConnection } from './live.js';
import {
  BOOKING_CHANGED,
  OCCUPANCY_CHANGED,
  ROOM_STATUS_CHANGED,
  SNAPSHOT,
  STAYS_TONIGHT,
  type Booking,
  type BookingEvent,
  type Occupancy,
  type Room,
  type RoomStatus,
  type Snapshot,
  type StaysTonight,
} from './queries.js';

/** Newest first; older entries drop off so that a busy day cannot grow the page without bound. */
const FEED_LIMIT = 50;
const STATUS_LABEL: Record<RoomStatus, string> = { CLEAN: 'Clean', DIRTY: 'Dirty', INSPECTED: 'Inspected', OUT_OF_ORDER: 'Out of order' };
const EVENT_LABEL: Record<BookingEvent['type'], string> = {
  CREATED: 'New booking',
  CONFIRMED: 'Confirmed',
  CANCELLED: 'Cancelled',
  CHECKED_IN: 'Checked in',
  CHECKED_OUT: 'Checked out',
};
/** Bookings that still hold their room (and so count as today's arrivals). */
const ACTIVE = new Set<Booking['status']>(['PENDING', 'CONFIRMED', 'CHECKED_IN']);

const nextDay = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * One hotel's live view: a snapshot over HTTP, kept current by three subscriptions. Occupancy and room
 * events carry whole state, so applying one twice is harmless: events that arrive while a snapshot is in
 * flight are applied again on top of it, so an older snapshot answer never hides a newer event.
 */
export class HotelView {
  readonly element: HTMLElement;
  private rooms = new Map<string, Room>();
  private occupancy: Occupancy | null = null;
  private arrivals = new Map<string, Booking>();
  private snapshotsInFlight = 0;
  private eventsDuringSnapshot: Array<() => void> = [];
  private disposed = false;

  private readonly name = h('h2', { id: 'hotel-name' }, 'Loading…');
  private readonly updated = h('p', { class: 'muted', id: 'snapshot-time' });
  private readonly problem = h('p', { class: 'problem', id: 'hotel-problem', role: 'alert', hidden: true });
  private readonly occupancyToday = h('span', { class: 'value', id: 'occupancy-today' }, '–');
  private readonly occupancyDetail = h('span', { class: 'detail', id: 'occupancy-today-detail' });
  private readonly arrivalsToday = h('span', { class: 'value', id: 'arrivals-today' }, '–');
  private readonly departuresToday = h('span', { class: 'value', id: 'departures-today' }, '–');
  private readonly chart = h('ol', { class: 'chart', id: 'occupancy-chart' });
  private readonly arrivalsList = h('ul', { class: 'arrivals', id: 'arrivals-list' });
  private readonly board = h('ul', { class: 'rooms', id: 'room-board' });
  private readonly feed = h('ol', { class: 'feed', id: 'feed', 'aria-live': 'polite', 'aria-relevant': 'additions' });

  constructor(
    private readonly session: Session,
    private readonly live: LiveConnection,
    readonly hotelId: string,
  ) {
    const figure = (label: string, ...value: Node[]) => h('div', { class: 'figure' }, h('span', { class: 'label' }, label), ...value);
    const panel = (id: string, title: string, ...body: Node[]) =>
      h('section', { class: 'panel', 'aria-labelledby': id }, h('h3', { id }, title), ...body);
    const legend = h('ul', { class: 'legend', 'aria-label': 'Room status colours' },
      ...(Object.keys(STATUS_LABEL) as RoomStatus[]).map((s) => h('li', { 'data-status': s }, STATUS_LABEL[s])));

    this.element = h('section', { class: 'hotel', 'aria-labelledby': 'hotel-name' },
      h('div', { class: 'hotel-head' }, this.name, this.updated),
      this.problem,
      h('div', { class: 'figures' },
        figure('Occupancy tonight', this.occupancyToday, this.occupancyDetail),
        figure('Arrivals today', this.arrivalsToday),
        figure('Departures today', this.departuresToday)),
      panel('h-chart', 'Occupancy, today and the next 14 days', this.chart),
      h('div', { class: 'columns' },
        panel('h-rooms', 'Rooms', this.board, legend),
        panel('h-arrivals', "Today's arrivals", this.arrivalsList)),
      panel('h-feed', 'Live booking events', this.feed));

    const variables = { hotelId };
    live.subscribe(OCCUPANCY_CHANGED, variables, (data) => this.onEvent(() => this.setOccupancy((data as { occupancyChanged: Occupancy }).occupancyChanged)));
    live.subscribe(ROOM_STATUS_CHANGED, variables, (data) => this.onEvent(() => this.setRoom((data as { roomStatusChanged: Room }).roomStatusChanged)));
    live.subscribe(BOOKING_CHANGED, variables, (data) => {
      const event = (data as { bookingChanged: BookingEvent }).bookingChanged;
      this.addToFeed(event);
      this.onEvent(() => this.trackArrival(event.booking));
    });
  }

  /** Reads the whole picture again: on opening the hotel and after every (re)connect. */
  async refresh(): Promise<void> {
    this.snapshotsInFlight++;
    try {
      const snapshot = await query<Snapshot>(this.session, SNAPSHOT, { hotelId: this.hotelId });
      if (!snapshot.hotel) throw new Error('This hotel does not exist or is not visible to you.');
      const today = snapshot.occupancy.days[0]?.date;
      const stays = today ? await query<StaysTonight>(this.session, STAYS_TONIGHT, { hotelId: this.hotelId, from: today, to: nextDay(today) }) : null;
      if (this.disposed) return;
      fill(this.name, snapshot.hotel.name);
      this.rooms = new Map(snapshot.hotel.rooms.map((r) => [r.id, r]));
      this.occupancy = snapshot.occupancy;
      this.arrivals = new Map((stays?.hotel?.bookings.nodes ?? []).filter((b) => b.checkIn === today).map((b) => [b.id, b]));
      for (const apply of this.eventsDuringSnapshot) apply();
      this.renderAll();
      fill(this.updated, `Snapshot ${formatTime(new Date().toISOString())}`);
      this.showProblem(null);
    } catch (error) {
      if (!this.disposed) this.showProblem(error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      if (--this.snapshotsInFlight === 0) this.eventsDuringSnapshot = [];
    }
  }

  dispose(): void {
    this.disposed = true;
  }

  showProblem(message: string | null): void {
    this.problem.hidden = message === null;
    fill(this.problem, message ?? '');
  }

  private onEvent(apply: () => void): void {
    if (this.disposed) return;
    if (this.snapshotsInFlight > 0) this.eventsDuringSnapshot.push(apply);
    apply();
    this.renderAll();
  }

  private setOccupancy(occupancy: Occupancy): void {
    this.occupancy = occupancy;
  }

  private setRoom(room: Room): void {
    this.rooms.set(room.id, { ...this.rooms.get(room.id), ...room });
  }

  private trackArrival(booking: Booking): void {
    const today = this.occupancy?.days[0]?.date;
    if (booking.checkIn === today && ACTIVE.has(booking.status)) this.arrivals.set(booking.id, booking);
    else this.arrivals.delete(booking.id);
  }

  private renderAll(): void {
    this.renderFigures();
    this.renderChart();
    this.renderRooms();
    this.renderArrivals();
  }

  private percent(occupied: number): number {
    return this.rooms.size ? Math.round((occupied / this.rooms.size) * 100) : 0;
  }

  private renderFigures(): void {
    const today = this.occupancy?.days[0];
    if (!today) return;
    fill(this.occupancyToday, `${this.percent(today.occupiedRooms)}%`);
    fill(this.occupancyDetail, `${today.occupiedRooms} of ${this.rooms.size} rooms`);
    fill(this.arrivalsToday, today.arrivals);
    fill(this.departuresToday, today.departures);
  }

  private renderChart(): void {
    const days = this.occupancy?.days ?? [];
    fill(this.chart, ...days.map((day, index) => {
      const percent = this.percent(day.occupiedRooms);
      const label = `${formatDay(day.date)}: ${day.occupiedRooms} of ${this.rooms.size} rooms (${percent}%)`;
      const bar = h('span', { class: 'bar', 'data-level': percent >= 90 ? 'high' : percent >= 60 ? 'mid' : 'low' });
      // Width and height are set as properties (CSSOM), not a style attribute: the CSP allows no inline styles.
      bar.style.height = `${percent}%`;
      return h('li', { 'data-date': day.date, 'data-today': index === 0, title: label, 'aria-label': label },
        h('span', { class: 'bar-track' }, bar),
        h('span', { class: 'bar-value' }, `${percent}%`),
        h('span', { class: 'bar-day' }, index === 0 ? 'Today' : formatDay(day.date, { weekday: 'short', day: 'numeric' })));
    }));
  }

  private renderRooms(): void {
    const rooms = [...this.rooms.values()].sort((a, b) => a.floor - b.floor || a.number.localeCompare(b.number, undefined, { numeric: true }));
    fill(this.board, ...rooms.map((room) =>
      h('li', { class: 'room', 'data-room': room.number, 'data-status': room.status, 'aria-label': `Room ${room.number}: ${STATUS_LABEL[room.status]}` },
        h('span', { class: 'room-number' }, room.number),
        h('span', { class: 'room-status' }, STATUS_LABEL[room.status]))));
  }

  private renderArrivals(): void {
    const arrivals = [...this.arrivals.values()].sort((a, b) => a.room.number.localeCompare(b.room.number, undefined, { numeric: true }));
    if (!arrivals.length) return fill(this.arrivalsList, h('li', { class: 'muted' }, 'No arrivals today.'));
    fill(this.arrivalsList, ...arrivals.map((b) =>
      h('li', { 'data-reference': b.reference },
        h('strong', {}, b.guest.name), ` · room ${b.room.number} · until ${formatDay(b.checkOut)} · `,
        h('span', { class: 'status', 'data-status': b.status }, b.status.replace('_', ' ').toLowerCase()))));
  }

  private addToFeed(event: BookingEvent): void {
    if (this.disposed) return;
    const b = event.booking;
    const entry = h('li', { 'data-reference': b.reference, 'data-type': event.type },
      h('time', { datetime: event.occurredAt }, formatTime(event.occurredAt)),
      h('span', { class: 'event-type', 'data-type': event.type }, EVENT_LABEL[event.type]),
      h('span', { class: 'event-body' },
        h('strong', {}, b.reference), ` ${b.guest.name} · room ${b.room.number} · ${formatDay(b.checkIn)} → ${formatDay(b.checkOut)} · ${b.status.replace('_', ' ').toLowerCase()}`));
    this.feed.prepend(entry);
    while (this.feed.children.length > FEED_LIMIT) this.feed.lastElementChild?.remove();
  }

  /** A line in the feed where events may have been missed (the figures above are re-read, the feed is not). */
  markGap(): void {
    if (this.disposed || !this.feed.firstElementChild) return;
    this.feed.prepend(h('li', { class: 'gap' }, `Reconnected at ${formatTime(new Date().toISOString())}: figures re-read; events during the gap are not listed.`));
  }
}
