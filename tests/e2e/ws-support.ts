/**
 * graphql-ws clients for tests: a real WebSocket (ws) to a real gateway, no retries (a test must see every
 * close), and a recorder per subscription that keeps every message it got.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gatewayUrl } from './support.js';

export interface Recorded {
  /** `next` payloads in arrival order. */
  events: Array<{ data?: any; errors?: any[] }>;
  /** An `error` message (refused before any event) or a transport failure. */
  error: unknown;
  completed: boolean;
  /** Stops this subscription (client `complete`). */
  stop(): void;
  /** Resolves with the first event (after those already seen) that matches. */
  waitFor(predicate: (event: { data?: any; errors?: any[] }) => boolean, timeoutMs?: number): Promise<{ data?: any; errors?: any[] }>;
  /** Resolves when the subscription ended (complete or error). */
  ended(timeoutMs?: number): Promise<void>;
}

export interface TestClient {
  client: Client;
  /** Close code and reason of the socket once closed. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves when connection_ack arrived (rejects when the socket closed first). */
  connected: Promise<void>;
  subscribe(query: string, variables?: Record<string, unknown>): Recorded;
  dispose(): Promise<void>;
}

export const wsUrl = (httpGraphqlUrl = gatewayUrl()) => httpGraphqlUrl.replace(/^http/, 'ws');

export function connect(options: { url?: string; token?: string; apiKey?: string; params?: Record<string, unknown> } = {}): TestClient {
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  let resolveConnected!: () => void;
  let rejectConnected!: (e: unknown) => void;
  const connected = new Promise<void>((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  connected.catch(() => undefined);
  const client = createClient({
    url: options.url ?? wsUrl(),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: options.params ?? {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    },
    onNonLazyError: () => undefined,
    on: {
      connected: () => resolveConnected(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        rejectConnected(new Error(`closed ${code} ${reason}`));
        resolveClosed({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    closed,
    connected,
    subscribe(query, variables = {}) {
      const events: Recorded['events'] = [];
      const waiters: Array<() => void> = [];
      const notify = () => waiters.splice(0).forEach((w) => w());
      const recorded: Recorded = {
        events,
        error: undefined,
        completed: false,
        stop: () => unsubscribe(),
        async waitFor(predicate, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          let seen = 0;
          for (;;) {
            for (; seen < events.length; seen++) if (predicate(events[seen]!)) return events[seen]!;
            if (recorded.completed || recorded.error) throw new Error(`subscription ended before the event arrived: ${JSON.stringify({ error: recorded.error, events })}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, Math.min(left, 200));
              waiters.push(() => {
                clearTimeout(t);
                resolve();
              });
            });
          }
        },
        async ended(timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          while (!recorded.completed && !recorded.error) {
            if (Date.now() > deadline) throw new Error(`subscription did not end within ${timeoutMs} ms`);
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      };
      const unsubscribe = client.subscribe(
        { query, variables },
        {
          next: (value) => {
            events.push(value as never);
            notify();
          },
          error: (error) => {
            recorded.error = error;
            notify();
          },
          complete: () => {
            recorded.completed = true;
            notify();
          },
        },
      );
      return recorded;
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}
