import type { Principal } from '../../lib/src/identity.js';
import type { Logger } from '../../lib/src/logger.js';

/** Per-request state at the gateway. */
export interface GatewayContext {
  correlationId: string;
  log: Logger;
  /** The verified caller (JWT or API key), or ANONYMOUS. Upstream it travels only inside internal tokens. */
  principal: Principal;
  /** The client's IP (Express `req.ip`): anonymous callers are budgeted and rate-limited by it; subgraphs get it in the internal token. */
  clientIp?: string;
}
