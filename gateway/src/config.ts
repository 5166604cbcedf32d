import { z } from 'zod';
import { auditStreamConfigShape, baseConfigShape, databaseConfigShape, envBool, eventsConfigShape, internalAuthConfigShape, parseConfig, rateLimitConfigShape, redisConfigShape } from '../../lib/src/config.js';
import { assertProductionReady } from '../../lib/src/production-guard.js';
import { servicePort, subgraphUrlVar, type SubgraphName } from '../../lib/src/service-config.js';
import { authConfigShape, DEVELOPMENT_KEY_ENCRYPTION_SECRET } from './auth/config.js';
import { subscriptionConfigShape } from './subscriptions/config.js';
import { upstreamConfigShape } from './upstream/config.js';

const SUBGRAPHS: SubgraphName[] = ['hotel', 'booking', 'pms', 'audit'];
const DEVELOPMENT_CORS_ORIGINS = 'http://localhost:4000,http://127.0.0.1:4000,https://sandbox.embed.apollographql.com,https://studio.apollographql.com';

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = parseConfig(
    'gateway',
    {
      ...baseConfigShape,
      ...databaseConfigShape,
      ...redisConfigShape,
      /** Per-field limits, client budgets, login limit (docs/rate-limits.md). */
      ...rateLimitConfigShape,
      ...internalAuthConfigShape,
      ...auditStreamConfigShape,
      /** Hotel-data invalidations for the hotel cache (upstream/hotel-feed.ts). */
      ...eventsConfigShape,
      ...authConfigShape,
      /** Upstream policies: timeouts, deadline, breakers, retries, bulkheads (docs/resilience.md). */
      ...upstreamConfigShape,
      /** graphql-ws on /graphql: limits, buffers, credential re-checks (docs/api.md "Subscriptions"). */
      ...subscriptionConfigShape,
      /** The composed supergraph the gateway serves (`npm run compose` writes it). */
      SUPERGRAPH_FILE: z.string().default('schema/supergraph.graphql'),
      /** Largest accepted request body. */
      BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
      /** Largest signed PMS webhook body passed to the pms subgraph (docs/pms-webhooks.md). */
      PMS_WEBHOOK_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/).default('256kb'),
      /** Send parallel fetches of one request to the same subgraph as one batched HTTP request. */
      SUBGRAPH_BATCHING: envBool(true),
      /** Serve the live operations dashboard at /dashboard (a staged-rollout switch; false answers 404). */
      DASHBOARD_ENABLED: envBool(true),
      /** Browser origins allowed by CORS, comma-separated. Development default: the gateway and Apollo Sandbox. */
      CORS_ORIGINS: z.string().optional(),
      /** Admission limits on every operation (graphql-armor). */
      MAX_QUERY_DEPTH: z.coerce.number().int().min(2).default(12),
      MAX_QUERY_COST: z.coerce.number().int().min(100).default(5000),
      MAX_QUERY_ALIASES: z.coerce.number().int().min(1).default(30),
      MAX_QUERY_TOKENS: z.coerce.number().int().min(100).default(3000),
      MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(1).default(50),
    },
    env,
  );
  // Per-subgraph URL overrides (<NAME>_URL), validated on their own: the rest keeps precise types.
  const overrides = parseConfig('gateway', Object.fromEntries(SUBGRAPHS.map((s) => [subgraphUrlVar(s), z.url().optional()])), env);
  const production = config.NODE_ENV === 'production';
  assertProductionReady('gateway', config, [
    [config.AUTH_KEY_ENCRYPTION_SECRET === DEVELOPMENT_KEY_ENCRYPTION_SECRET, 'AUTH_KEY_ENCRYPTION_SECRET is the development default: set a random secret of at least 32 characters'],
    [!config.CORS_ORIGINS, 'CORS_ORIGINS is not set: list the browser origins allowed to call the API'],
  ]);
  const urlOverrides: Partial<Record<string, string>> = Object.fromEntries(
    SUBGRAPHS.flatMap((s) => (overrides[subgraphUrlVar(s)] ? [[s, overrides[subgraphUrlVar(s)] as string]] : [])),
  );
  const corsOrigins = (config.CORS_ORIGINS ?? (production ? '' : DEVELOPMENT_CORS_ORIGINS)).split(',').map((o) => o.trim()).filter(Boolean);
  return { ...config, port: servicePort('gateway', env), production, urlOverrides, corsOrigins };
}
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
