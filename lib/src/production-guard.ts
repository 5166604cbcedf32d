import { DEVELOPMENT_INTERNAL_SECRET } from './internal-token.js';

export class ProductionConfigError extends Error {
  constructor(service: string, problems: string[]) {
    super(`${service} refuses to start with NODE_ENV=production:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ProductionConfigError';
  }
}

interface CommonConfig {
  NODE_ENV: string;
  DATABASE_URL?: string;
  REDIS_URL?: string;
  INTERNAL_TOKEN_SECRET?: string;
  SUBGRAPH_ALLOW_DIRECT?: boolean;
}

/**
 * What no production process may run with. Each problem names the variable and how to fix it; all are
 * reported at once. Service-specific checks (signing keys, …) are passed in as `extra`.
 */
export function productionProblems(config: CommonConfig, extra: Array<[broken: boolean, problem: string]> = []): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (!config.DATABASE_URL) problems.push('DATABASE_URL is not set');
  if (!config.REDIS_URL) problems.push('REDIS_URL is not set: production needs Redis over TLS (rediss://) with a password');
  else {
    const redis = new URL(config.REDIS_URL);
    if (redis.protocol !== 'rediss:') problems.push('REDIS_URL must use TLS (rediss://), not redis://');
    if (!redis.password) problems.push('REDIS_URL has no password (rediss://:PASSWORD@host:6380 or rediss://user:PASSWORD@…)');
  }
  if (!config.INTERNAL_TOKEN_SECRET || config.INTERNAL_TOKEN_SECRET === DEVELOPMENT_INTERNAL_SECRET) {
    problems.push('INTERNAL_TOKEN_SECRET is the development default: set a random secret of at least 32 characters, the same in every service');
  }
  if (config.SUBGRAPH_ALLOW_DIRECT) problems.push('SUBGRAPH_ALLOW_DIRECT=true is for local debugging only and is refused in production');
  for (const [broken, problem] of extra) if (broken) problems.push(problem);
  return problems;
}

export function assertProductionReady(service: string, config: CommonConfig, extra: Array<[boolean, string]> = []): void {
  const problems = productionProblems(config, extra);
  if (problems.length) throw new ProductionConfigError(service, problems);
}
