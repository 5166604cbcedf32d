import { serviceDatabase } from '../../../lib/src/db.js';
import { createLogger } from '../../../lib/src/logger.js';
import { z } from 'zod';
import { loadSubgraphConfig, subgraphUrl } from '../../../lib/src/service-config.js';
import { createServiceAuditOutbox } from '../../../lib/src/audit-stream.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { Catalog, createCatalogLoaders } from './catalog.js';
import { permissions } from './permissions.js';
import { resolvers, type HotelContext } from './resolvers.js';
import { createEventBus, HOTEL_DATA_TOPIC, topic } from '../../../lib/src/events.js';
import { createMetrics } from '../../../lib/src/metrics.js';
import { projectPath } from '../../../lib/src/project-root.js';

export type HotelConfig = ReturnType<typeof loadHotelConfig>;
export const loadHotelConfig = (env: NodeJS.ProcessEnv = process.env) => loadSubgraphConfig('hotel', { AUDIT_URL: z.url().default(subgraphUrl('audit', env)) }, env);

export async function start(config: HotelConfig): Promise<RunningService> {
  const logger = createLogger('hotel', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'hotel', logger);
  const metrics = createMetrics('hotel');
  const events = createEventBus(config, { service: 'hotel', logger, metrics });
  // Room status and catalog changes: hotel.outbox → the audit stream.
  const audit = createServiceAuditOutbox({ config, producer: 'hotel', table: 'hotel.outbox', pool: db.pool, auditUrl: config.AUDIT_URL, logger, metrics });
  // After the write committed: the room row as Room resolves it (roomStatusChanged).
  const catalog = new Catalog(db.prisma, {
    audit,
    transactionOptions: db.transactionOptions,
    onRoomStatusChanged: (room) => void events.publish(topic('room-status', room.hotelId), room),
    // Every gateway drops its cached hotel answers (gateway/src/upstream/hotel-feed.ts).
    onCatalogChanged: () => void events.publish(HOTEL_DATA_TOPIC, {}),
  });
  const running = await startSubgraph<HotelContext>(
    {
      name: 'hotel',
      schemaFile: projectPath('subgraphs/hotel/schema.graphql'),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, catalog, events, loaders: createCatalogLoaders(db.prisma) }),
      // Each writes its own event (catalog.ts); setRoomStatus is not listed: a write of the same status writes none.
      auditedMutations: ['createHotel', 'updateHotel', 'createRoomType', 'updateRoomType', 'createRoom', 'updateRoom'],
    },
    {
      config,
      logger,
      db,
      metrics,
      events,
      audit,
      onStop: () => audit.stop(),
    },
  );
  audit.start();
  return running;
}
