import { createHash } from 'node:crypto';
import { z } from 'zod';
import { vendorFetch } from './http.js';
import { VendorAuthError, VendorRejectedError, VendorUnavailableError, type NightAvailability, type PmsConnector, type PushReservation, type ReservationPage, type ReservationStatus, type VendorAccount, type VendorReservation } from './types.js';

/**
 * Opera/OHIP-style REST API. OAuth2 client credentials (`{ clientId, clientSecret }` per connection):
 * `POST /oauth/v1/tokens` answers a bearer token with `expires_in`; it is cached per connection and
 * fetched again shortly before it expires, or at once when a call answers 401 (revoked / expired early) —
 * then the call is repeated once. A second 401, or a refused token request, is VendorAuthError.
 */
export const operaCredentials = z.object({ clientId: z.string().min(1).max(200), clientSecret: z.string().min(8).max(500) }).strict();

const TO_OPERA: Record<ReservationStatus, string> = { PENDING: 'Waitlisted', CONFIRMED: 'Reserved', CHECKED_IN: 'InHouse', CHECKED_OUT: 'CheckedOut', CANCELLED: 'Cancelled' };
const FROM_OPERA = Object.fromEntries(Object.entries(TO_OPERA).map(([k, v]) => [v, k])) as Record<string, ReservationStatus>;

const operaReservation = z.object({
  reservationId: z.string(),
  externalReference: z.string(),
  reservationStatus: z.string().refine((s) => s in FROM_OPERA, 'unknown reservationStatus'),
  arrivalDate: z.string(),
  departureDate: z.string(),
  lastModifyDateTime: z.string(),
});
const tokenAnswer = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });
const oneAnswer = z.object({ reservation: operaReservation });
const listAnswer = z.object({ reservations: z.array(operaReservation), hasMore: z.boolean(), since: z.string().nullable() });
const availabilityAnswer = z.object({ roomTypes: z.array(z.object({ roomType: z.string(), availability: z.array(z.object({ date: z.string(), available: z.int() })) })) });

const fromOpera = (r: z.infer<typeof operaReservation>): VendorReservation => ({
  externalId: r.reservationId,
  reference: r.externalReference,
  status: FROM_OPERA[r.reservationStatus]!,
  checkIn: r.arrivalDate,
  checkOut: r.departureDate,
  updatedAt: r.lastModifyDateTime,
});

const detailOf = (body: unknown) => {
  const b = (body ?? {}) as { detail?: unknown; title?: unknown; error?: unknown };
  return [b.detail, b.title, b.error].find((v): v is string => typeof v === 'string');
};

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new VendorUnavailableError(`PMS vendor answered ${what} with an unexpected body`);
  return result.data;
}

interface CachedToken {
  token: string;
  /** When we stop using it (its expiry minus a safety margin), ms. */
  refreshAt: number;
}

export class OperaConnector implements PmsConnector {
  /** Per connection + credentials: changing a connection's secret starts a fresh token. */
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    readonly vendor: string,
    private readonly options: { baseUrl: string; timeoutMs: number; now?: () => number },
  ) {}

  async pushReservation(account: VendorAccount, r: PushReservation, signal?: AbortSignal): Promise<VendorReservation> {
    const body = await this.call(account, 'POST', `/rsv/v1/hotels/${encodeURIComponent(account.propertyCode)}/reservations`, signal, {
      reservation: { externalReference: r.reference, reservationStatus: TO_OPERA[r.status], arrivalDate: r.checkIn, departureDate: r.checkOut, guestName: r.guestName },
    });
    return fromOpera(parse(oneAnswer, body, 'POST reservations').reservation);
  }

  async cancelReservation(account: VendorAccount, externalId: string, signal?: AbortSignal): Promise<VendorReservation> {
    const path = `/rsv/v1/hotels/${encodeURIComponent(account.propertyCode)}/reservations/${encodeURIComponent(externalId)}/cancellations`;
    const body = await this.call(account, 'PUT', path, signal, { reason: 'Cancelled in Innkeep' });
    return fromOpera(parse(oneAnswer, body, 'PUT cancellations').reservation);
  }

  async pullReservations(account: VendorAccount, cursor: string | null, limit: number, signal?: AbortSignal): Promise<ReservationPage> {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor ? { since: cursor } : {}) });
    const body = await this.call(account, 'GET', `/rsv/v1/hotels/${encodeURIComponent(account.propertyCode)}/reservations?${query}`, signal);
    const page = parse(listAnswer, body, 'GET reservations');
    return { reservations: page.reservations.map(fromOpera), cursor: page.since, hasMore: page.hasMore };
  }

  async pullAvailability(account: VendorAccount, from: string, to: string, signal?: AbortSignal): Promise<NightAvailability[]> {
    // Opera's endDate is inclusive: the last night is the one before `to`.
    const endDate = new Date(Date.parse(`${to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const body = await this.call(account, 'GET', `/par/v1/hotels/${encodeURIComponent(account.propertyCode)}/availability?${new URLSearchParams({ startDate: from, endDate })}`, signal);
    return parse(availabilityAnswer, body, 'GET availability').roomTypes.flatMap((t) => t.availability.map((n) => ({ date: n.date, roomType: t.roomType, available: n.available })));
  }

  /** One API call with the cached token; on 401 a fresh token and one more try. */
  private async call(account: VendorAccount, method: 'GET' | 'POST' | 'PUT', path: string, signal?: AbortSignal, payload?: unknown): Promise<unknown> {
    const send = async (token: string) =>
      (
        await vendorFetch(
          { method, url: new URL(path, this.options.baseUrl), headers: { authorization: `Bearer ${token}` }, body: payload, signal, timeoutMs: this.options.timeoutMs, what: `${method} ${path.split('?')[0]}` },
          detailOf,
        )
      ).body;
    const first = await this.token(account, signal);
    try {
      return await send(first.token);
    } catch (error) {
      if (!(error instanceof VendorAuthError)) throw error;
      // Revoked or expired early: a fresh token replaces the cached one, and the call is made once more.
      return send((await this.fetchToken(account, this.keyOf(account), signal)).token);
    }
  }

  private token(account: VendorAccount, signal?: AbortSignal): Promise<CachedToken> {
    const key = this.keyOf(account);
    const now = this.options.now?.() ?? Date.now();
    const cached = this.tokens.get(key);
    if (cached) {
      // A token still being fetched is shared by every caller (one token request per connection).
      return cached.then((t) => (t.refreshAt > now ? t : this.fetchToken(account, key, signal)));
    }
    return this.fetchToken(account, key, signal);
  }

  private fetchToken(account: VendorAccount, key: string, signal?: AbortSignal): Promise<CachedToken> {
    const pending = this.requestToken(account, signal);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return pending;
  }

  private async requestToken(account: VendorAccount, signal?: AbortSignal): Promise<CachedToken> {
    const credentials = operaCredentials.safeParse(account.credentials);
    if (!credentials.success) throw new VendorAuthError('The PMS connection has no valid Opera credentials (clientId, clientSecret)');
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.data.clientId, client_secret: credentials.data.clientSecret });
    let body: unknown;
    try {
      ({ body } = await vendorFetch(
        { method: 'POST', url: new URL('/oauth/v1/tokens', this.options.baseUrl), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form, signal, timeoutMs: this.options.timeoutMs, what: 'POST /oauth/v1/tokens' },
        detailOf,
      ));
    } catch (error) {
      // OAuth answers a refused client with 400 invalid_client as often as with 401.
      if (error instanceof VendorRejectedError) throw new VendorAuthError(`PMS vendor refused the connection's credentials (token request: ${error.message})`);
      throw error;
    }
    const answer = parse(tokenAnswer, body, 'the token request');
    const ttlMs = answer.expires_in * 1000;
    // Renew a little before the vendor would: a minute early, or half the lifetime for short-lived tokens.
    const refreshAt = (this.options.now?.() ?? Date.now()) + ttlMs - Math.min(60_000, ttlMs / 2);
    return { token: answer.access_token, refreshAt };
  }

  private keyOf(account: VendorAccount): string {
    const fingerprint = createHash('sha256').update(`${account.credentials.clientId ?? ''}\0${account.credentials.clientSecret ?? ''}`).digest('base64url').slice(0, 16);
    return `${account.connectionId}:${fingerprint}`;
  }
}
