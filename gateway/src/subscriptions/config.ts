import { z } from 'zod';
import { envBool } from '../../../lib/src/config.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Subscriptions over graphql-ws at the gateway (docs/api.md "Subscriptions", docs/operations.md). Limits
 * are per gateway replica.
 */
export const subscriptionConfigShape = {
  /** Serve graphql-ws on /graphql (staged rollout switch: false = no WebSocket upgrade, HTTP unchanged). */
  SUBSCRIPTIONS_ENABLED: envBool(true),
  /** Open WebSocket connections per client (user, API key, or IP when anonymous) on one gateway replica. */
  WS_MAX_CONNECTIONS_PER_CLIENT: int(1, 10_000).default(20),
  /** Open WebSocket connections on one gateway replica in all. */
  WS_MAX_CONNECTIONS: int(1, 1_000_000).default(20_000),
  /** Active subscriptions on one connection. */
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: int(1, 1000).default(25),
  /** Largest message a client may send (bytes); larger closes the socket with 1009. */
  WS_MAX_MESSAGE_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  /** Time a client has to send connection_init after the upgrade (ms); then 4408. */
  WS_CONNECTION_INIT_TIMEOUT_MS: int(100, 120_000).default(5000),
  /** How often a connection's credential is checked again (revoked token, revoked API key) (ms). */
  WS_AUTH_RECHECK_MS: int(100, 3_600_000).default(15_000),
  /** Server pings every this many ms (dead peers are dropped); 0 = none. */
  WS_KEEPALIVE_MS: int(0, 600_000).default(12_000),
  /** Events waiting for one subscriber; beyond it the subscriber is too slow and its socket is closed (4431). */
  SUBSCRIPTION_BUFFER_EVENTS: int(1, 100_000).default(200),
  /** Bytes queued on one socket (not yet taken by the client's TCP stack); beyond it: slow consumer, 4431. */
  SUBSCRIPTION_MAX_BUFFERED_BYTES: int(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
  /** Events from one upstream subscription waiting for their federated execution; beyond it the shared
   * subscription ends with SERVICE_UNAVAILABLE (OVERLOADED) and its clients re-subscribe. */
  SUBSCRIPTION_UPSTREAM_BACKLOG: int(1, 1_000_000).default(1000),
  /** Time one event's federated execution (the fetches to other subgraphs) may take (ms). */
  SUBSCRIPTION_EVENT_DEADLINE_MS: int(100, 600_000).default(10_000),
};
