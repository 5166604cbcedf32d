import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse, type GraphQLSchema } from 'graphql';
import { AppError, ErrorCode } from '../../../lib/src/errors.js';
import { DateTimeScalar } from '../../../lib/src/scalars.js';
import { projectPath } from '../../../lib/src/project-root.js';
import type { ApiKeyService } from '../auth/index.js';
import type { GatewayContext } from '../context.js';

function requireIdentity(ctx: GatewayContext) {
  if (ctx.principal.kind === 'anonymous') throw new AppError(ErrorCode.UNAUTHENTICATED, 'Log in to manage API keys');
  return ctx.principal;
}

/**
 * The identity subgraph, executed in the gateway process (LocalGraphQLDataSource): credentials never
 * leave the component that verifies them. Authorization of each operation lives in ApiKeyService.
 */
export function buildIdentitySchema(apiKeys: ApiKeyService): GraphQLSchema {
  const resolvers: GraphQLResolverMap<GatewayContext> = {
    DateTime: DateTimeScalar,
    Query: {
      me: (_: unknown, __: unknown, ctx: GatewayContext) => ctx.principal,
      apiKeys: (_: unknown, __: unknown, ctx: GatewayContext) => apiKeys.list(requireIdentity(ctx), { correlationId: ctx.correlationId }),
    },
    Mutation: {
      createApiKey: (_: unknown, { input }: { input: { name: string; scopes: string[]; hotelIds: string[]; expiresAt?: Date | null } }, ctx: GatewayContext) =>
        apiKeys.create(input, requireIdentity(ctx), { correlationId: ctx.correlationId }),
      rotateApiKey: (_: unknown, { id }: { id: string }, ctx: GatewayContext) => apiKeys.rotate(id, requireIdentity(ctx), { correlationId: ctx.correlationId }),
      revokeApiKey: (_: unknown, { id }: { id: string }, ctx: GatewayContext) => apiKeys.revoke(id, requireIdentity(ctx), { correlationId: ctx.correlationId }),
    },
  };
  const typeDefs = parse(readFileSync(projectPath('gateway/src/identity/schema.graphql'), 'utf8'));
  return buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<unknown> }]);
}
