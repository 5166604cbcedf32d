import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { fieldsOf, ROOM_TYPE, type Reservation, type ReservationStore, type VendorStatus } from './store.js';

/**
 * An Opera/OHIP-like REST API. OAuth2 client credentials: `POST /oauth/v1/tokens` (form-encoded
 * `grant_type=client_credentials&client_id&client_secret`) answers a bearer token that expires after
 * `tokenTtlSeconds`; every other call needs `Authorization: Bearer <token>` and answers 401 once it has
 * expired or was revoked. Reservations live under `/rsv/v1/hotels/{hotelCode}`, availability under
 * `/par/v1/hotels/{hotelCode}`. Errors answer `{ type, title, status, detail }` (RFC 7807-style).
 */
const TO_OPERA: Record<VendorStatus, string> = { PENDING: 'Waitlisted', CONFIRMED: 'Reserved', CHECKED_IN: 'InHouse', CHECKED_OUT: 'CheckedOut', CANCELLED: 'Cancelled' };
const FROM_OPERA = Object.fromEntries(Object.entries(TO_OPERA).map(([k, v]) => [v, k])) as Record<string, VendorStatus>;

const tokenBody = z.object({ grant_type: z.literal('client_credentials'), client_id: z.string().min(1), client_secret: z.string().min(1) });
const createBody = z.object({
  reservation: z
    .object({
      externalReference: z.string().min(1).max(100),
      reservationStatus: z.enum(Object.keys(FROM_OPERA) as [string, ...string[]]),
      arrivalDate: z.iso.date(),
      departureDate: z.iso.date(),
      guestName: z.string().trim().min(1).max(200),
    })
    .refine((r) => r.departureDate > r.arrivalDate, { path: ['departureDate'], message: 'must be after arrivalDate' }),
});
const listQuery = z.object({ since: z.iso.datetime({ offset: true }).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });
const availabilityQuery = z.object({ startDate: z.iso.date(), endDate: z.iso.date() }).refine((q) => q.endDate >= q.startDate, { path: ['endDate'], message: 'must not be before startDate' });

const toOpera = (r: Reservation) => ({
  reservationId: r.externalId,
  externalReference: r.reference,
  reservationStatus: TO_OPERA[r.status],
  arrivalDate: r.checkIn,
  departureDate: r.checkOut,
  guestName: r.guestName,
  lastModifyDateTime: r.updatedAt,
});

const problem = (res: Response, status: number, title: string, detail?: string, extra: object = {}) =>
  void res.status(status).json({ type: `https://errors.example.test/${status}`, title, status, ...(detail ? { detail } : {}), ...extra });

export interface OperaApi {
  oauth: express.Router;
  rsv: express.Router;
  par: express.Router;
  /** Every issued token stops working at once (tests: the client must fetch a new one on 401). */
  revokeTokens(): void;
}

export function operaApi(store: ReservationStore, options: { clientSecret: string; tokenTtlSeconds: number; gate: RequestHandler }): OperaApi {
  const tokens = new Map<string, number>(); // token → expiry (ms)

  const oauth = express.Router();
  oauth.post('/v1/tokens', express.urlencoded({ extended: false }), options.gate, (req, res) => {
    const body = tokenBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: 'invalid_request', error_description: fieldsOf(body.error).map((f) => `${f.field}: ${f.message}`).join('; ') });
    if (body.data.client_secret !== options.clientSecret) return void res.status(401).json({ error: 'invalid_client', error_description: 'Client authentication failed' });
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + options.tokenTtlSeconds * 1000);
    res.json({ access_token: token, token_type: 'Bearer', expires_in: options.tokenTtlSeconds });
  });

  const bearer = (req: Request, res: Response, next: NextFunction) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const expiry = token ? tokens.get(token) : undefined;
    if (!expiry || expiry <= Date.now()) return problem(res, 401, 'Unauthorized', token ? 'The access token expired or was revoked' : 'Missing bearer token');
    next();
  };

  const rsv = express.Router();
  rsv.use(bearer, express.json());
  const hotel = '/v1/hotels/:hotelCode';
  rsv.get(`${hotel}/reservations`, options.gate, (req: Request<{ hotelCode: string }>, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return problem(res, 400, 'Bad Request', 'Invalid query', { fields: fieldsOf(query.error) });
    const { since, limit } = query.data;
    // One extra row says whether another page follows.
    const rows = store.list(req.params.hotelCode, since ? Date.parse(since) : undefined, limit + 1);
    const page = rows.slice(0, limit);
    res.json({ reservations: page.map(toOpera), hasMore: rows.length > limit, since: page.at(-1)?.updatedAt ?? since ?? null });
  });
  rsv.post(`${hotel}/reservations`, options.gate, (req: Request<{ hotelCode: string }>, res) => {
    const body = createBody.safeParse(req.body);
    if (!body.success) return problem(res, 400, 'Bad Request', 'Invalid reservation', { fields: fieldsOf(body.error) });
    const r = body.data.reservation;
    const existed = store.get(req.params.hotelCode, r.externalReference) !== undefined;
    const saved = store.upsert(req.params.hotelCode, r.externalReference, { status: FROM_OPERA[r.reservationStatus]!, checkIn: r.arrivalDate, checkOut: r.departureDate, guestName: r.guestName });
    res.status(existed ? 200 : 201).json({ reservation: toOpera(saved) });
  });
  rsv.put(`${hotel}/reservations/:reservationId/cancellations`, options.gate, (req: Request<{ hotelCode: string; reservationId: string }>, res) => {
    const found = store.getById(req.params.hotelCode, req.params.reservationId);
    if (!found) return problem(res, 404, 'Not Found', `Reservation ${req.params.reservationId} was not found`);
    res.json({ reservation: toOpera(store.cancel(req.params.hotelCode, found.reference)!) });
  });

  const par = express.Router();
  par.use(bearer);
  par.get(`${hotel}/availability`, options.gate, (req: Request<{ hotelCode: string }>, res) => {
    const query = availabilityQuery.safeParse(req.query);
    if (!query.success) return problem(res, 400, 'Bad Request', 'Invalid query', { fields: fieldsOf(query.error) });
    const endExclusive = new Date(Date.parse(`${query.data.endDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const nights = store.availability(req.params.hotelCode, query.data.startDate, endExclusive);
    res.json({ hotelCode: req.params.hotelCode, roomTypes: [{ roomType: ROOM_TYPE, availability: nights }] });
  });

  return { oauth, rsv, par, revokeTokens: () => tokens.clear() };
}
