import { serviceDatabase } from '../../../lib/src/db.js';
import { createLogger } from '../../../lib/src/logger.js';
import { loadSubgraphConfig } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { Catalog, createCatalogLoaders } from './catalog.js';
import { permissions } from './permissions.js';
import { resolvers, type HotelContext } from './resolvers.js';
import { createEventBus, topic } from '../../../lib/src/events.js';
import { createMetrics } from '../../../lib/src/metrics.js';

export type HotelConfig = ReturnType<typeof loadHotelConfig>;
export const loadHotelConfig = (env: NodeJS.ProcessEnv = process.env) => loadSubgraphConfig('hotel', {}, env);

export async function start(config: HotelConfig): Promise<RunningService> {
  const logger = createLogger('hotel', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'hotel', logger);
  const metrics = createMetrics('hotel');
  const events = createEventBus(config, { service: 'hotel', logger, metrics });
  // After the write committed: the room row as Room resolves it (roomStatusChanged).
  const catalog = new Catalog(db.prisma, { onRoomStatusChanged: (room) => void events.publish(topic('room-status', room.hotelId), room) });
  return startSubgraph<HotelContext>(
    {
      name: 'hotel',
      schemaFile: new URL('../schema.graphql', import.meta.url),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, catalog, events, loaders: createCatalogLoaders(db.prisma) }),
    },
    {
      config,
      logger,
      db,
      metrics,
      events,
    },
  );
}
