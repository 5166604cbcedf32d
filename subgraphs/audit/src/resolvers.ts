import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { GraphQLScalarType } from 'graphql';
import type { AuditEvent } from '../../../lib/src/db.js';
import { DateTimeScalar, JSONScalar } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import type { AuditLoaders, AuditPageArgs, AuditTrail } from './trail.js';

export interface AuditContext extends SubgraphContext {
  trail: AuditTrail;
  loaders: AuditLoaders;
}
type Ctx = AuditContext;

const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  serialize: (value) => String(value),
});

export const resolvers: GraphQLResolverMap<Ctx> = {
  DateTime: DateTimeScalar,
  JSON: JSONScalar,
  BigInt: BigIntScalar,
  Query: {
    auditEvents: (_: unknown, args: AuditPageArgs, ctx: Ctx) => ctx.trail.page(args),
  },
  AuditEvent: {
    __resolveReference: (ref: { id: string }, ctx: Ctx) => ctx.loaders.event.load(ref.id),
    hotel: (event: AuditEvent) => (event.hotelId ? { __typename: 'Hotel', id: event.hotelId } : null),
  },
};
