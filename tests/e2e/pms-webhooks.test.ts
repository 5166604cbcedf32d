/**
 * Signed PMS webhooks (issue 6, docs/pms-webhooks.md): a vendor posts `POST /webhooks/pms/:vendor` with an
 * HMAC-SHA256 signature over timestamp + raw body. A valid, fresh, new event cancels the booking through
 * the booking subgraph (its rules, its audit event, its live event); a bad signature, a stale timestamp,
 * a replayed event ID, an unknown vendor or a malformed body is refused, audited, and changes nothing —
 * through the public gateway and directly at the pms subgraph (which needs no internal token here).
 */
import { randomUUID } from 'node:crypto';
import { signWebhook } from '../../subgraphs/pms/src/webhook-signature.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TEST_WEBHOOK_SECRETS } from '../setup/webhook-secrets.js';
import { createOwnHotel, deliverWebhook, env, eventually, gatewayUrl, gql, inDays, sql, tokenFor, type DeliveryOptions, type WebhookDelivery } from './support.js';
import { connect, type TestClient } from './ws-support.js';

const tag = randomUUID().slice(0, 8);
const ADMIN = { as: 'admin@innkeep.test' as const };
const [MEWS_CURRENT, MEWS_PREVIOUS] = TEST_WEBHOOK_SECRETS.mews;
const [OPERA_CURRENT] = TEST_WEBHOOK_SECRETS.opera;

/** Where a vendor can post: the public gateway, or the pms subgraph itself (no internal token). */
const TARGETS = {
  gateway: () => gatewayUrl().replace(/\/graphql$/, ''),
  pms: () => env('INNKEEP_PMS_URL').replace(/\/graphql$/, ''),
};
type Target = keyof typeof TARGETS;

/** One delivery as a vendor sends it (tests/e2e/support.ts deliverWebhook), to the gateway or to pms itself. */
const deliver = (target: Target, vendor: string, payload: unknown, options: DeliveryOptions = {}) =>
  deliverWebhook(TARGETS[target](), vendor, payload, { secret: MEWS_CURRENT!, ...options });

const cancelled = (reservation: { bookingReference?: string; reservationId?: string }, id = `evt-${randomUUID()}`) => ({
  id,
  type: 'reservation.cancelled',
  occurredAt: new Date().toISOString(),
  data: { ...reservation, guest: { name: 'Never Stored', email: 'never.stored@example.test' } },
});

interface AuditRow {
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  hotel_id: string | null;
  correlation_id: string;
  details: Record<string, any>;
}
/** The audit event with this correlation ID and action, once pms's (or booking's) relay delivered it. */
const auditOf = (correlationId: string, action: string) =>
  eventually(
    async () =>
      (await sql<AuditRow>(`SELECT actor, action, resource_type, resource_id, hotel_id, correlation_id, details FROM audit.events WHERE correlation_id = $1 AND action = $2`, [correlationId, action]))[0],
    15_000,
  );

const statusOf = async (bookingId: string) => (await gql<any>(`query($id: ID!) { booking(id: $id) { status cancelReason } }`, { id: bookingId }, ADMIN)).data.booking;
const storedEvents = async (eventId: string) => sql(`SELECT vendor, outcome, booking_id FROM pms.webhook_events WHERE event_id = $1`, [eventId]);

let mewsHotel: string;
let operaHotel: string;
let mewsRoom: string;
let operaRoom: string;
let day = 500;

/** A CONFIRMED booking of our own (never a seeded room), known to the hotel's PMS as `externalId`. */
async function bookingAt(hotel: 'mews' | 'opera'): Promise<{ id: string; reference: string; externalId: string; hotelId: string }> {
  const hotelId = hotel === 'mews' ? mewsHotel : operaHotel;
  day += 2;
  const answer = await gql<any>(
    `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference status } }`,
    { input: { hotelId, roomId: hotel === 'mews' ? mewsRoom : operaRoom, checkIn: inDays(day), checkOut: inDays(day + 1), guest: { name: 'Webhook Guest', email: 'webhook.guest@example.test' } } },
    ADMIN,
  );
  expect(answer.errors).toEqual([]);
  const booking = answer.data.createBooking;
  const externalId = `${hotel.toUpperCase()}-RES-${randomUUID().slice(0, 12)}`;
  // What a sync would have recorded: the reservation's ID at the vendor.
  await sql(`INSERT INTO pms.reservations (booking_id, hotel_id, external_id, sync_status, synced_at, updated_at) VALUES ($1, $2, $3, 'SYNCED', now(), now())`, [booking.id, hotelId, externalId]);
  return { id: booking.id, reference: booking.reference, externalId, hotelId };
}

async function hotelConnectedTo(vendor: 'mews' | 'opera'): Promise<{ hotelId: string; roomId: string }> {
  const { hotelId, roomId } = await createOwnHotel(`webhooks-${vendor}-${tag}`, { currency: 'CHF', timezone: 'Europe/Zurich', baseRateMinor: 20000 });
  // Webhooks need no vendor credentials: the connection row is provisioned directly (connectPms would ask for them).
  await sql(`INSERT INTO pms.connections (id, hotel_id, vendor, property_code, status, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, 'ACTIVE', now())`, [hotelId, vendor, `WH-${tag}`]);
  return { hotelId, roomId };
}

beforeAll(async () => {
  ({ hotelId: mewsHotel, roomId: mewsRoom } = await hotelConnectedTo('mews'));
  ({ hotelId: operaHotel, roomId: operaRoom } = await hotelConnectedTo('opera'));
}, 30_000);

describe('a valid signed event is applied', () => {
  let ws: TestClient;
  beforeAll(async () => {
    ws = connect({ token: await tokenFor('admin@innkeep.test') });
    await ws.connected;
  });
  afterAll(async () => ws.dispose());

  it('through the gateway: reservation.cancelled by booking reference cancels the booking, publishes bookingChanged, and audits both sides', async () => {
    const booking = await bookingAt('mews');
    const feed = ws.subscribe(`subscription($h: ID!) { bookingChanged(hotelId: $h) { type booking { id status } } }`, { h: mewsHotel });
    await new Promise((r) => setTimeout(r, 300)); // let the subscription reach the booking subgraph
    const cid = `webhook-ok-${randomUUID()}`;
    const event = cancelled({ bookingReference: booking.reference });

    const answer = await deliver('gateway', 'mews', event, { correlationId: cid });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ received: true, eventId: event.id, outcome: 'APPLIED', correlationId: cid });
    expect(answer.headers.get('x-correlation-id')).toBe(cid);
    // The edge hardening applies to the public route too.
    expect(answer.headers.get('strict-transport-security')).toContain('max-age=');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');

    expect(await statusOf(booking.id)).toEqual({ status: 'CANCELLED', cancelReason: "Cancelled in the hotel's PMS (mews)" });
    const live = await feed.waitFor((e) => e.data?.bookingChanged?.booking?.id === booking.id);
    expect(live.data!.bookingChanged).toEqual({ type: 'CANCELLED', booking: { id: booking.id, status: 'CANCELLED' } });
    feed.stop();

    // pms: the accepted delivery; booking: its own transition, made by pms's service principal.
    const applied = await auditOf(cid, 'pms.webhook_applied');
    expect(applied).toMatchObject({ actor: 'pms-vendor:mews', resource_type: 'Booking', resource_id: booking.id, hotel_id: mewsHotel, details: { vendor: 'mews', eventId: event.id, type: 'reservation.cancelled', outcome: 'APPLIED', reference: booking.reference } });
    const transition = await auditOf(cid, 'booking.cancelled');
    expect(transition).toMatchObject({ actor: 'service:pms', resource_id: booking.id, hotel_id: mewsHotel, details: { source: 'pms-webhook', to: 'CANCELLED' } });
    // Never the signature, a secret, or the guest data the vendor sent along.
    const text = JSON.stringify([applied, transition]);
    for (const secret of [MEWS_CURRENT!, MEWS_PREVIOUS!]) expect(text).not.toContain(secret);
    expect(text).not.toContain('never.stored@example.test');
    expect(await storedEvents(event.id)).toEqual([{ vendor: 'mews', outcome: 'APPLIED', booking_id: booking.id }]);

    // Readable through the gateway like every event of the hotel.
    const trail = await gql<any>(`query($h: ID!) { auditEvents(filter: { hotelId: $h, action: "pms.webhook_applied" }) { nodes { actor correlationId details } } }`, { h: mewsHotel }, ADMIN);
    expect(trail.data.auditEvents.nodes).toContainEqual(expect.objectContaining({ actor: 'pms-vendor:mews', correlationId: cid }));
  });

  it('directly at the pms subgraph, without an internal token: by the vendor reservation ID, signed with the previous secret (rotation overlap)', async () => {
    const booking = await bookingAt('mews');
    const cid = `webhook-rot-${randomUUID()}`;
    const raw = JSON.stringify(cancelled({ reservationId: booking.externalId }));
    const ts = Math.floor(Date.now() / 1000);
    // A vendor mid-rotation may send several signatures: one that matches nothing, one with the previous secret.
    const signature = `v1=${signWebhook('not-our-secret-not-our-secret-0000', ts, raw)}, v1=${signWebhook(MEWS_PREVIOUS!, ts, raw)}`;
    const answer = await deliver('pms', 'mews', raw, { timestamp: ts, signature, correlationId: cid });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ outcome: 'APPLIED', correlationId: cid });
    expect((await statusOf(booking.id)).status).toBe('CANCELLED');
    expect(await auditOf(cid, 'booking.cancelled')).toMatchObject({ actor: 'service:pms', details: { source: 'pms-webhook' } });
  });

  it('an event for a booking already in that state answers 200 ALREADY_APPLIED and changes nothing', async () => {
    const booking = await bookingAt('opera');
    const first = await deliver('gateway', 'opera', cancelled({ reservationId: booking.externalId }), { secret: OPERA_CURRENT });
    expect(first.body.outcome).toBe('APPLIED');
    const cid = `webhook-again-${randomUUID()}`;
    const again = await deliver('gateway', 'opera', cancelled({ bookingReference: booking.reference }), { secret: OPERA_CURRENT, correlationId: cid });
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('ALREADY_APPLIED');
    expect(await auditOf(cid, 'pms.webhook_applied')).toMatchObject({ details: { outcome: 'ALREADY_APPLIED' } });
    expect((await sql(`SELECT count(*)::int AS n FROM audit.events WHERE correlation_id = $1 AND action = 'booking.cancelled'`, [cid]))[0]!.n).toBe(0);
  });
});

describe('a valid event the booking cannot take', () => {
  it('cancelling a checked-in booking: 409 BOOKING_STATE_CONFLICT, audited, the booking stays CHECKED_IN, the event ID stays free', async () => {
    const booking = await bookingAt('mews');
    const checkIn = await gql<any>(`mutation($id: ID!) { checkIn(id: $id) { status } }`, { id: booking.id }, ADMIN);
    expect(checkIn.data.checkIn.status).toBe('CHECKED_IN');
    const cid = `webhook-conflict-${randomUUID()}`;
    const event = cancelled({ bookingReference: booking.reference });
    const answer = await deliver('gateway', 'mews', event, { correlationId: cid });
    expect(answer.status).toBe(409);
    expect(answer.body.errors[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'BOOKING_STATE_CONFLICT', eventId: event.id });
    expect(await auditOf(cid, 'pms.webhook_rejected')).toMatchObject({ actor: 'pms-vendor:mews', resource_id: booking.id, hotel_id: mewsHotel, details: { reason: 'BOOKING_STATE_CONFLICT', bookingStatus: 'CHECKED_IN' } });
    expect((await statusOf(booking.id)).status).toBe('CHECKED_IN');
    expect(await storedEvents(event.id)).toEqual([]);
  });
});

describe.each(['gateway', 'pms'] as const)('refused deliveries (%s): audited, nothing changed', (target) => {
  let booking: Awaited<ReturnType<typeof bookingAt>>;
  beforeAll(async () => {
    booking = await bookingAt('mews');
  });

  /** Sends a spoiled delivery; expects the status, the reason in the answer and in the audit trail, and no change. */
  async function expectRefused(send: (cid: string, event: ReturnType<typeof cancelled>) => Promise<WebhookDelivery>, status: number, code: string, reason: string) {
    const cid = `webhook-refused-${reason.toLowerCase()}-${randomUUID()}`;
    const event = cancelled({ bookingReference: booking.reference });
    const answer = await send(cid, event);
    expect(answer.status).toBe(status);
    expect(answer.body.errors[0].extensions).toMatchObject({ code, reason, correlationId: cid, service: 'pms' });
    const audited = await auditOf(cid, 'pms.webhook_rejected');
    expect(audited.details).toMatchObject({ reason });
    expect(audited.correlation_id).toBe(cid);
    expect(JSON.stringify(audited)).not.toMatch(/never\.stored|secret/);
    expect(await statusOf(booking.id)).toEqual({ status: 'CONFIRMED', cancelReason: null });
    expect(await storedEvents(event.id)).toEqual([]);
    return { answer, audited };
  }

  it('a bad signature: 401 BAD_SIGNATURE', async () => {
    const { answer, audited } = await expectRefused((cid, e) => deliver(target, 'mews', e, { secret: 'a-guessed-secret-a-guessed-secret-000', correlationId: cid }), 401, 'UNAUTHENTICATED', 'BAD_SIGNATURE');
    expect(answer.headers.get('www-authenticate')).toContain('InnkeepWebhook');
    expect(audited.actor).toBe('anonymous');
  });

  it('a body changed after signing: 401 BAD_SIGNATURE', async () => {
    await expectRefused(
      (cid, e) => {
        const ts = Math.floor(Date.now() / 1000);
        const signature = `v1=${signWebhook(MEWS_CURRENT!, ts, JSON.stringify({ ...e, type: 'reservation.modified' }))}`;
        return deliver(target, 'mews', e, { timestamp: ts, signature, correlationId: cid });
      },
      401,
      'UNAUTHENTICATED',
      'BAD_SIGNATURE',
    );
  });

  it('no signature headers: 401 MISSING_SIGNATURE', async () => {
    await expectRefused((cid, e) => deliver(target, 'mews', e, { omitHeaders: true, correlationId: cid }), 401, 'UNAUTHENTICATED', 'MISSING_SIGNATURE');
  });

  it('a correctly signed but stale timestamp (6 minutes old, or 6 minutes ahead): 401 STALE_TIMESTAMP', async () => {
    const { audited } = await expectRefused((cid, e) => deliver(target, 'mews', e, { timestamp: Math.floor(Date.now() / 1000) - 360, correlationId: cid }), 401, 'UNAUTHENTICATED', 'STALE_TIMESTAMP');
    expect(audited.actor).toBe('pms-vendor:mews');
    await expectRefused((cid, e) => deliver(target, 'mews', e, { timestamp: Math.floor(Date.now() / 1000) + 360, correlationId: cid }), 401, 'UNAUTHENTICATED', 'STALE_TIMESTAMP');
  });

  it('an unknown vendor: 401 UNKNOWN_VENDOR', async () => {
    const { audited } = await expectRefused((cid, e) => deliver(target, 'acme', e, { correlationId: cid }), 401, 'UNAUTHENTICATED', 'UNKNOWN_VENDOR');
    expect(audited.details.vendor).toBe('acme');
  });

  it('another vendor’s secret for this vendor: 401 BAD_SIGNATURE', async () => {
    await expectRefused((cid, e) => deliver(target, 'mews', e, { secret: OPERA_CURRENT, correlationId: cid }), 401, 'UNAUTHENTICATED', 'BAD_SIGNATURE');
  });

  it('a malformed body, correctly signed (not JSON; no event ID; cancellation without a reservation): 400 MALFORMED_BODY', async () => {
    await expectRefused((cid) => deliver(target, 'mews', '{"id": "evt-1", "type": "reservation.cancelled", ', { correlationId: cid }), 400, 'BAD_USER_INPUT', 'MALFORMED_BODY');
    await expectRefused((cid, e) => deliver(target, 'mews', { type: e.type, data: e.data }, { correlationId: cid }), 400, 'BAD_USER_INPUT', 'MALFORMED_BODY');
    const { audited } = await expectRefused((cid, e) => deliver(target, 'mews', { ...e, data: {} }, { correlationId: cid }), 400, 'BAD_USER_INPUT', 'MALFORMED_BODY');
    expect(audited.details.eventId).toMatch(/^evt-/);
  });

  it('a replayed event ID: 409 REPLAYED, even freshly signed with a new timestamp, and the first event’s effect is all there is', async () => {
    // The ID was first used for an event that changed nothing (an ignored type): a replay must not cancel.
    const eventId = `evt-replay-${randomUUID()}`;
    const first = await deliver(target, 'mews', { id: eventId, type: 'reservation.note_added', data: { bookingReference: booking.reference } });
    expect(first.status).toBe(200);
    expect(first.body.outcome).toBe('IGNORED');
    const { audited } = await expectRefused(
      (cid, e) => deliver(target, 'mews', { ...e, id: eventId }, { timestamp: Math.floor(Date.now() / 1000) + 1, correlationId: cid }),
      409,
      'CONFLICT',
      'REPLAYED',
    );
    expect(audited.details.eventId).toBe(eventId);
    expect(await storedEvents(eventId)).toEqual([{ vendor: 'mews', outcome: 'IGNORED', booking_id: null }]);
  });

  it('the exact same delivery twice (a captured request replayed inside the window): 409 REPLAYED the second time', async () => {
    const other = await bookingAt('mews');
    const raw = JSON.stringify(cancelled({ reservationId: other.externalId }));
    const ts = Math.floor(Date.now() / 1000);
    const signature = `v1=${signWebhook(MEWS_CURRENT!, ts, raw)}`;
    expect((await deliver(target, 'mews', raw, { timestamp: ts, signature })).status).toBe(200);
    const cid = `webhook-replay-${randomUUID()}`;
    const replay = await deliver(target, 'mews', raw, { timestamp: ts, signature, correlationId: cid });
    expect(replay.status).toBe(409);
    expect(replay.body.errors[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'REPLAYED' });
    expect(await auditOf(cid, 'pms.webhook_rejected')).toMatchObject({ details: { reason: 'REPLAYED' } });
    expect((await sql(`SELECT count(*)::int AS n FROM audit.events WHERE correlation_id = $1 AND action = 'booking.cancelled'`, [cid]))[0]!.n).toBe(0);
  });

  it('a valid mews event naming an opera hotel’s booking: 404 UNKNOWN_RESERVATION, that booking unchanged', async () => {
    const foreign = await bookingAt('opera');
    for (const data of [{ bookingReference: foreign.reference }, { reservationId: foreign.externalId }]) {
      const cid = `webhook-foreign-${randomUUID()}`;
      const answer = await deliver(target, 'mews', cancelled(data), { correlationId: cid });
      expect(answer.status).toBe(404);
      expect(answer.body.errors[0].extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'UNKNOWN_RESERVATION' });
      expect(await auditOf(cid, 'pms.webhook_rejected')).toMatchObject({ actor: 'pms-vendor:mews', details: { reason: 'UNKNOWN_RESERVATION' } });
    }
    expect((await statusOf(foreign.id)).status).toBe('CONFIRMED');
  });

  it('a body over the limit: 413', async () => {
    const huge = JSON.stringify({ ...cancelled({ bookingReference: booking.reference }), padding: 'x'.repeat(300 * 1024) });
    const cid = `webhook-huge-${randomUUID()}`;
    const answer = await deliver(target, 'mews', huge, { correlationId: cid });
    expect(answer.status).toBe(413);
    // The gateway refuses it at the edge (it never reaches pms); pms refuses and audits what reaches it.
    if (target === 'pms') expect(await auditOf(cid, 'pms.webhook_rejected')).toMatchObject({ details: { reason: 'BODY_TOO_LARGE' } });
    expect((await statusOf(booking.id)).status).toBe('CONFIRMED');
  });
});

describe('the public route opens nothing else', () => {
  it('other pms routes still need the internal token; other methods on the webhook path too', async () => {
    const graphql = await fetch(`${TARGETS.pms()}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(graphql.status).toBe(401);
    const get = await fetch(`${TARGETS.pms()}/webhooks/pms/mews`);
    expect(get.status).toBe(401);
  });
});
