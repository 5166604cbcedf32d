import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { fieldsOf, ROOM_TYPE, type Reservation, type ReservationStore, type VendorStatus } from './store.js';

/**
 * A Mews-like connector API: every call is a POST under `/api/connector/v1/...` whose JSON body carries
 * `ClientToken` (identifies the integration) and `AccessToken` (the property's grant); a portfolio token
 * names the property with `EnterpriseId(s)`. Errors answer `{ Message }`. Like Mews with a client-side
 * `Identifier`, `reservations/add` keeps one reservation per Identifier, so repeating it is a no-op.
 */
const TO_MEWS: Record<VendorStatus, string> = { PENDING: 'Optional', CONFIRMED: 'Confirmed', CHECKED_IN: 'Started', CHECKED_OUT: 'Processed', CANCELLED: 'Canceled' };
const FROM_MEWS = Object.fromEntries(Object.entries(TO_MEWS).map(([k, v]) => [v, k])) as Record<string, VendorStatus>;

const utcDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString().slice(0, 10));
const addBody = z.object({
  EnterpriseId: z.string().min(1),
  Reservations: z
    .array(
      z
        .object({
          Identifier: z.string().min(1).max(100),
          State: z.enum(Object.keys(FROM_MEWS) as [string, ...string[]]),
          StartUtc: utcDate,
          EndUtc: utcDate,
          CustomerName: z.string().trim().min(1).max(200),
        })
        .refine((r) => r.EndUtc > r.StartUtc, { path: ['EndUtc'], message: 'must be after StartUtc' }),
    )
    .min(1)
    .max(50),
});
const getAllBody = z.object({
  EnterpriseIds: z.array(z.string().min(1)).length(1),
  Limitation: z.object({ Count: z.int().min(1).max(1000), Cursor: z.iso.datetime({ offset: true }).nullish() }),
});
const cancelBody = z.object({ EnterpriseId: z.string().min(1), ReservationIds: z.array(z.string().min(1)).min(1).max(50) });
const availabilityBody = z.object({ EnterpriseId: z.string().min(1), FirstTimeUnitStartUtc: utcDate, LastTimeUnitStartUtc: utcDate });

const toMews = (r: Reservation) => ({
  Id: r.externalId,
  Identifier: r.reference,
  State: TO_MEWS[r.status],
  StartUtc: `${r.checkIn}T00:00:00.000Z`,
  EndUtc: `${r.checkOut}T00:00:00.000Z`,
  CustomerName: r.guestName,
  UpdatedUtc: r.updatedAt,
});

const fail = (res: Response, status: number, message: string, details?: unknown) => void res.status(status).json({ Message: message, ...(details ? { Details: details } : {}) });

/** The property a Mews call is about (fault injection may target it). */
export function mewsPropertyOf(req: Request): string | undefined {
  const body = req.body as { EnterpriseId?: unknown; EnterpriseIds?: unknown } | undefined;
  if (typeof body?.EnterpriseId === 'string') return body.EnterpriseId;
  return Array.isArray(body?.EnterpriseIds) && typeof body.EnterpriseIds[0] === 'string' ? body.EnterpriseIds[0] : undefined;
}

export function mewsApi(store: ReservationStore, options: { accessToken: string; gate: RequestHandler }): express.Router {
  const router = express.Router();
  router.use(express.json());
  // Both tokens are checked before anything else: a wrong token answers 401 whatever the call.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const { ClientToken, AccessToken } = (req.body ?? {}) as Record<string, unknown>;
    if (typeof ClientToken !== 'string' || !ClientToken || AccessToken !== options.accessToken) return fail(res, 401, 'Invalid ClientToken or AccessToken.');
    next();
  });

  router.post('/reservations/getAll', options.gate, (req, res) => {
    const body = getAllBody.safeParse(req.body);
    if (!body.success) return fail(res, 400, 'Invalid request.', fieldsOf(body.error));
    const { Count, Cursor } = body.data.Limitation;
    const page = store.list(body.data.EnterpriseIds[0]!, Cursor ? Date.parse(Cursor) : undefined, Count);
    // The cursor is the last change returned: sent back as Limitation.Cursor it continues after it.
    res.json({ Reservations: page.map(toMews), Cursor: page.at(-1)?.updatedAt ?? Cursor ?? null });
  });

  router.post('/reservations/add', options.gate, (req, res) => {
    const body = addBody.safeParse(req.body);
    if (!body.success) return fail(res, 400, 'Invalid request.', fieldsOf(body.error));
    const saved = body.data.Reservations.map((r) =>
      store.upsert(body.data.EnterpriseId, r.Identifier, { status: FROM_MEWS[r.State]!, checkIn: r.StartUtc, checkOut: r.EndUtc, guestName: r.CustomerName }),
    );
    res.json({ Reservations: saved.map((r) => ({ Identifier: r.reference, Reservation: toMews(r) })) });
  });

  router.post('/reservations/cancel', options.gate, (req, res) => {
    const body = cancelBody.safeParse(req.body);
    if (!body.success) return fail(res, 400, 'Invalid request.', fieldsOf(body.error));
    const found = body.data.ReservationIds.map((id) => store.getById(body.data.EnterpriseId, id));
    const missing = body.data.ReservationIds.filter((_, i) => !found[i]);
    if (missing.length) return fail(res, 404, `Reservations not found: ${missing.join(', ')}`);
    const cancelled = found.map((r) => store.cancel(body.data.EnterpriseId, r!.reference)!);
    res.json({ Reservations: cancelled.map(toMews) });
  });

  router.post('/services/getAvailability', options.gate, (req, res) => {
    const body = availabilityBody.safeParse(req.body);
    if (!body.success) return fail(res, 400, 'Invalid request.', fieldsOf(body.error));
    const { EnterpriseId, FirstTimeUnitStartUtc: first, LastTimeUnitStartUtc: last } = body.data;
    if (last < first) return fail(res, 400, 'LastTimeUnitStartUtc must not be before FirstTimeUnitStartUtc.');
    const lastExclusive = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const nights = store.availability(EnterpriseId, first, lastExclusive);
    res.json({
      TimeUnitStartsUtc: nights.map((n) => `${n.date}T00:00:00.000Z`),
      CategoryAvailabilities: [{ CategoryId: ROOM_TYPE, Availabilities: nights.map((n) => n.available) }],
    });
  });

  router.use((req, res) => fail(res, 404, `No route for ${req.method} ${req.path}`));
  return router;
}
