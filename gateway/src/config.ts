import { z } from 'zod';
import { baseConfigShape, envBool, parseConfig } from '../../lib/src/config.js';
import { servicePort, subgraphUrlVar, type SubgraphName } from '../../lib/src/service-config.js';

const SUBGRAPHS: SubgraphName[] = ['hotel', 'booking', 'pms', 'audit'];

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = parseConfig(
    'gateway',
    {
      ...baseConfigShape,
      /** The composed supergraph the gateway serves (`npm run compose` writes it). */
      SUPERGRAPH_FILE: z.string().default('schema/supergraph.graphql'),
      /** Largest accepted request body. */
      BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/).default('1mb'),
      /** Send parallel fetches of one request to the same subgraph as one batched HTTP request. */
      SUBGRAPH_BATCHING: envBool(true),
      ...Object.fromEntries(SUBGRAPHS.map((s) => [subgraphUrlVar(s), z.url().optional()])),
    },
    env,
  );
  const urlOverrides: Partial<Record<string, string>> = Object.fromEntries(
    SUBGRAPHS.flatMap((s) => (env[subgraphUrlVar(s)] ? [[s, env[subgraphUrlVar(s)]!]] : [])),
  );
  return { ...config, port: servicePort('gateway', env), production: config.NODE_ENV === 'production', urlOverrides };
}
export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
