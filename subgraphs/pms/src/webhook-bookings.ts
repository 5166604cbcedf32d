import type { EntityClient, PeerAnswer } from '../../../lib/src/entity-client.js';
import { ServiceUnavailableError } from '../../../lib/src/errors.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import type { Principal } from '../../../lib/src/identity.js';
import { BOOKINGS_READ_SCOPE } from './sync.js';

/**
 * The booking subgraph's scope for changes the pms service makes on behalf of a signed vendor webhook
 * (subgraphs/booking/src/permissions.ts `PMS_WEBHOOK_SCOPE`): cancelBooking only, for the hotel the
 * token names; booking marks the audit event `source: 'pms-webhook'`.
 */
export const BOOKINGS_PMS_WEBHOOK_SCOPE = 'bookings:pms-webhook';

export interface BookingSnapshot {
  id: string;
  reference: string;
  status: string;
  hotelId: string;
}

export type CancelOutcome = { kind: 'APPLIED'; booking: BookingSnapshot } | { kind: 'CONFLICT'; status: string | null };

const SNAPSHOT = 'id reference status hotel { id }';
type RawBooking = { id: string; reference: string; status: string; hotel: { id: string } };
const snapshot = (b: RawBooking): BookingSnapshot => ({ id: b.id, reference: b.reference, status: b.status, hotelId: b.hotel.id });


/**
 * pms's door to bookings for webhooks. pms never writes booking.* tables: it asks the booking subgraph
 * (GraphQL over HTTP, its own internal token) to apply the transition, so booking keeps its rules, its
 * audit event and its live event. Every call is made as a service principal narrowed to the hotels the
 * webhook's vendor is connected to: a vendor's secret never reaches another vendor's hotels.
 */
export class WebhookBookings {
  /** `booking`: an EntityClient for the booking subgraph (its `request`: token, timeout, trace, errors). */
  constructor(private readonly booking: EntityClient) {}

  /** The booking by ID or reference, if it is of one of `hotelIds`; null otherwise. */
  async find(target: { bookingId: string } | { reference: string }, hotelIds: string[], correlationId: string): Promise<BookingSnapshot | null> {
    if (hotelIds.length === 0) return null;
    const as = servicePrincipal('pms', [BOOKINGS_READ_SCOPE], hotelIds);
    const answer =
      'bookingId' in target
        ? await this.call<{ booking: RawBooking | null }>(`query WebhookBooking($id: ID!) { booking(id: $id) { ${SNAPSHOT} } }`, { id: target.bookingId }, as, correlationId)
        : await this.call<{ bookingByReference: RawBooking | null }>(
            `query WebhookBookingByReference($reference: String!) { bookingByReference(reference: $reference) { ${SNAPSHOT} } }`,
            { reference: target.reference },
            as,
            correlationId,
          );
    if (answer.errors?.length) throw this.unexpected(answer);
    const found = answer.data && ('booking' in answer.data ? answer.data.booking : answer.data.bookingByReference);
    return found ? snapshot(found) : null;
  }

  /** Cancels through booking's own mutation: its transition rules, audit event and live event apply. */
  async cancel(booking: BookingSnapshot, reason: string, correlationId: string): Promise<CancelOutcome> {
    const as = servicePrincipal('pms', [BOOKINGS_READ_SCOPE, BOOKINGS_PMS_WEBHOOK_SCOPE], [booking.hotelId]);
    const answer = await this.call<{ cancelBooking: RawBooking | null }>(
      `mutation WebhookCancel($id: ID!, $reason: String) { cancelBooking(id: $id, reason: $reason) { ${SNAPSHOT} } }`,
      { id: booking.id, reason },
      as,
      correlationId,
    );
    const conflict = answer.errors?.find((e) => e.extensions?.code === 'CONFLICT');
    if (conflict) return { kind: 'CONFLICT', status: typeof conflict.extensions?.status === 'string' ? conflict.extensions.status : null };
    if (answer.errors?.length || !answer.data?.cancelBooking) throw this.unexpected(answer);
    return { kind: 'APPLIED', booking: snapshot(answer.data.cancelBooking) };
  }

  private call<T>(query: string, variables: Record<string, unknown>, as: Principal, correlationId: string): Promise<PeerAnswer<T>> {
    return this.booking.request<T>(query, variables, correlationId, as);
  }

  /** Anything but data or a state conflict is not the vendor's fault: the delivery fails retryably. */
  private unexpected(answer: PeerAnswer<unknown>): Error {
    const codes = (answer.errors ?? []).map((e) => e.extensions?.code ?? 'UNKNOWN').join(', ');
    return new ServiceUnavailableError(`booking refused the webhook's change (${codes || 'no data'})`, { upstream: 'booking' });
  }
}
