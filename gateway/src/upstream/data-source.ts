import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { CORRELATION_HEADER } from '../../../lib/src/correlation.js';
import { ServiceUnavailableError } from '../../../lib/src/errors.js';
import type { GatewayContext } from '../context.js';

/**
 * One data source per subgraph: forwards the correlation ID, and turns a transport failure (refused,
 * reset, non-GraphQL answer) into SERVICE_UNAVAILABLE for that subgraph's fields only, so the rest of
 * the query is still served. Breakers, timeouts and retries come with the resilience work.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(readonly subgraph: string, url: string) {
    super({ url });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const correlationId = (context as Partial<GatewayContext>).correlationId;
    if (correlationId) request.http?.headers.set(CORRELATION_HEADER, correlationId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    try {
      return await super.process(options);
    } catch (error) {
      const context = options.context as Partial<GatewayContext>;
      context.log?.warn({ subgraph: this.subgraph, err: error }, 'subgraph fetch failed');
      if (error instanceof GraphQLError && typeof error.extensions?.code === 'string' && error.extensions.code !== 'INTERNAL_SERVER_ERROR') {
        throw error;
      }
      throw new ServiceUnavailableError(`The ${this.subgraph} service is unavailable`, { service: this.subgraph });
    }
  }
}
