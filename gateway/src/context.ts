import type { Logger } from '../../lib/src/logger.js';

/** Per-request state at the gateway. Identity joins it with the auth work. */
export interface GatewayContext {
  correlationId: string;
  log: Logger;
}
