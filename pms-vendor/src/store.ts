import type { z } from 'zod';

/**
 * The fake vendor's in-memory reservations, shared by its three wire styles (the generic `/v1` REST API,
 * the Mews-like connector API and the Opera/OHIP-like REST API): each style only translates its own field
 * names and status words to and from this one canonical record.
 */
export const STATUSES = ['PENDING', 'CONFIRMED', 'CHECKED_IN', 'CHECKED_OUT', 'CANCELLED'] as const;
export type VendorStatus = (typeof STATUSES)[number];

export interface Reservation {
  externalId: string;
  reference: string;
  /** Innkeep's booking ID when the client sent one (the generic API requires it; the others do not carry it). */
  bookingId: string | null;
  status: VendorStatus;
  checkIn: string;
  checkOut: string;
  guestName: string;
  roomNumber: string | null;
  updatedAt: string;
  version: number;
}

/** The client-owned fields: a write that changes none of them is a no-op. */
const FIELD_KEYS = ['bookingId', 'status', 'checkIn', 'checkOut', 'guestName', 'roomNumber'] as const;
export type ReservationFields = Pick<Reservation, (typeof FIELD_KEYS)[number]>;
const pick = (f: ReservationFields): ReservationFields => Object.fromEntries(FIELD_KEYS.map((k) => [k, f[k]])) as ReservationFields;

/** Rooms per property for availability answers: one room type, the same count everywhere. */
export const ROOM_TYPE = 'STANDARD';

/** Reservations per property code, plus the per-property counter behind `FPMS-<code>-<n>`. */
export class ReservationStore {
  private readonly properties = new Map<string, { next: number; byRef: Map<string, Reservation> }>();
  private readonly byExternalId = new Map<string, { code: string; ref: string }>();
  private lastStamp = 0;

  constructor(private readonly roomsPerProperty = 20) {}

  get(code: string, ref: string): Reservation | undefined {
    return this.properties.get(code)?.byRef.get(ref);
  }

  /** A reservation by the vendor's own ID, only within the property it belongs to. */
  getById(code: string, externalId: string): Reservation | undefined {
    const at = this.byExternalId.get(externalId);
    return at && at.code === code ? this.get(at.code, at.ref) : undefined;
  }

  /** Changed strictly after `since` (ms), oldest change first, at most `limit`. */
  list(code: string, since?: number, limit = Number.POSITIVE_INFINITY): Reservation[] {
    const all = [...(this.properties.get(code)?.byRef.values() ?? [])];
    return all
      .filter((r) => since === undefined || Date.parse(r.updatedAt) > since)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt))
      .slice(0, limit);
  }

  /** PUT semantics: the body replaces every field (an omitted roomNumber clears it). */
  upsert(code: string, ref: string, body: Omit<ReservationFields, 'roomNumber' | 'bookingId'> & { roomNumber?: string | null; bookingId?: string | null }): Reservation {
    return this.write(code, ref, { ...body, bookingId: body.bookingId ?? null, roomNumber: body.roomNumber ?? null });
  }

  /** Undefined when the reservation does not exist; cancelling twice is a no-op. */
  cancel(code: string, ref: string): Reservation | undefined {
    const existing = this.get(code, ref);
    return existing && this.write(code, ref, { ...existing, status: 'CANCELLED' });
  }

  /** Rooms free per night in [from, to): the property's rooms minus the reservations holding that night. */
  availability(code: string, from: string, to: string): Array<{ date: string; available: number }> {
    const held = [...(this.properties.get(code)?.byRef.values() ?? [])].filter((r) => r.status !== 'CANCELLED' && r.status !== 'CHECKED_OUT');
    const nights: Array<{ date: string; available: number }> = [];
    for (let day = Date.parse(`${from}T00:00:00Z`); day < Date.parse(`${to}T00:00:00Z`) && nights.length < 366; day += 86_400_000) {
      const date = new Date(day).toISOString().slice(0, 10);
      const taken = held.filter((r) => r.checkIn <= date && date < r.checkOut).length;
      nights.push({ date, available: Math.max(0, this.roomsPerProperty - taken) });
    }
    return nights;
  }

  clear(): void {
    this.properties.clear();
    this.byExternalId.clear();
  }

  private write(code: string, ref: string, fields: ReservationFields): Reservation {
    let property = this.properties.get(code);
    if (!property) this.properties.set(code, (property = { next: 1, byRef: new Map() }));
    const existing = property.byRef.get(ref);
    if (existing && FIELD_KEYS.every((k) => existing[k] === fields[k])) {
      return existing; // nothing changed: same version and updatedAt, so pollers do not see it again
    }
    const saved: Reservation = {
      externalId: existing?.externalId ?? `FPMS-${code}-${property.next++}`,
      reference: ref,
      ...pick(fields),
      updatedAt: this.stamp(),
      version: (existing?.version ?? 0) + 1,
    };
    property.byRef.set(ref, saved);
    this.byExternalId.set(saved.externalId, { code, ref });
    return saved;
  }

  /**
   * Strictly increasing timestamps: two writes in the same millisecond would otherwise share an updatedAt,
   * and a poller whose cursor is that instant would miss the second one (`updatedSince` is exclusive).
   */
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }
}

/** 422/400 field list from a zod error, the same shape in every style. */
export const fieldsOf = (error: z.ZodError) => error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
