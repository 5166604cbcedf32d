import { z } from 'zod';
import { baseConfigShape, envBool, parseConfig } from '../../lib/src/config.js';
import { createLogger } from '../../lib/src/logger.js';
import { startVendor } from './server.js';

const config = parseConfig('pms-vendor', {
  ...baseConfigShape,
  VENDOR_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
  PMS_VENDOR_TOKEN: z.string().min(1).default('fake-vendor-token'),
  VENDOR_CONTROL: envBool(true),
  /** Lifetime of the Opera-style OAuth2 access tokens it issues (seconds). */
  VENDOR_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
});
const logger = createLogger('pms-vendor', config.LOG_LEVEL);

try {
  const vendor = await startVendor({
    port: config.VENDOR_PORT,
    host: config.HOST,
    apiToken: config.PMS_VENDOR_TOKEN,
    controlEnabled: config.VENDOR_CONTROL,
    tokenTtlSeconds: config.VENDOR_TOKEN_TTL_SECONDS,
    logger,
  });
  logger.info({ url: vendor.url, control: config.VENDOR_CONTROL }, 'fake PMS vendor listening');
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'fake PMS vendor stopping');
    await vendor.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (err) {
  logger.fatal({ err }, 'fake PMS vendor failed to start');
  process.exit(1);
}
