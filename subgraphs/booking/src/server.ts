import { z } from 'zod';
import { serviceDatabase } from '../../../lib/src/db.js';
import { EntityClient } from '../../../lib/src/entity-client.js';
import { createLogger } from '../../../lib/src/logger.js';
import { loadSubgraphConfig, subgraphUrl } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { Bookings, createBookingLoaders } from './bookings.js';
import { HotelInventory } from './inventory.js';
import { resolvers, type BookingContext } from './resolvers.js';
import { createServiceAuditOutbox } from '../../../lib/src/audit-stream.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import { bookingVisibility, permissions } from './permissions.js';
import { createEventBus } from '../../../lib/src/events.js';
import { createMetrics } from '../../../lib/src/metrics.js';
import { BookingFeed } from './feed.js';
import { Occupancy } from './occupancy.js';
import { projectPath } from '../../../lib/src/project-root.js';

export const loadBookingConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadSubgraphConfig(
    'booking',
    {
      HOTEL_URL: z.url().default(subgraphUrl('hotel', env)),
      AUDIT_URL: z.url().default(subgraphUrl('audit', env)),
      /** Timeout of booking's reads of rooms and rates from the hotel subgraph. */
      PEER_TIMEOUT_MS: z.coerce.number().int().min(50).default(3000),
    },
    env,
  );
export type BookingConfig = ReturnType<typeof loadBookingConfig>;

export async function start(config: BookingConfig): Promise<RunningService> {
  const logger = createLogger('booking', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'booking', logger);
  // Peer calls carry booking's own service identity, never the caller's.
  const signer = new InternalTokenSigner(config.INTERNAL_TOKEN_SECRET, 'booking', config.INTERNAL_TOKEN_TTL_SECONDS);
  const metrics = createMetrics('booking');
  // Booking audit events: booking.outbox (same transaction as the change) → the audit stream.
  const audit = createServiceAuditOutbox({ config, producer: 'booking', table: 'booking.outbox', pool: db.pool, auditUrl: config.AUDIT_URL, logger, metrics });
  const inventory = new HotelInventory(
    new EntityClient({
      url: config.HOTEL_URL,
      peer: 'hotel',
      caller: 'booking',
      timeoutMs: config.PEER_TIMEOUT_MS,
      signer,
      // Room facts (status, capacity, rate) of any hotel: availability and pricing are public operations.
      principal: servicePrincipal('booking', ['rooms:read']),
    }),
  );
  const events = createEventBus(config, { service: 'booking', logger, metrics });
  const occupancy = new Occupancy({ prisma: db.prisma, inventory });
  const feed = new BookingFeed({ events, occupancy, logger, metrics });
  const bookings = new Bookings({
    prisma: db.prisma,
    transactionOptions: db.transactionOptions,
    inventory,
    audit,
    onChanged: (change) => feed.changed(change),
  });
  audit.start();

  return startSubgraph<BookingContext>(
    {
      name: 'booking',
      schemaFile: projectPath('subgraphs/booking/schema.graphql'),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, bookings, occupancy, events, loaders: createBookingLoaders(db.prisma), visibility: bookingVisibility(base.principal) }),
      // Each writes booking.<state> with the caller as actor, in the change's transaction (bookings.ts).
      auditedMutations: ['createBooking', 'cancelBooking', 'checkIn', 'checkOut'],
    },
    {
      config,
      logger,
      db,
      metrics,
      events,
      audit,
      onStop: async () => {
        await audit.stop();
        await feed.drain();
      },
    },
  );
}
