import type { Principal } from '../../lib/src/identity.js';
import type { Logger } from '../../lib/src/logger.js';

/** Per-request state at the gateway. */
export interface GatewayContext {
  correlationId: string;
  log: Logger;
  /** The verified caller (JWT or API key), or ANONYMOUS. Upstream it travels only inside internal tokens. */
  principal: Principal;
}
