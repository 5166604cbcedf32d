import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { CORRELATION_HEADER } from '../../../lib/src/correlation.js';
import { ANONYMOUS } from '../../../lib/src/identity.js';
import type { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import { ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { GatewayContext } from '../context.js';

type Options = GraphQLDataSourceProcessOptions<GatewayContext>;
/** `GraphQLDataSourceRequestKind.INCOMING_OPERATION` (the enum is not exported by the package root). */
const INCOMING_OPERATION = 'incoming operation' as Options['kind'];
type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;
interface Pending {
  options: Options;
  resolve(response: Response): void;
  reject(error: unknown): void;
}

/**
 * One data source per subgraph.
 *  - Signs a short-lived internal token for the caller (audience: this subgraph) and forwards the
 *    correlation ID; the caller's own credentials never travel upstream.
 *  - Subgraph batching: the query planner often sends several fetches to the same subgraph at the same
 *    time (e.g. `Booking.hotel` and `Booking.room` are two parallel `_entities` fetches). Fetches of ONE
 *    client request issued in the same turn of the event loop travel as one batched HTTP request
 *    (Apollo Server's `allowBatchedHttpRequests`), so the subgraph also shares its DataLoaders between
 *    them. Batches are keyed by the request context: operations of different callers never mix.
 *  - Turns a transport failure (refused, reset, non-GraphQL answer) into SERVICE_UNAVAILABLE for that
 *    subgraph's fields only, so the rest of the query is still served. Breakers, timeouts and retries
 *    come with the resilience work.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly queues = new WeakMap<object, Pending[]>();

  constructor(
    readonly subgraph: string,
    url: string,
    private readonly batching: boolean,
    private readonly signer: InternalTokenSigner,
  ) {
    super({ url });
  }

  override async willSendRequest({ request, context }: Options): Promise<void> {
    for (const [name, value] of Object.entries(await this.upstreamHeaders(context))) request.http?.headers.set(name, value);
  }

  private async upstreamHeaders(context: unknown): Promise<Record<string, string>> {
    const { correlationId = '', principal = ANONYMOUS } = context as Partial<GatewayContext>;
    const token = await this.signer.sign(principal, this.subgraph, correlationId);
    return { authorization: `Bearer ${token}`, ...(correlationId ? { [CORRELATION_HEADER]: correlationId } : {}) };
  }

  override process(options: Options): Promise<Response> {
    if (!this.batching || options.kind !== INCOMING_OPERATION || !isQuery(options.request.query)) {
      return this.processOne(options);
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
    if (queue.length === 1) {
      const [only] = queue;
      return this.processOne(only!.options).then(only!.resolve, only!.reject);
    }
    try {
      const responses = await this.sendBatch(queue.map((p) => p.options));
      queue.forEach((p, i) => p.resolve(responses[i]!));
    } catch (error) {
      const mapped = this.unavailable(error, queue[0]!.options);
      for (const p of queue) p.reject(mapped);
    }
  }

  private async sendBatch(batch: Options[]): Promise<Response[]> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await this.upstreamHeaders(batch[0]!.context)) },
      body: JSON.stringify(batch.map(({ request }) => ({ query: request.query, variables: request.variables, operationName: request.operationName }))),
    });
    const body = (await response.json().catch(() => null)) as Response[] | null;
    if (!response.ok || !Array.isArray(body) || body.length !== batch.length) {
      throw new Error(`batched request answered ${response.status}`);
    }
    return body;
  }

  private async processOne(options: Options): Promise<Response> {
    try {
      return await super.process(options);
    } catch (error) {
      throw this.unavailable(error, options);
    }
  }

  /**
   * Any transport failure — refused, reset, a non-GraphQL answer, or a 401 (the internal-token secrets or
   * clocks disagree: a deployment fault, not the caller's) — is SERVICE_UNAVAILABLE for this subgraph.
   */
  private unavailable(error: unknown, options: Options): GraphQLError {
    (options.context as Partial<GatewayContext>).log?.warn({ subgraph: this.subgraph, err: error }, 'subgraph fetch failed');
    return new ServiceUnavailableError(`The ${this.subgraph} service is unavailable`, { service: this.subgraph });
  }
}

/** Only reads are batched: mutations keep their one-request-per-step order. */
const isQuery = (query: string | undefined) => !!query && (query.startsWith('{') || query.startsWith('query'));
