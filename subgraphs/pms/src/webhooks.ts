import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';
import type { AuditOutbox } from '../../../lib/src/audit-outbox.js';
import { sendHttpError } from '../../../lib/src/authz.js';
import type { PrismaClient } from '../../../lib/src/db.js';
import { AppError, ErrorCode, HTTP_STATUS } from '../../../lib/src/errors.js';
import type { BookingSnapshot, WebhookBookings } from './webhook-bookings.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature, type WebhookSecrets } from './webhook-signature.js';

/** The public path vendors post to (the gateway proxies the same path here). */
export const WEBHOOK_PATH = '/webhooks/pms/:vendor';

export interface PmsWebhookOptions {
  prisma: PrismaClient;
  /** Per-vendor secrets (PMS_WEBHOOK_SECRETS); a vendor without secrets is unknown. */
  secrets: WebhookSecrets;
  /** How far the signed timestamp may be from now, either way (PMS_WEBHOOK_TOLERANCE_SECONDS, default 300). */
  toleranceSeconds: number;
  /** Largest body accepted (PMS_WEBHOOK_BODY_LIMIT, e.g. '256kb'). */
  bodyLimit: string;
  /** pms's audit producer: every refusal and every accepted delivery is recorded. */
  audit: AuditOutbox;
  bookings: WebhookBookings;
  /** Longest the booking call inside the replay-guard transaction may take (ms). */
  peerTimeoutMs: number;
}

/** Why a delivery was refused: the audit `details.reason` and the error's `extensions.reason`. */
export type RefusalReason =
  | 'UNKNOWN_VENDOR'
  | 'MISSING_SIGNATURE'
  | 'BAD_SIGNATURE'
  | 'STALE_TIMESTAMP'
  | 'MALFORMED_BODY'
  | 'BODY_TOO_LARGE'
  | 'REPLAYED'
  | 'UNKNOWN_RESERVATION'
  | 'BOOKING_STATE_CONFLICT'
  | 'UPSTREAM_UNAVAILABLE';

const REFUSALS: Record<RefusalReason, { code: ErrorCode; status?: number; message: string }> = {
  UNKNOWN_VENDOR: { code: ErrorCode.UNAUTHENTICATED, message: 'Unknown webhook vendor' },
  MISSING_SIGNATURE: { code: ErrorCode.UNAUTHENTICATED, message: `${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} are required` },
  BAD_SIGNATURE: { code: ErrorCode.UNAUTHENTICATED, message: 'The webhook signature does not match' },
  STALE_TIMESTAMP: { code: ErrorCode.UNAUTHENTICATED, message: 'The webhook timestamp is outside the allowed window' },
  MALFORMED_BODY: { code: ErrorCode.BAD_USER_INPUT, message: 'The webhook body is not a valid event' },
  BODY_TOO_LARGE: { code: ErrorCode.BAD_USER_INPUT, status: 413, message: 'The webhook body is too large' },
  REPLAYED: { code: ErrorCode.CONFLICT, message: 'This event ID was already received' },
  UNKNOWN_RESERVATION: { code: ErrorCode.NOT_FOUND, message: "The event's reservation is not one of this vendor's hotels" },
  BOOKING_STATE_CONFLICT: { code: ErrorCode.CONFLICT, message: 'The booking cannot take this change in its current state' },
  UPSTREAM_UNAVAILABLE: { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The booking service is unavailable; retry later' },
};

class Refusal extends Error {
  constructor(
    readonly reason: RefusalReason,
    readonly facts: { eventId?: string; type?: string; bookingId?: string; hotelId?: string; status?: string | null } = {},
  ) {
    super(reason);
  }
}

/** A plain identifier: safe in logs, audit details and SQL parameters. */
const identifier = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/);

/** The event envelope. Only what we act on is read; PII the vendor may add is never looked at nor kept. */
const webhookEvent = z.object({
  id: identifier,
  type: z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/),
  data: z
    .object({
      /** The reservation's ID at the vendor (pms.reservations.external_id). */
      reservationId: identifier.optional(),
      /** Our booking reference, e.g. IK-7F3K2Q9M. */
      bookingReference: z.string().regex(/^IK-[0-9A-Z]{4,16}$/i).optional(),
    })
    .loose()
    .default({}),
});
type WebhookEvent = z.infer<typeof webhookEvent>;

/** Events that change a booking; any other well-formed, signed event is acknowledged and ignored. */
const HANDLED_TYPES = new Set(['reservation.cancelled']);

type Outcome = 'APPLIED' | 'ALREADY_APPLIED' | 'IGNORED';

/**
 * `POST /webhooks/pms/:vendor` — signed vendor events (docs/pms-webhooks.md). Public (no internal token,
 * no user): a delivery is authentic only by its HMAC signature, fresh only inside the timestamp window, and
 * new only if its event ID was never accepted. Accepted events are recorded in pms.webhook_events in the
 * same transaction as the audit record of their effect; refusals change nothing and are audited.
 */
export function mountPmsWebhooks(app: Express, options: PmsWebhookOptions): void {
  const rawBody = express.raw({ type: () => true, limit: options.bodyLimit });
  // express.raw reports an oversized body as an error: answer it here, audited, in our own shape.
  const readBody = (req: Request, res: Response, next: NextFunction) =>
    rawBody(req, res, (error?: unknown) => {
      if (!error) return next();
      const reason: RefusalReason = (error as { type?: string }).type === 'entity.too.large' ? 'BODY_TOO_LARGE' : 'MALFORMED_BODY';
      void refuse(req, res, options, new Refusal(reason));
    });
  app.post(WEBHOOK_PATH, readBody, (req: Request, res: Response) => void handle(req, res, options));
}

async function handle(req: Request, res: Response, options: PmsWebhookOptions): Promise<void> {
  const vendor = String(req.params.vendor);
  let event: WebhookEvent | undefined;
  try {
    const secrets = Object.hasOwn(options.secrets, vendor) ? options.secrets[vendor] : undefined;
    if (!secrets?.length) throw new Refusal('UNKNOWN_VENDOR');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verdict = verifyWebhookSignature({
      secrets,
      timestamp: headerValue(req, TIMESTAMP_HEADER),
      signature: headerValue(req, SIGNATURE_HEADER),
      rawBody: body,
      toleranceSeconds: options.toleranceSeconds,
    });
    if (!verdict.ok) throw new Refusal(verdict.reason);
    event = parseEvent(body);
    const outcome = await apply(req, vendor, event, verdict.signedAt, options);
    res.status(200).json({ received: true, eventId: event.id, outcome: outcome.outcome, correlationId: req.correlationId });
  } catch (error) {
    if (error instanceof Refusal) return refuse(req, res, options, error);
    if (error instanceof AppError && (error.extensions.code === ErrorCode.SERVICE_UNAVAILABLE || error.extensions.code === ErrorCode.UPSTREAM_TIMEOUT)) {
      req.log.warn({ err: error }, 'pms webhook: booking unavailable');
      // Which delivery to retry: its event ID and type travel with the refusal (answer, audit, log).
      return refuse(req, res, options, new Refusal('UPSTREAM_UNAVAILABLE', event ? { eventId: event.id, type: event.type } : {}));
    }
    req.log.error({ err: error }, 'pms webhook failed');
    sendHttpError(req, res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error', 'pms');
  }
}

function parseEvent(body: Buffer): WebhookEvent {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal('MALFORMED_BODY');
  }
  const parsed = webhookEvent.safeParse(json);
  if (!parsed.success) throw new Refusal('MALFORMED_BODY', typeof (json as { id?: unknown })?.id === 'string' && identifier.safeParse((json as { id: string }).id).success ? { eventId: (json as { id: string }).id } : {});
  if (HANDLED_TYPES.has(parsed.data.type) && !parsed.data.data.reservationId && !parsed.data.data.bookingReference) {
    throw new Refusal('MALFORMED_BODY', { eventId: parsed.data.id, type: parsed.data.type });
  }
  return parsed.data;
}

/**
 * Claims the event ID, applies the effect through booking, records the outcome and its audit event — one
 * transaction. A concurrent delivery of the same ID waits on the unique key and is then refused as
 * REPLAYED; a failed one rolls back and leaves the ID free, so the vendor's retry is processed. The
 * booking change itself is idempotent (an already cancelled booking is ALREADY_APPLIED), so a retry after
 * booking committed but this transaction did not is harmless.
 */
async function apply(req: Request, vendor: string, event: WebhookEvent, signedAt: Date, options: PmsWebhookOptions): Promise<{ outcome: Outcome }> {
  const facts = { eventId: event.id, type: event.type };
  // Cheap early answer for the common replay (outside the transaction); the insert below is the real guard.
  if (await options.prisma.pmsWebhookEvent.findUnique({ where: { vendor_eventId: { vendor, eventId: event.id } }, select: { id: true } })) {
    throw new Refusal('REPLAYED', facts);
  }
  const result = await options.prisma.$transaction(
    async (tx) => {
      const claimed = await tx.pmsWebhookEvent.createMany({
        data: [{ id: uuidv7(), vendor, eventId: event.id, type: event.type, outcome: 'PENDING', signedAt, correlationId: req.correlationId }],
        skipDuplicates: true,
      });
      if (claimed.count === 0) throw new Refusal('REPLAYED', facts);
      const effect = HANDLED_TYPES.has(event.type) ? await cancelBooking(req, vendor, event, options) : { outcome: 'IGNORED' as const, booking: null };
      await tx.pmsWebhookEvent.update({
        where: { vendor_eventId: { vendor, eventId: event.id } },
        data: { outcome: effect.outcome, bookingId: effect.booking?.id ?? null, hotelId: effect.booking?.hotelId ?? null },
      });
      await options.audit.record(
        {
          actor: `pms-vendor:${vendor}`,
          action: effect.outcome === 'IGNORED' ? 'pms.webhook_ignored' : 'pms.webhook_applied',
          resourceType: effect.booking ? 'Booking' : 'PmsWebhook',
          resourceId: effect.booking?.id ?? event.id,
          hotelId: effect.booking?.hotelId ?? null,
          correlationId: req.correlationId,
          details: { vendor, eventId: event.id, type: event.type, outcome: effect.outcome, ...(effect.booking ? { reference: effect.booking.reference } : {}) },
        },
        tx,
      );
      return effect;
    },
    // The booking call runs inside: give it its timeout and some room.
    { timeout: options.peerTimeoutMs * 2 + 2000, maxWait: 5000 },
  );
  options.audit.afterCommit();
  req.log.info({ vendor, eventId: event.id, type: event.type, outcome: result.outcome }, 'pms webhook accepted');
  return result;
}

async function cancelBooking(req: Request, vendor: string, event: WebhookEvent, options: PmsWebhookOptions): Promise<{ outcome: Outcome; booking: BookingSnapshot }> {
  const booking = await findTarget(req, vendor, event, options);
  const facts = { eventId: event.id, type: event.type, bookingId: booking.id, hotelId: booking.hotelId };
  if (booking.status === 'CANCELLED') return { outcome: 'ALREADY_APPLIED', booking };
  const result = await options.bookings.cancel(booking, `Cancelled in the hotel's PMS (${vendor})`, req.correlationId);
  if (result.kind === 'APPLIED') return { outcome: 'APPLIED', booking: result.booking };
  // Lost a race with another cancellation: the state the vendor asked for holds.
  if (result.status === 'CANCELLED') return { outcome: 'ALREADY_APPLIED', booking: { ...booking, status: 'CANCELLED' } };
  throw new Refusal('BOOKING_STATE_CONFLICT', { ...facts, status: result.status ?? booking.status });
}

/**
 * The event's booking, among the hotels connected to this vendor only: by the vendor's reservation ID
 * (pms.reservations.external_id) and/or our booking reference. Both given must name the same booking.
 */
async function findTarget(req: Request, vendor: string, event: WebhookEvent, options: PmsWebhookOptions): Promise<BookingSnapshot> {
  const facts = { eventId: event.id, type: event.type };
  const connections = await options.prisma.pmsConnection.findMany({ where: { vendor, status: { not: 'DISABLED' } }, select: { hotelId: true } });
  const hotelIds = connections.map((c) => c.hotelId);
  const { reservationId, bookingReference } = event.data;
  let bookingId: string | undefined;
  if (reservationId) {
    const reservation = await options.prisma.pmsReservation.findFirst({ where: { externalId: reservationId, hotelId: { in: hotelIds } }, select: { bookingId: true } });
    if (!reservation) throw new Refusal('UNKNOWN_RESERVATION', facts);
    bookingId = reservation.bookingId;
  }
  const booking = await options.bookings.find(bookingId ? { bookingId } : { reference: bookingReference! }, hotelIds, req.correlationId);
  if (!booking || (bookingReference && booking.reference !== bookingReference.toUpperCase())) throw new Refusal('UNKNOWN_RESERVATION', facts);
  return booking;
}

/** Refusals change nothing; each is audited (never the signature, a secret or guest data) and answered. */
async function refuse(req: Request, res: Response, options: PmsWebhookOptions, refusal: Refusal): Promise<void> {
  const vendor = String(req.params.vendor ?? '');
  // An unknown vendor's name is the caller's text: kept only when it is a plain short name.
  const vendorFact = /^[a-z0-9_-]{1,40}$/.test(vendor) ? vendor : '(invalid)';
  const signed = !['UNKNOWN_VENDOR', 'MISSING_SIGNATURE', 'BAD_SIGNATURE', 'BODY_TOO_LARGE'].includes(refusal.reason);
  const { eventId, type, bookingId, hotelId, status } = refusal.facts;
  try {
    await options.audit.record({
      // Only a verified signature makes the vendor the actor; anything else is an anonymous caller.
      actor: signed ? `pms-vendor:${vendorFact}` : 'anonymous',
      action: 'pms.webhook_rejected',
      resourceType: bookingId ? 'Booking' : 'PmsWebhook',
      resourceId: bookingId ?? eventId ?? req.correlationId,
      hotelId: hotelId ?? null,
      correlationId: req.correlationId,
      details: { vendor: vendorFact, reason: refusal.reason, ...(eventId ? { eventId } : {}), ...(type ? { type } : {}), ...(status ? { bookingStatus: status } : {}) },
    });
  } catch (error) {
    // The refusal stands even when its audit record cannot be written; the log keeps the fact.
    req.log.error({ err: error, reason: refusal.reason }, 'pms webhook: refusal not audited');
  }
  req.log.info({ vendor: vendorFact, reason: refusal.reason, eventId }, 'pms webhook refused');
  const { code, status: httpStatus, message } = REFUSALS[refusal.reason];
  if (code === ErrorCode.UNAUTHENTICATED) res.setHeader('WWW-Authenticate', 'InnkeepWebhook realm="pms"');
  if (code === ErrorCode.SERVICE_UNAVAILABLE) res.setHeader('Retry-After', '5');
  sendHttpError(req, res, httpStatus ?? HTTP_STATUS[code], code, message, 'pms', { reason: refusal.reason, ...(eventId ? { eventId } : {}) });
}

const headerValue = (req: Request, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};
