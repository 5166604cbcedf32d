import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { GraphQLScalarType } from 'graphql';
import type { AuditEvent } from '../../../lib/src/db.js';
import { DateTimeScalar, JSONScalar } from '../../../lib/src/scalars.js';
import { hotelsGranted } from '../../../lib/src/authz.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import { isEventVisible, isWatchable, mayWatchAudit, READ_AUDIT } from './permissions.js';
import type { AuditLoaders, AuditPageArgs, AuditTrail } from './trail.js';
import { PLATFORM_SCOPE, topic, type EventBus } from '../../../lib/src/events.js';
import { hotelScope, liveField } from '../../../lib/src/live.js';

export interface AuditContext extends SubgraphContext {
  trail: AuditTrail;
  loaders: AuditLoaders;
  /** Live subscriptions listen here (lib/src/events.ts). */
  events: EventBus;
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
    // Only events of the caller's hotels, whatever the filter asks for.
    auditEvents: (_: unknown, args: AuditPageArgs, ctx: Ctx) => ctx.trail.page(args, hotelsGranted(ctx.principal, READ_AUDIT)),
    auditIntegrity: (_: unknown, { hotelId }: { hotelId?: string | null }, ctx: Ctx) => ctx.trail.verify(hotelId ?? null),
  },
  Subscription: {
    // Refused before anything is subscribed; without hotelId the platform topic, filtered per subscriber.
    auditEventRecorded: liveField<{ hotelId?: string | null }, AuditEvent, Ctx>({
      authorize: (p, { hotelId }) => mayWatchAudit(p, hotelId),
      topic: ({ hotelId }) => topic('audit', hotelId == null ? PLATFORM_SCOPE : hotelScope(hotelId)),
      accept: (event, p, { hotelId }) => hotelId != null || isWatchable(p, event),
    }),
  },
  AuditEvent: {
    __resolveReference: async (ref: { id: string }, ctx: Ctx) => {
      const event = await ctx.loaders.event.load(ref.id);
      return event && isEventVisible(ctx, event) ? event : null;
    },
    hotel: (event: AuditEvent) => (event.hotelId ? { __typename: 'Hotel', id: event.hotelId } : null),
    previousHash: (event: AuditEvent) => event.prevHash,
  },
};
