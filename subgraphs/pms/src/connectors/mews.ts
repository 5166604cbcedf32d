import { z } from 'zod';
import { vendorFetch } from './http.js';
import { VendorAuthError, VendorUnavailableError, type NightAvailability, type PmsConnector, type PushReservation, type ReservationPage, type ReservationStatus, type VendorAccount, type VendorReservation } from './types.js';

/**
 * Mews-style connector API: every call is `POST /api/connector/v1/<resource>/<operation>` with
 * `ClientToken` and `AccessToken` in the JSON body (credentials `{ clientToken, accessToken }`), the
 * property named by `EnterpriseId(s)`; dates are UTC instants; errors carry `{ Message }`.
 */
export const mewsCredentials = z.object({ clientToken: z.string().min(8).max(500), accessToken: z.string().min(8).max(500) }).strict();

const TO_MEWS: Record<ReservationStatus, string> = { PENDING: 'Optional', CONFIRMED: 'Confirmed', CHECKED_IN: 'Started', CHECKED_OUT: 'Processed', CANCELLED: 'Canceled' };
const FROM_MEWS = Object.fromEntries(Object.entries(TO_MEWS).map(([k, v]) => [v, k])) as Record<string, ReservationStatus>;

const mewsReservation = z.object({
  Id: z.string(),
  Identifier: z.string(),
  State: z.string().refine((s) => s in FROM_MEWS, 'unknown reservation State'),
  StartUtc: z.string(),
  EndUtc: z.string(),
  UpdatedUtc: z.string(),
});
const addAnswer = z.object({ Reservations: z.array(z.object({ Reservation: mewsReservation })).min(1) });
const cancelAnswer = z.object({ Reservations: z.array(mewsReservation).min(1) });
const getAllAnswer = z.object({ Reservations: z.array(mewsReservation), Cursor: z.string().nullable() });
const availabilityAnswer = z.object({
  TimeUnitStartsUtc: z.array(z.string()),
  CategoryAvailabilities: z.array(z.object({ CategoryId: z.string(), Availabilities: z.array(z.int()) })),
});

const fromMews = (r: z.infer<typeof mewsReservation>): VendorReservation => ({
  externalId: r.Id,
  reference: r.Identifier,
  status: FROM_MEWS[r.State]!,
  checkIn: r.StartUtc.slice(0, 10),
  checkOut: r.EndUtc.slice(0, 10),
  updatedAt: r.UpdatedUtc,
});

const messageOf = (body: unknown) => (body && typeof body === 'object' && typeof (body as { Message?: unknown }).Message === 'string' ? (body as { Message: string }).Message : undefined);

/** A malformed answer is the vendor misbehaving, like a 5xx: the sync waits and retries. */
function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) throw new VendorUnavailableError(`PMS vendor answered ${what} with an unexpected body`);
  return result.data;
}

export class MewsConnector implements PmsConnector {
  constructor(
    readonly vendor: string,
    private readonly options: { baseUrl: string; timeoutMs: number },
  ) {}

  async pushReservation(account: VendorAccount, r: PushReservation, signal?: AbortSignal): Promise<VendorReservation> {
    const body = await this.call(account, 'reservations/add', signal, {
      EnterpriseId: account.propertyCode,
      Reservations: [{ Identifier: r.reference, State: TO_MEWS[r.status], StartUtc: `${r.checkIn}T00:00:00Z`, EndUtc: `${r.checkOut}T00:00:00Z`, CustomerName: r.guestName }],
    });
    return fromMews(parse(addAnswer, body, 'reservations/add').Reservations[0]!.Reservation);
  }

  async cancelReservation(account: VendorAccount, externalId: string, signal?: AbortSignal): Promise<VendorReservation> {
    const body = await this.call(account, 'reservations/cancel', signal, { EnterpriseId: account.propertyCode, ReservationIds: [externalId] });
    return fromMews(parse(cancelAnswer, body, 'reservations/cancel').Reservations[0]!);
  }

  async pullReservations(account: VendorAccount, cursor: string | null, limit: number, signal?: AbortSignal): Promise<ReservationPage> {
    const body = await this.call(account, 'reservations/getAll', signal, { EnterpriseIds: [account.propertyCode], Limitation: { Count: limit, Cursor: cursor } });
    const page = parse(getAllAnswer, body, 'reservations/getAll');
    // Mews says there is more by returning a full page.
    return { reservations: page.Reservations.map(fromMews), cursor: page.Cursor, hasMore: page.Reservations.length >= limit };
  }

  async pullAvailability(account: VendorAccount, from: string, to: string, signal?: AbortSignal): Promise<NightAvailability[]> {
    // Mews counts time units by their start: the last one is the night before `to`.
    const last = new Date(Date.parse(`${to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const body = await this.call(account, 'services/getAvailability', signal, { EnterpriseId: account.propertyCode, FirstTimeUnitStartUtc: `${from}T00:00:00Z`, LastTimeUnitStartUtc: `${last}T00:00:00Z` });
    const answer = parse(availabilityAnswer, body, 'services/getAvailability');
    return answer.CategoryAvailabilities.flatMap((c) => answer.TimeUnitStartsUtc.map((start, i) => ({ date: start.slice(0, 10), roomType: c.CategoryId, available: c.Availabilities[i] ?? 0 })));
  }

  private async call(account: VendorAccount, operation: string, signal: AbortSignal | undefined, payload: Record<string, unknown>): Promise<unknown> {
    const credentials = mewsCredentials.safeParse(account.credentials);
    if (!credentials.success) throw new VendorAuthError('The PMS connection has no valid Mews credentials (clientToken, accessToken)');
    const { clientToken, accessToken } = credentials.data;
    const { body } = await vendorFetch(
      {
        method: 'POST',
        url: new URL(`/api/connector/v1/${operation}`, this.options.baseUrl),
        body: { ClientToken: clientToken, AccessToken: accessToken, ...payload },
        signal,
        timeoutMs: this.options.timeoutMs,
        what: operation,
      },
      messageOf,
    );
    return body;
  }
}
