import { createClient, type Client } from 'graphql-ws';
import type { Session } from './auth.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveOptions {
  session: Session;
  /** Every change of the connection state, with a short reason for staff where there is one. */
  onState(state: ConnectionState, detail?: string): void;
  /** After every (re)connect: events sent while we were away are gone, so re-read the snapshot. */
  onConnected(): void;
  /** A subscription the gateway refused (GraphQL errors, e.g. FORBIDDEN). */
  onError(message: string): void;
}

interface Subscription {
  query: string;
  variables: Record<string, unknown>;
  next(data: unknown): void;
}

/** graphql-ws close codes the gateway uses (docs/api.md "Subscriptions"). */
const UNAUTHORIZED = 4401;
const FORBIDDEN = 4403;
/** Ours: no pong within PONG_TIMEOUT_MS of a ping, the socket is dead (sleep, Wi-Fi change). */
const PONG_TIMEOUT = 4408;
const PING_EVERY_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;
const MAX_BACKOFF_MS = 30_000;

/** Waits 1, 2, 4, … up to 30 s, plus up to 1 s of jitter so that a restarted gateway is not stampeded. */
async function backoff(retries: number): Promise<void> {
  const ms = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** retries) + Math.random() * 1000;
  await new Promise((resolve) => setTimeout(resolve, ms));
}

const closeCode = (value: unknown): number | undefined =>
  typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number' ? value.code : undefined;

/**
 * The page's one WebSocket to the gateway (graphql-transport-ws on /graphql). It retries for ever with
 * backoff, reports its state, asks for a snapshot after every connect, and survives expired tokens:
 * graphql-ws treats close 4401 as final, so on 4401 we refresh the access token and start a new client
 * with the same subscriptions.
 */
export class LiveConnection {
  private client: Client | null = null;
  private readonly subscriptions: Subscription[] = [];
  private unsubscribers: Array<() => void> = [];
  private closed = false;
  private restarting = false;

  constructor(private readonly options: LiveOptions) {
    window.addEventListener('offline', this.wentOffline);
    window.addEventListener('online', this.cameOnline);
  }

  subscribe(query: string, variables: Record<string, unknown>, next: (data: unknown) => void): void {
    const subscription = { query, variables, next };
    this.subscriptions.push(subscription);
    if (this.client) this.unsubscribers.push(this.start(this.client, subscription));
  }

  /** Opens the socket with every subscription registered so far. */
  connect(): void {
    this.options.onState('connecting');
    this.client = this.createClient();
    this.unsubscribers = this.subscriptions.map((s) => this.start(this.client!, s));
  }

  close(): void {
    this.closed = true;
    window.removeEventListener('offline', this.wentOffline);
    window.removeEventListener('online', this.cameOnline);
    this.dispose();
  }

  private createClient(): Client {
    let pongTimer: ReturnType<typeof setTimeout> | undefined;
    let socket: WebSocket | null = null;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const client = createClient({
      url: `${scheme}://${location.host}/graphql`,
      // Called on every connect: each attempt presents a token that is valid right now.
      connectionParams: async () => ({ authorization: `Bearer ${await this.options.session.token()}` }),
      lazy: false,
      retryAttempts: Infinity,
      retryWait: backoff,
      keepAlive: PING_EVERY_MS,
      onNonLazyError: (error) => this.failed(error),
      on: {
        connecting: (isRetry) => this.options.onState(isRetry ? 'reconnecting' : 'connecting'),
        connected: (ws) => {
          socket = ws as WebSocket;
          this.options.onState('live');
          this.options.onConnected();
        },
        ping: (received) => {
          if (received) return;
          pongTimer = setTimeout(() => {
            if (socket?.readyState === WebSocket.OPEN) socket.close(PONG_TIMEOUT, 'No pong from the gateway');
          }, PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
        closed: (event) => {
          clearTimeout(pongTimer);
          socket = null;
          if (this.closed || this.restarting || client !== this.client) return;
          const code = closeCode(event);
          if (code === FORBIDDEN) return this.stop('Not allowed to watch this hotel (4403).');
          if (code === UNAUTHORIZED) return; // failed() takes it from here
          this.options.onState(navigator.onLine ? 'reconnecting' : 'offline');
        },
      },
    });
    return client;
  }

  private start(client: Client, subscription: Subscription): () => void {
    return client.subscribe(
      { query: subscription.query, variables: subscription.variables },
      {
        next: (result) => {
          if (result.errors?.length) this.options.onError(result.errors.map((e) => e.message).join('; '));
          if (result.data) subscription.next(result.data);
        },
        error: (error) => {
          if (client !== this.client) return;
          if (closeCode(error) !== undefined) this.failed(error);
          else if (Array.isArray(error)) this.options.onError(error.map((e: { message?: string }) => e.message ?? String(e)).join('; '));
          else this.options.onError(error instanceof Error ? error.message : String(error));
        },
        complete: () => undefined,
      },
    );
  }

  /** A close graphql-ws will not retry by itself. 4401: the token expired or was revoked, so refresh. */
  private failed(error: unknown): void {
    if (this.closed || this.restarting) return;
    if (closeCode(error) !== UNAUTHORIZED) return this.stop(`Connection refused (${closeCode(error) ?? String(error)}).`);
    this.restarting = true;
    this.options.onState('reconnecting', 'Renewing your session…');
    this.dispose();
    this.options.session.refresh().then(
      () => {
        this.restarting = false;
        if (!this.closed) this.connect();
      },
      (refreshError: unknown) => {
        this.restarting = false;
        // A refused refresh ends the session (the page returns to the login form); network trouble retries.
        if (this.options.session.signedIn) setTimeout(() => this.failed(error), MAX_BACKOFF_MS / 3);
        else this.stop(refreshError instanceof Error ? refreshError.message : 'Session ended.');
      },
    );
  }

  private stop(detail: string): void {
    this.dispose();
    this.options.onState('offline', detail);
  }

  private dispose(): void {
    const client = this.client;
    this.client = null;
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
    void client?.dispose();
  }

  private readonly wentOffline = (): void => {
    if (this.client) this.options.onState('offline', 'This device is offline.');
  };

  /** Back online: reconnect now rather than at the end of a long backoff. */
  private readonly cameOnline = (): void => {
    if (this.closed || !this.client) return;
    this.dispose();
    this.connect();
  };
}
