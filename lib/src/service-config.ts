import { z } from 'zod';
import { assertProductionReady } from './production-guard.js';
import { baseConfigShape, databaseConfigShape, auditStreamConfigShape, eventsConfigShape, internalAuthConfigShape, parseConfig, rateLimitConfigShape, redisConfigShape } from './config.js';

/** Default ports (GUIDE §3); each is overridable by its `<NAME>_PORT` variable. */
export const DEFAULT_PORTS = { gateway: 4000, hotel: 4001, booking: 4002, pms: 4003, audit: 4004, vendor: 4010 } as const;
export type SubgraphName = 'hotel' | 'booking' | 'pms' | 'audit';

export function subgraphUrlVar(name: SubgraphName): string {
  return `${name.toUpperCase()}_URL`;
}

/** Where a subgraph is reached: `<NAME>_URL`, else the default local port. */
export function subgraphUrl(name: SubgraphName, env: NodeJS.ProcessEnv = process.env): string {
  return env[subgraphUrlVar(name)] ?? `http://127.0.0.1:${DEFAULT_PORTS[name]}/graphql`;
}

/** Port of a service: `<NAME>_PORT`, else its default. */
export function servicePort(name: keyof typeof DEFAULT_PORTS, env: NodeJS.ProcessEnv = process.env): number {
  const variable = `${name.toUpperCase()}_PORT`;
  return parseConfig(name, { [variable]: z.coerce.number().int().min(0).max(65535).default(DEFAULT_PORTS[name]) }, env)[variable] as number;
}

const subgraphShape = { ...baseConfigShape, ...databaseConfigShape, ...redisConfigShape, ...internalAuthConfigShape, ...rateLimitConfigShape, ...eventsConfigShape, ...auditStreamConfigShape };

/** The configuration every subgraph process parses at start-up, plus its own extra keys. */
export function loadSubgraphConfig<S extends z.ZodRawShape>(name: SubgraphName, extra: S, env: NodeJS.ProcessEnv = process.env) {
  const config = parseConfig(name, { ...subgraphShape, ...extra }, env);
  const common = config as unknown as z.infer<z.ZodObject<typeof subgraphShape>>;
  assertProductionReady(name, common);
  return { ...config, port: servicePort(name, env), production: common.NODE_ENV === 'production' };
}
