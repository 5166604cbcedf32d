/**
 * A signed PMS webhook while the booking subgraph is down (subgraphs/pms/src/webhooks.ts): the vendor is
 * told to retry (503 SERVICE_UNAVAILABLE, reason UPSTREAM_UNAVAILABLE, Retry-After), nothing is recorded
 * (the event ID stays free, the booking is untouched), and the very same delivery is applied once booking
 * is back. Our own pms process points its BOOKING_URL at a port where nothing listens at first; a booking
 * process of our own is started there later. The shared stack is not touched.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { extraPort } from '../setup/state.js';
import { TEST_WEBHOOK_SECRETS } from '../setup/webhook-secrets.js';
import { createOwnHotel, deliverWebhook, eventually, gql, inDays, sql } from '../e2e/support.js';
import { startProcess, type Proc } from './support.js';

const ADMIN = { as: 'admin@innkeep.test' as const };
const [MEWS_SECRET] = TEST_WEBHOOK_SECRETS.mews;

describe('a PMS webhook while the booking service is down', () => {
  const bookingPort = extraPort(49);
  let pms: Proc;
  let booking: Proc | undefined;

  beforeAll(async () => {
    pms = await startProcess(
      'pms',
      extraPort(19),
      { BOOKING_URL: `http://127.0.0.1:${bookingPort}/graphql`, PMS_WEBHOOK_SECRETS: JSON.stringify(TEST_WEBHOOK_SECRETS), PEER_TIMEOUT_MS: '3000' },
      'webhook-chaos-pms',
    );
  });

  afterAll(async () => {
    await booking?.stop();
    await pms?.stop();
  });

  /** One delivery of `event` as the vendor sends it (signed now), straight to our pms process. */
  const deliver = (event: unknown, correlationId: string) => deliverWebhook(pms.url, 'mews', event, { secret: MEWS_SECRET!, correlationId });
  const statusOf = async (id: string) => (await gql<any>(`query($id: ID!) { booking(id: $id) { status } }`, { id }, ADMIN)).data.booking.status;
  const storedEvents = (eventId: string) => sql(`SELECT outcome, booking_id FROM pms.webhook_events WHERE event_id = $1`, [eventId]);

  it('answers 503 with Retry-After and records nothing; the same delivery is applied once booking is back', async () => {
    const tag = randomUUID().slice(0, 8);
    const { hotelId, roomId } = await createOwnHotel(`webhook-outage-${tag}`, { timezone: 'Europe/Zurich', currency: 'CHF' });
    await sql(`INSERT INTO pms.connections (id, hotel_id, vendor, property_code, status, updated_at) VALUES (gen_random_uuid(), $1, 'mews', $2, 'ACTIVE', now())`, [hotelId, `WO-${tag}`]);
    // Booked through the shared stack (its booking subgraph is up).
    const created = await gql<any>(
      `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference } }`,
      { input: { hotelId, roomId, checkIn: inDays(600), checkOut: inDays(601), guest: { name: 'Outage Guest', email: 'outage.guest@example.test' } } },
      ADMIN,
    );
    expect(created.errors).toEqual([]);
    const { id, reference } = created.data.createBooking;
    const event = { id: `evt-${randomUUID()}`, type: 'reservation.cancelled', occurredAt: new Date().toISOString(), data: { bookingReference: reference } };

    const refused = await deliver(event, `webhook-outage-${tag}-1`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'UPSTREAM_UNAVAILABLE', eventId: event.id, service: 'pms' });
    expect(await storedEvents(event.id)).toEqual([]);
    expect(await statusOf(id)).toBe('CONFIRMED');

    booking = await startProcess('booking', bookingPort, {}, 'webhook-chaos-booking');
    // The vendor's retry: the same event (same ID), signed again. pms's peer circuit may still be open for a moment.
    const applied = await eventually(async () => {
      const answer = await deliver(event, `webhook-outage-${tag}-2`);
      return answer.status === 200 ? answer : null;
    }, 20_000);
    expect(applied.body).toMatchObject({ received: true, eventId: event.id, outcome: 'APPLIED' });
    expect(await statusOf(id)).toBe('CANCELLED');
    expect(await storedEvents(event.id)).toEqual([{ outcome: 'APPLIED', booking_id: id }]);
  }, 90_000);
});
