import { z } from 'zod';
import { serviceDatabase } from '../../../lib/src/db.js';
import { EntityClient } from '../../../lib/src/entity-client.js';
import { createLogger } from '../../../lib/src/logger.js';
import { OutboxRelay } from '../../../lib/src/outbox.js';
import { loadSubgraphConfig, subgraphUrl } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { Bookings, createBookingLoaders } from './bookings.js';
import { HotelInventory } from './inventory.js';
import { resolvers, type BookingContext } from './resolvers.js';
import { auditIngestUrl, deliverToAudit } from '../../../lib/src/audit-client.js';

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
  const relay = new OutboxRelay({
    pool: db.pool,
    table: 'booking.outbox',
    logger,
    deliver: (messages) => deliverToAudit(auditIngestUrl(config.AUDIT_URL), messages, 'booking'),
  });
  const inventory = new HotelInventory(
    new EntityClient({ url: config.HOTEL_URL, peer: 'hotel', caller: 'booking', timeoutMs: config.PEER_TIMEOUT_MS }),
  );
  const bookings = new Bookings({ prisma: db.prisma, transactionOptions: db.transactionOptions, inventory, onOutboxWrite: () => relay.kick() });
  relay.start();

  return startSubgraph<BookingContext>(
    {
      name: 'booking',
      schemaFile: new URL('../schema.graphql', import.meta.url),
      resolvers,
      createContext: (base) => ({ ...base, bookings, loaders: createBookingLoaders(db.prisma) }),
    },
    {
      config,
      logger,
      db,
      onStop: () => relay.stop(),
    },
  );
}
