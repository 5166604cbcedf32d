import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { inSpan, SpanKind, traceHeaders } from '../../../lib/src/tracing.js';
import type { GraphQLError } from 'graphql';
import { CORRELATION_HEADER } from '../../../lib/src/correlation.js';
import { ServiceUnavailableError, UpstreamTimeoutError } from '../../../lib/src/errors.js';
import { ANONYMOUS } from '../../../lib/src/identity.js';
import type { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import { postJson } from '../../../lib/src/json-http.js';
import { isPolicyError, type Policy } from '../../../lib/src/policies.js';
import type { GatewayContext } from '../context.js';
import type { SharedReads } from './shared-reads.js';

type Options = GraphQLDataSourceProcessOptions<GatewayContext>;
type Response = Awaited<ReturnType<GraphQLDataSource['process']>>;
/** `GraphQLDataSourceRequestKind.INCOMING_OPERATION` (the enum is not exported by the package root). */
const INCOMING_OPERATION = 'incoming operation' as Options['kind'];
interface Pending {
  options: Options;
  resolve(response: Response): void;
  reject(error: unknown): void;
}

export interface SubgraphDataSourceOptions {
  subgraph: string;
  url: string;
  /** Send parallel query fetches of one client request as one batched HTTP request. */
  batching: boolean;
  signer: InternalTokenSigner;
  /** The subgraph's policy (timeout, breaker, bulkhead, retry), built once at start-up (upstream/policies.ts). */
  policy: Policy;
  /** The request's deadline signal, if any (upstream/deadline.ts). */
  deadlineFor(context: unknown): AbortSignal | undefined;
  /** Attempt timeout, for error messages. */
  timeoutMs: number;
  /** In-flight deduplication and / or the answer cache of this subgraph's reads (shared-reads.ts), if on. */
  shared?: SharedReads | undefined;
}

/** A subgraph answered something that is not a GraphQL response (status, body): it counts against it. */
class SubgraphHttpError extends Error {
  override name = 'SubgraphHttpError';
  constructor(subgraph: string, readonly status: number) {
    super(`${subgraph} answered HTTP ${status} without a GraphQL body`);
  }
}

/**
 * One data source per subgraph.
 *  - Signs a short-lived internal token for the caller (audience: this subgraph) and forwards the
 *    correlation ID; the caller's own credentials never travel upstream.
 *  - Every upstream call runs through the subgraph's policy: per-attempt timeout, circuit breaker,
 *    bulkhead, and retries with backoff for queries only (a mutation is never retried: Apollo's
 *    RemoteGraphQLDataSource refuses for the same reason). The request's deadline cancels what is pending.
 *  - Subgraph batching: the query planner often sends several fetches to the same subgraph at the same
 *    time (e.g. `Booking.hotel` and `Booking.room` are two parallel `_entities` fetches). Query fetches of
 *    ONE client request issued in the same turn of the event loop travel as one batched HTTP request
 *    (Apollo Server's `allowBatchedHttpRequests`) — one upstream call under the policy — so the subgraph
 *    also shares its DataLoaders between them. Batches never mix two client requests.
 *  - Failures stay with this subgraph's fields, so the rest of the query is still served: transport
 *    failures and an open circuit / full bulkhead answer SERVICE_UNAVAILABLE, a timeout UPSTREAM_TIMEOUT,
 *    each with `extensions.service` and `reason`.
 */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly queues = new WeakMap<object, Pending[]>();
  readonly subgraph: string;

  constructor(private readonly options: SubgraphDataSourceOptions) {
    this.subgraph = options.subgraph;
  }

  process(options: Options): Promise<Response> {
    const shared = this.options.shared;
    if (!shared) return this.dispatch(options);
    if (options.kind === INCOMING_OPERATION && isQuery(options.request.query)) {
      const { principal = ANONYMOUS } = (options.context ?? {}) as Partial<GatewayContext>;
      return shared.read(shared.keyOf(principal, options.request), () => this.dispatch(options));
    }
    const answer = this.dispatch(options);
    // A write through this replica is seen at once by its next read (other replicas: the invalidation feed).
    if (shared.cached) answer.then(() => shared.invalidate(), () => shared.invalidate());
    return answer;
  }

  private dispatch(options: Options): Promise<Response> {
    if (!this.options.batching || options.kind !== INCOMING_OPERATION || !isQuery(options.request.query)) {
      return this.guarded([options]).then(([response]) => response!);
    }
    const key = options.context as object;
    return new Promise<Response>((resolve, reject) => {
      let queue = this.queues.get(key);
      if (!queue) {
        queue = [];
        this.queues.set(key, queue);
        setImmediate(() => void this.flush(key));
      }
      queue.push({ options, resolve, reject });
    });
  }

  private async flush(key: object): Promise<void> {
    const queue = this.queues.get(key) ?? [];
    this.queues.delete(key);
    try {
      const responses = await this.guarded(queue.map((p) => p.options));
      queue.forEach((p, i) => p.resolve(responses[i]!));
    } catch (error) {
      for (const p of queue) p.reject(error);
    }
  }

  /** One upstream call (a single operation or a batch) under the subgraph's policy. */
  private async guarded(batch: Options[]): Promise<Response[]> {
    const first = batch[0]!;
    const context = first.context as Partial<GatewayContext>;
    const idempotent = batch.every((o) => isQuery(o.request.query));
    try {
      return await this.options.policy.run((signal) => this.send(batch, signal), {
        idempotent,
        signal: first.kind === INCOMING_OPERATION ? this.options.deadlineFor(first.context) : undefined,
        log: context.log,
      });
    } catch (error) {
      throw this.toGraphQLError(error, context);
    }
  }

  private async send(batch: Options[], signal: AbortSignal): Promise<Response[]> {
    const operations = batch.map(({ request }) => ({ query: request.query, variables: request.variables, operationName: request.operationName }));
    const headers = await this.upstreamHeaders(batch[0]!.context);
    const response = await inSpan(
      `POST ${this.subgraph}`,
      { 'peer.service': this.subgraph, 'innkeep.batch_size': batch.length },
      () =>
        postJson(
          this.options.url,
          { 'content-type': 'application/json', ...headers, ...traceHeaders() },
          JSON.stringify(operations.length === 1 ? operations[0] : operations),
          signal,
        ),
      SpanKind.CLIENT,
    );
    const body = response.body as Response | Response[] | null;
    const answers = operations.length === 1 && body && !Array.isArray(body) ? [body] : body;
    if (response.status < 200 || response.status >= 300 || !Array.isArray(answers) || answers.length !== batch.length || !answers.every(isObject)) {
      throw new SubgraphHttpError(this.subgraph, response.status);
    }
    return answers;
  }

  private async upstreamHeaders(context: unknown): Promise<Record<string, string>> {
    const { correlationId = '', principal = ANONYMOUS, clientIp } = (context ?? {}) as Partial<GatewayContext>;
    // Identity-bound, not request-bound: the correlation ID travels in its header, so the signer reuses
    // one token per identity and subgraph for half its life instead of signing one per request.
    const token = await this.options.signer.sign(principal, this.subgraph, '', clientIp ? { clientIp } : {});
    return { authorization: `Bearer ${token}`, ...(correlationId ? { [CORRELATION_HEADER]: correlationId } : {}) };
  }

  /**
   * Any failure — refused, reset, a non-GraphQL answer, or a 401 (the internal-token secrets or clocks
   * disagree: a deployment fault, not the caller's) — is this subgraph's, never the whole request's.
   */
  private toGraphQLError(error: unknown, context: Partial<GatewayContext>): GraphQLError {
    const service = this.subgraph;
    if (isPolicyError(error)) {
      context.log?.[error.reason === 'CIRCUIT_OPEN' ? 'debug' : 'warn']({ subgraph: service, reason: error.reason }, 'subgraph fetch refused or cut short');
      switch (error.reason) {
        case 'CIRCUIT_OPEN':
          return new ServiceUnavailableError(`The ${service} service is unavailable (circuit open); retry shortly`, { service, reason: 'CIRCUIT_OPEN' });
        case 'BULKHEAD_FULL':
          return new ServiceUnavailableError(`The ${service} service is busy; retry shortly`, { service, reason: 'OVERLOADED' });
        case 'TIMEOUT':
          return new UpstreamTimeoutError(`The ${service} service did not answer within ${this.options.timeoutMs} ms`, { service, reason: 'SUBGRAPH_TIMEOUT' });
        case 'DEADLINE':
          return new UpstreamTimeoutError(`The request ran out of time before the ${service} service answered`, { service, reason: 'REQUEST_DEADLINE' });
      }
    }
    context.log?.warn({ subgraph: service, err: error }, 'subgraph fetch failed');
    return new ServiceUnavailableError(`The ${service} service is unavailable`, { service, reason: 'UNREACHABLE' });
  }
}

/** Only reads are batched and retried: mutations keep their one-request-per-step order and run once. */
export const isQuery = (query: string | undefined) => !!query && (query.startsWith('{') || query.startsWith('query'));
const isObject = (value: unknown): value is Response => typeof value === 'object' && value !== null && !Array.isArray(value);
