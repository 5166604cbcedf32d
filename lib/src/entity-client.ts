import { CORRELATION_HEADER } from './correlation.js';
import { postJson, type JsonAnswer } from './json-http.js';
import { inSpan, SpanKind, traceHeaders } from './tracing.js';
import { ServiceUnavailableError, UpstreamTimeoutError } from './errors.js';
import type { Principal } from './identity.js';
import type { InternalTokenSigner } from './internal-token.js';

export interface EntityClientOptions {
  /** The peer subgraph's GraphQL endpoint. */
  url: string;
  /** Name of the peer, for error messages. */
  peer: string;
  /** Who is calling, sent as `apollographql-client-name` so the peer's logs say it. */
  caller: string;
  timeoutMs: number;
  /** Signs the internal token the peer demands (audience: `peer`); its issuer is the calling subgraph. */
  signer: InternalTokenSigner;
  /**
   * Who the calls are made as: a service principal with only the scopes this port needs
   * (lib/src/authz.ts `servicePrincipal`). A call may narrow it further (e.g. to one hotel).
   */
  principal: Principal;
}

/**
 * Reads entities owned by another subgraph the way the gateway does: one `_entities` call with a batch of
 * representations, resolved by the owner's `__resolveReference`. A subgraph never reads another's tables;
 * this is the only door.
 */
export class EntityClient {
  constructor(private readonly options: EntityClientOptions) {}

  async fetch<T>(
    representations: Array<{ __typename: string } & Record<string, unknown>>,
    selection: string,
    correlationId: string,
    as: Principal = this.options.principal,
  ): Promise<Array<T | null>> {
    if (representations.length === 0) return [];
    const query = `query EntityLookup($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`;
    const body = await this.request<{ _entities?: Array<T | null> }>(query, { representations }, correlationId, as, '_entities');
    if (!body.data?._entities) {
      throw new ServiceUnavailableError(`${this.options.peer} answered without entities`, { upstream: this.options.peer });
    }
    return body.data._entities;
  }

  /**
   * One GraphQL operation on the peer, as `as` (a service principal): signed internal token, correlation
   * ID, trace headers, timeout. Transport failures, a refused token and 5xx become coded errors
   * (UPSTREAM_TIMEOUT / SERVICE_UNAVAILABLE); GraphQL errors in the body are the caller's to read.
   */
  async request<T>(query: string, variables: Record<string, unknown>, correlationId: string, as: Principal = this.options.principal, spanName = 'graphql'): Promise<PeerAnswer<T>> {
    // Identity-bound (no cid claim): reused for half its life; the correlation ID travels in its header.
    const token = await this.options.signer.sign(as, this.options.peer, '');
    let response: JsonAnswer;
    try {
      response = await inSpan(
        `POST ${this.options.peer} ${spanName}`,
        { 'peer.service': this.options.peer },
        () =>
          postJson(
            this.options.url,
            {
              'content-type': 'application/json',
              authorization: `Bearer ${token}`,
              [CORRELATION_HEADER]: correlationId,
              'apollographql-client-name': this.options.caller,
              ...traceHeaders(),
            },
            JSON.stringify({ query, variables }),
            AbortSignal.timeout(this.options.timeoutMs),
          ),
        SpanKind.CLIENT,
      );
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new UpstreamTimeoutError(`${this.options.peer} did not answer within ${this.options.timeoutMs} ms`, { upstream: this.options.peer });
      }
      throw new ServiceUnavailableError(`${this.options.peer} is unavailable`, { upstream: this.options.peer });
    }
    const body = response.body as PeerAnswer<T> | null;
    if (response.status === 401) {
      // Not the caller's fault: the services disagree on INTERNAL_TOKEN_SECRET (or clocks drift).
      throw new ServiceUnavailableError(`${this.options.peer} refused our internal token`, { upstream: this.options.peer });
    }
    if (!body || response.status >= 500) {
      throw new ServiceUnavailableError(`${this.options.peer} answered ${response.status}`, { upstream: this.options.peer });
    }
    return body;
  }
}

/** A peer's GraphQL answer: data and/or coded errors. */
export interface PeerAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } & Record<string, unknown> }>;
}
