import type { AuditOutbox } from '../../../lib/src/audit-outbox.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { isGranted } from '../../../lib/src/authz.js';
import type { PmsConnection, PmsReservation } from '../../../lib/src/db.js';
import { DateTimeScalar } from '../../../lib/src/scalars.js';
import type { SubgraphContext } from '../../../lib/src/subgraph.js';
import { MANAGE_PMS, mayWatchSync, READ_BOOKING_PMS } from './permissions.js';
import type { PmsLoaders, PmsSync, PmsSyncProgress } from './sync.js';
import type { ConnectPmsInput, PmsConnections, UpdatePmsConnectionInput } from './connections.js';
import { actorOf } from '../../../lib/src/identity.js';
import { topic, type EventBus } from '../../../lib/src/events.js';
import { hotelScope, liveField } from '../../../lib/src/live.js';

export interface PmsContext extends SubgraphContext {
  pms: PmsSync;
  /** Connection settings (connect / update / disable), audited. */
  connections: PmsConnections;
  loaders: PmsLoaders;
  /** Live subscriptions listen here (lib/src/events.ts). */
  events: EventBus;
  /** pms's audit producer (pms.outbox → the audit stream): `audit.record(fact, tx?)`. */
  audit: AuditOutbox;
}
type Ctx = PmsContext;

const callerOf = (ctx: Ctx) => ({ actor: actorOf(ctx.principal), correlationId: ctx.correlationId });

/** Another tenant's connection answers exactly like a hotel without one. */
const connectionOf = (hotelId: string, ctx: Ctx) => (isGranted(ctx.principal, MANAGE_PMS, hotelId) ? ctx.loaders.connectionByHotel.load(hotelId) : null);

export const resolvers: GraphQLResolverMap<Ctx> = {
  DateTime: DateTimeScalar,
  Query: {
    pmsConnection: (_: unknown, { hotelId }: { hotelId: string }, ctx: Ctx) => connectionOf(hotelId, ctx),
  },
  Mutation: {
    syncReservations: (_: unknown, { hotelId }: { hotelId: string }, ctx: Ctx) => ctx.pms.syncReservations(hotelId, ctx.correlationId, ctx.log, actorOf(ctx.principal)),
    connectPms: (_: unknown, { input }: { input: ConnectPmsInput }, ctx: Ctx) => ctx.connections.connect(input, callerOf(ctx)),
    updatePmsConnection: (_: unknown, { input }: { input: UpdatePmsConnectionInput }, ctx: Ctx) => ctx.connections.update(input, callerOf(ctx)),
    disablePmsConnection: (_: unknown, { hotelId }: { hotelId: string }, ctx: Ctx) => ctx.connections.disable(hotelId, callerOf(ctx)),
  },
  Subscription: {
    // Refused (FORBIDDEN / UNAUTHENTICATED) before anything is subscribed; the rules re-check every event.
    pmsSyncProgress: liveField<{ hotelId: string }, PmsSyncProgress, Ctx>({
      authorize: (p, { hotelId }) => mayWatchSync(p, hotelId),
      topic: ({ hotelId }) => topic('pms-sync', hotelScope(hotelId)),
    }),
  },
  Hotel: {
    pmsConnection: (hotel: { id: string }, _: unknown, ctx: Ctx) => connectionOf(hotel.id, ctx),
  },
  Booking: {
    pms: async (booking: { id: string }, _: unknown, ctx: Ctx) => {
      const reservation = await ctx.loaders.reservationByBooking.load(booking.id);
      // Another tenant's booking answers exactly like a booking the PMS never saw.
      if (!reservation || !isGranted(ctx.principal, READ_BOOKING_PMS, reservation.hotelId)) return null;
      const connection = await ctx.loaders.connectionByHotel.load(reservation.hotelId);
      return { ...reservation, stale: ctx.pms.isStale(reservation, connection) };
    },
  },
  BookingPmsStatus: {
    conflict: (r: PmsReservation) =>
      r.conflictAt && { hotelId: r.hotelId, vendorStatus: r.conflictVendorStatus, innkeepStatus: r.conflictInnkeepStatus, detectedAt: r.conflictAt },
  },
  PmsConnection: {
    hotel: (connection: PmsConnection) => ({ __typename: 'Hotel', id: connection.hotelId }),
    stale: (connection: PmsConnection, _: unknown, ctx: Ctx) => ctx.pms.isConnectionStale(connection),
    // Whether credentials exist and their hint: the sealed value itself has no field to leak through.
    credentialsConfigured: (connection: PmsConnection) => connection.credentialsCiphertext !== null,
    pendingSync: async (connection: PmsConnection, _: unknown, ctx: Ctx) => {
      const job = await ctx.loaders.pendingSyncByHotel.load(connection.hotelId);
      return job && { hotelId: job.hotelId, queuedAt: job.createdAt, retryAt: job.nextAttemptAt, attempts: job.attempts, lastError: job.lastError };
    },
  },
};
