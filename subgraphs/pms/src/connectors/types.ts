/**
 * What the pms subgraph needs from any PMS vendor, in Innkeep's words. Each adapter (mews.ts, opera.ts)
 * translates to its vendor's wire style; sync.ts and the policies only ever see this interface and the
 * three error classes below, so a new vendor is one new file plus a line in registry.ts.
 */
export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'CHECKED_IN' | 'CHECKED_OUT' | 'CANCELLED';

/** Who we are at the vendor for one hotel: its property code and the decrypted credentials of its connection. */
export interface VendorAccount {
  /** Our connection's ID: adapters key caches (OAuth tokens) by it, never by the secret itself. */
  connectionId: string;
  propertyCode: string;
  credentials: Record<string, string>;
}

export interface PushReservation {
  /** Our booking reference: the vendor keeps one reservation per reference, so a repeat is a no-op. */
  reference: string;
  status: ReservationStatus;
  checkIn: string;
  checkOut: string;
  guestName: string;
}

/** A reservation as the vendor holds it. `updatedAt` orders changes and tells our own writes from theirs. */
export interface VendorReservation {
  externalId: string;
  reference: string;
  status: ReservationStatus;
  checkIn: string;
  checkOut: string;
  updatedAt: string;
}

export interface ReservationPage {
  reservations: VendorReservation[];
  /** Feed back as `since` for the next page; persisted per connection so a sync resumes where it stopped. */
  cursor: string | null;
  hasMore: boolean;
}

export interface NightAvailability {
  date: string;
  roomType: string;
  available: number;
}

export interface PmsConnector {
  /** The vendor name in `pms.connections.vendor` ('mews', 'opera', or an alias of either style). */
  readonly vendor: string;
  /** Creates or replaces the reservation for `reservation.reference` (idempotent). */
  pushReservation(account: VendorAccount, reservation: PushReservation, signal?: AbortSignal): Promise<VendorReservation>;
  /** Cancels the vendor's reservation `externalId`; cancelling twice is not an error. */
  cancelReservation(account: VendorAccount, externalId: string, signal?: AbortSignal): Promise<VendorReservation>;
  /** Reservations changed at the vendor strictly after `cursor` (null: from the beginning), oldest first. */
  pullReservations(account: VendorAccount, cursor: string | null, limit: number, signal?: AbortSignal): Promise<ReservationPage>;
  /** Rooms free per night in [from, to) (ISO dates). */
  pullAvailability(account: VendorAccount, from: string, to: string, signal?: AbortSignal): Promise<NightAvailability[]>;
}

/** The vendor could not be reached, timed out, or failed on its side (5xx): retry later. */
export class VendorUnavailableError extends Error {
  override name = 'VendorUnavailableError';
}

/** The vendor understood and refused this one request (4xx): retrying the same will not help. */
export class VendorRejectedError extends Error {
  override name = 'VendorRejectedError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The vendor refused the connection's credentials (after one fresh token, for OAuth vendors): nothing
 * will work for this hotel until someone fixes them, so it is neither retried nor queued.
 */
export class VendorAuthError extends Error {
  override name = 'VendorAuthError';
}

/** Errors that are the vendor answering as designed, not the vendor being down: never trip the breaker. */
export const isVendorVerdict = (error: unknown): boolean => error instanceof VendorRejectedError || error instanceof VendorAuthError;
