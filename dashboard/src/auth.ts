/**
 * The signed-in session, against the gateway's JSON API (POST /auth/login, /auth/refresh, /auth/logout).
 *
 * Where the tokens live, and why:
 * - the access token (short-lived, 15 min by default) only in memory: no other script, tab or disk sees it;
 * - the refresh token in sessionStorage, so that a reload of this tab keeps the user signed in. It is
 *   per tab and gone when the tab closes; the gateway rotates it on every use and revokes the whole family
 *   when an old one is replayed. A script injected into the page could read it, which the page's CSP
 *   (scripts from this origin only, nothing inline) is there to prevent. An HttpOnly cookie would be
 *   safer still, but /auth/* is a bearer-token JSON API without cookies (and so without CSRF exposure).
 */
const REFRESH_KEY = 'innkeep.dashboard.refreshToken';
/** Refresh this long before expiry, so a token never expires between "checked" and "used". */
const EXPIRY_MARGIN_MS = 30_000;

interface TokenResponse {
  accessToken: string;
  expiresIn: number;
  refreshToken?: string;
}

/** A refusal the user should read (bad password, session ended); other failures stay Errors. */
export class AuthError extends Error {}

export class Session {
  private accessToken: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<string> | null = null;

  /** Called once the session is gone (logout, or a refresh the gateway refused). */
  constructor(private readonly onSignedOut: (reason: string) => void) {}

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  async login(email: string, password: string): Promise<void> {
    this.accept(await post('/auth/login', { email, password }));
  }

  /** After a reload: a refresh token from this tab's earlier sign-in gives a new access token. */
  async resume(): Promise<boolean> {
    if (!sessionStorage.getItem(REFRESH_KEY)) return false;
    try {
      await this.refresh();
      return true;
    } catch {
      return false;
    }
  }

  /** An access token that is valid for at least EXPIRY_MARGIN_MS more. */
  async token(): Promise<string> {
    if (this.accessToken && Date.now() < this.expiresAt - EXPIRY_MARGIN_MS) return this.accessToken;
    return this.refresh();
  }

  /**
   * A new access token now (e.g. after the socket was closed with 4401). Single flight: the HTTP
   * queries and the socket may all ask at once, and a refresh token is good for one use only.
   */
  refresh(): Promise<string> {
    this.refreshing ??= (async () => {
      const refreshToken = sessionStorage.getItem(REFRESH_KEY);
      if (!refreshToken) throw this.end('Your session has ended: please log in again.');
      try {
        return this.accept(await post('/auth/refresh', { refreshToken }));
      } catch (error) {
        if (error instanceof AuthError) throw this.end('Your session has ended: please log in again.');
        throw error; // network trouble: keep the session, the caller retries
      }
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  async logout(): Promise<void> {
    const token = this.accessToken;
    const refreshToken = sessionStorage.getItem(REFRESH_KEY) ?? undefined;
    try {
      // Revokes the access token and the refresh family at the gateway; we forget them either way.
      if (token) await post('/auth/logout', refreshToken ? { refreshToken } : {}, token);
    } finally {
      this.end('You are logged out.', true);
    }
  }

  private accept(response: TokenResponse): string {
    this.accessToken = response.accessToken;
    this.expiresAt = Date.now() + response.expiresIn * 1000;
    if (response.refreshToken) sessionStorage.setItem(REFRESH_KEY, response.refreshToken);
    return response.accessToken;
  }

  /** Forgets both tokens; tells the page when a signed-in session ended (or always, on logout). */
  private end(reason: string, always = false): AuthError {
    const wasSignedIn = this.accessToken !== null;
    this.accessToken = null;
    this.expiresAt = 0;
    sessionStorage.removeItem(REFRESH_KEY);
    if (wasSignedIn || always) this.onSignedOut(reason);
    return new AuthError(reason);
  }
}

async function post(path: string, body: unknown, bearer?: string): Promise<TokenResponse> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { errors?: Array<{ message: string }> };
  if (response.status === 400 || response.status === 401) throw new AuthError(json.errors?.[0]?.message ?? 'Login refused');
  if (response.status === 429) throw new AuthError('Too many attempts: wait a minute and try again.');
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return json as TokenResponse;
}
