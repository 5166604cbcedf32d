import { VendorAuthError, VendorRejectedError, VendorUnavailableError } from './types.js';

/**
 * One HTTP call to a vendor with the error mapping every adapter shares: unreachable / timeout / 5xx →
 * VendorUnavailableError (retry later), 401 / 403 → VendorAuthError, any other 4xx → VendorRejectedError.
 * The policy passes its attempt signal; `timeoutMs` stays as a hard safety net when timeouts are off.
 */
export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: URL;
  headers?: Record<string, string>;
  /** JSON-encoded unless it is already a string / URLSearchParams. */
  body?: unknown;
  signal?: AbortSignal;
  timeoutMs: number;
  /** Short words for messages, e.g. "reservations/add": never a token. */
  what: string;
}

export interface VendorResponse {
  status: number;
  body: unknown;
}

/** Performs the call; throws the mapped error for anything but 2xx. */
export async function vendorFetch(request: VendorRequest, describeError: (body: unknown) => string | undefined): Promise<VendorResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  let body: string | URLSearchParams | undefined;
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body instanceof URLSearchParams || typeof request.body === 'string') body = request.body;
  else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers['content-type'] = 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(request.url, { method: request.method, headers, body, signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${request.timeoutMs} ms` : 'unreachable';
    throw new VendorUnavailableError(`PMS vendor ${reason}`);
  }
  const text = await response.text().catch(() => '');
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.status >= 500) throw new VendorUnavailableError(`PMS vendor answered ${response.status}`);
  if (response.status === 401 || response.status === 403) throw new VendorAuthError(`PMS vendor refused the connection's credentials (${request.what}: HTTP ${response.status})`);
  if (!response.ok) {
    const detail = describeError(parsed);
    throw new VendorRejectedError(`PMS vendor refused ${request.what}: ${detail ?? response.status}`, response.status);
  }
  if (parsed === null) throw new VendorUnavailableError(`PMS vendor answered ${response.status} without a JSON body`);
  return { status: response.status, body: parsed };
}
