import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { ExecutionResult } from 'graphql';
import type { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Principal } from '../../../lib/src/identity.js';

/** The gateway itself, as subgraphs see it on the WebSocket connection (each subscription carries its subscriber). */
const GATEWAY_SERVICE: Principal = Object.freeze({ kind: 'service', id: 'gateway', roles: [], hotelIds: [], scopes: [] }) as Principal;

export interface UpstreamSubscription {
  subgraph: string;
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
  /** Whose subscription this is: signed into the subscription's own internal token. */
  principal: Principal;
  correlationId: string;
  clientIp?: string;
}

export interface UpstreamSink {
  next(event: ExecutionResult): void;
  /** The subgraph connection was lost or refused (a transport failure, not a GraphQL answer). */
  error(error: unknown): void;
  complete(): void;
}

/**
 * One graphql-ws connection per subgraph (lazy: opened by the first subscription, closed when the last one
 * ends), multiplexing every upstream subscription of this gateway replica. The connection authenticates
 * the gateway (internal token of `service:gateway` in connection_init); each subscription carries its
 * subscriber's own internal token in `extensions.authorization`, so the subgraph applies its rules to the
 * subscriber, not to the gateway.
 *
 * No automatic re-subscription (`retryAttempts: 0`): graphql-ws's retries resubscribe silently and lose
 * the events of the gap. A lost connection ends the affected subscriptions with SERVICE_UNAVAILABLE
 * (retryable), so clients re-subscribe and re-read their snapshot.
 */
export class SubgraphSubscriptions {
  private readonly clients = new Map<string, Client>();
  private active = 0;

  constructor(
    private readonly options: {
      urlOf(subgraph: string): string | undefined;
      signer: InternalTokenSigner;
      logger: Logger;
      /** Called with +1 / -1 as upstream subscriptions open and close (metrics, tests). */
      onCount?(subgraph: string, delta: number): void;
    },
  ) {}

  subscribe(request: UpstreamSubscription, sink: UpstreamSink): () => void {
    const client = this.clientFor(request.subgraph);
    let open = true;
    this.active += 1;
    this.options.onCount?.(request.subgraph, +1);
    const close = () => {
      if (!open) return;
      open = false;
      this.active -= 1;
      this.options.onCount?.(request.subgraph, -1);
    };
    let unsubscribe: (() => void) | null = null;
    const start = async () => {
      const token = await this.options.signer.sign(request.principal, request.subgraph, request.correlationId, request.clientIp ? { clientIp: request.clientIp } : {});
      if (!open) return;
      unsubscribe = client.subscribe<Record<string, unknown>>(
        {
          query: request.query,
          variables: request.variables,
          ...(request.operationName ? { operationName: request.operationName } : {}),
          extensions: { authorization: `Bearer ${token}` },
        },
        {
          next: (value) => open && sink.next(value as ExecutionResult),
          error: (error) => {
            if (!open) return;
            close();
            // A GraphQL refusal before any event arrives as an array of errors: an answer, not an outage.
            if (Array.isArray(error)) {
              sink.next({ data: null, errors: error } as unknown as ExecutionResult);
              sink.complete();
            } else sink.error(error);
          },
          complete: () => {
            if (!open) return;
            close();
            sink.complete();
          },
        },
      );
    };
    start().catch((error) => {
      close();
      sink.error(error);
    });
    return () => {
      const wasOpen = open;
      close();
      if (wasOpen) unsubscribe?.();
    };
  }

  /** Upstream subscriptions open now (all subgraphs). */
  get count(): number {
    return this.active;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.dispose()));
    this.clients.clear();
  }

  private clientFor(subgraph: string): Client {
    const existing = this.clients.get(subgraph);
    if (existing) return existing;
    const httpUrl = this.options.urlOf(subgraph);
    if (!httpUrl) throw new Error(`no URL for subgraph ${subgraph}`);
    const url = httpUrl.replace(/^http/, 'ws');
    const log = this.options.logger.child({ subgraph, component: 'subscriptions-upstream' });
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 0,
      retryAttempts: 0,
      keepAlive: 10_000,
      connectionParams: async () => ({
        authorization: `Bearer ${await this.options.signer.sign(GATEWAY_SERVICE, subgraph, `ws-${subgraph}`)}`,
      }),
      on: {
        connected: () => log.info('upstream subscription connection open'),
        closed: (event) => log.info({ code: (event as { code?: number }).code }, 'upstream subscription connection closed'),
      },
    });
    this.clients.set(subgraph, client);
    return client;
  }
}
