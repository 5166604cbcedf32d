import { z } from 'zod';
import { serviceDatabase } from '../../../lib/src/db.js';
import { EntityClient } from '../../../lib/src/entity-client.js';
import { createLogger } from '../../../lib/src/logger.js';
import { loadSubgraphConfig, subgraphUrl } from '../../../lib/src/service-config.js';
import { startSubgraph, type RunningService } from '../../../lib/src/subgraph.js';
import { servicePrincipal } from '../../../lib/src/authz.js';
import { InternalTokenSigner } from '../../../lib/src/internal-token.js';
import { permissions } from './permissions.js';
import { resolvers, type PmsContext } from './resolvers.js';
import { BOOKINGS_READ_SCOPE, createPmsLoaders, PmsSync } from './sync.js';
import { VendorClient } from './vendor-client.js';

export const loadPmsConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadSubgraphConfig(
    'pms',
    {
      BOOKING_URL: z.url().default(subgraphUrl('booking', env)),
      PMS_VENDOR_URL: z.url().default('http://127.0.0.1:4010'),
      PMS_VENDOR_TOKEN: z.string().min(8).default('fake-vendor-token'),
      PMS_VENDOR_TIMEOUT_MS: z.coerce.number().int().min(50).default(5000),
      PMS_STALE_AFTER_SECONDS: z.coerce.number().int().min(1).default(900),
      PEER_TIMEOUT_MS: z.coerce.number().int().min(50).default(3000),
    },
    env,
  );
export type PmsConfig = ReturnType<typeof loadPmsConfig>;

export async function start(config: PmsConfig): Promise<RunningService> {
  const logger = createLogger('pms', config.LOG_LEVEL);
  const db = serviceDatabase(config, 'pms', logger);
  const pms = new PmsSync({
    prisma: db.prisma,
    vendor: new VendorClient({ baseUrl: config.PMS_VENDOR_URL, apiToken: config.PMS_VENDOR_TOKEN, timeoutMs: config.PMS_VENDOR_TIMEOUT_MS }),
    bookingsOwner: new EntityClient({
      url: config.BOOKING_URL,
      peer: 'booking',
      caller: 'pms',
      timeoutMs: config.PEER_TIMEOUT_MS,
      signer: new InternalTokenSigner(config.INTERNAL_TOKEN_SECRET, 'pms', config.INTERNAL_TOKEN_TTL_SECONDS),
      // Default identity: no hotel. Each sync narrows it to the hotel it syncs (sync.ts).
      principal: servicePrincipal('pms', [BOOKINGS_READ_SCOPE]),
    }),
    staleAfterMs: config.PMS_STALE_AFTER_SECONDS * 1000,
    logger,
  });
  return startSubgraph<PmsContext>(
    {
      name: 'pms',
      schemaFile: new URL('../schema.graphql', import.meta.url),
      resolvers,
      permissions,
      createContext: (base) => ({ ...base, pms, loaders: createPmsLoaders(db.prisma) }),
    },
    {
      config,
      logger,
      db,
    },
  );
}
