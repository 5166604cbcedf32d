/**
 * Wire client for the fake PMS vendor's JSON API (pms-vendor/). Calls run inside a policy per vendor × hotel
 * (vendor-policies.ts), which passes its attempt signal; the client's own timeout stays as a hard safety net.
 */
export interface VendorReservation {
  externalId: string;
  reference: string;
  bookingId: string;
  status: string;
  updatedAt: string;
  version: number;
}

export interface PushReservation {
  bookingId: string;
  status: string;
  checkIn: string;
  checkOut: string;
  guestName: string;
}

/** The vendor could not be reached, timed out, or failed on its side (5xx): retry later. */
export class VendorUnavailableError extends Error {
  override name = 'VendorUnavailableError';
}

/** The vendor understood and refused this one request (4xx): retrying the same will not help. */
export class VendorRejectedError extends Error {
  override name = 'VendorRejectedError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export class VendorClient {
  constructor(private readonly options: { baseUrl: string; apiToken: string; timeoutMs: number }) {}

  /**
   * PUT by our booking reference: the vendor keeps one reservation per reference and a repeat with the same
   * body changes nothing, so this call is idempotent and may be retried.
   */
  async upsertReservation(propertyCode: string, reference: string, body: PushReservation, signal?: AbortSignal): Promise<VendorReservation> {
    const url = new URL(`/v1/properties/${encodeURIComponent(propertyCode)}/reservations/${encodeURIComponent(reference)}`, this.options.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.apiToken}` },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]) : AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : 'unreachable';
      throw new VendorUnavailableError(`PMS vendor ${reason}`);
    }
    if (response.status >= 500) throw new VendorUnavailableError(`PMS vendor answered ${response.status}`);
    const payload = (await response.json().catch(() => null)) as (VendorReservation & { error?: { code?: string; message?: string } }) | null;
    if (!response.ok || !payload) {
      throw new VendorRejectedError(`PMS vendor refused: ${payload?.error?.code ?? response.status}`, response.status);
    }
    return payload;
  }
}
