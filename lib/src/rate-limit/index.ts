import type { GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { rateLimitDirectiveTransformer } from './directive.js';
import { describeLimit, loadRateLimitSettings, RateLimitConfigError, type RateLimitSettings } from './settings.js';
import { createCounterStore, type CounterStore } from './store.js';
import { changedRateLimitKeys, fileDigest, type RateLimitReload } from './reload-audit.js';

export { RATE_LIMIT_DIRECTIVE_SDL, usesRateLimit, type RateLimitContext } from './directive.js';
export { RateLimitConfigError, type RateLimitSettings } from './settings.js';
export { TIERS, type Tier } from './tiers.js';
export { auditRateLimitReload, type RateLimitReload } from './reload-audit.js';

export interface RateLimitsOptions {
  /** The limits file (RATE_LIMITS_FILE). */
  file: string;
  /** Shared counters; null = in-memory (REDIS_URL unset, one process). Not closed by us. */
  redis: Redis | null;
  /** RATE_LIMIT_KEY_PREFIX. */
  keyPrefix: string;
  logger: Logger;
  metrics: Metrics;
  /** Re-read the file on SIGHUP. Default true. */
  reloadOnSighup?: boolean;
  /** After every re-read, applied or refused (the composition root audits it). */
  onReload?(reload: RateLimitReload): void;
}

export interface RateLimits {
  /** The limits in force now. */
  settings(): RateLimitSettings;
  counters: CounterStore;
  /** Enforces `@rateLimit` on every field of `schema` that carries it. Call once per schema, at start-up. */
  applyTo(schema: GraphQLSchema): GraphQLSchema;
  /** Re-reads the file; on a bad file logs why and keeps the limits in force. Returns whether it applied. */
  reload(): boolean;
  close(): void;
}

/**
 * A process's rate limits: the settings file (read now: a bad file throws, naming the entry), the
 * counters (Redis, atomic, with the per-instance in-memory fallback), and the `@rateLimit` transformer.
 * The composition root creates it once and closes it on stop; nothing here is a module global.
 */
export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const logger = options.logger.child({ component: 'rate-limit' });
  let current = loadRateLimitSettings(options.file);
  let currentDigest = fileDigest(options.file);
  const counters = createCounterStore({ redis: options.redis, keyPrefix: options.keyPrefix, logger, metrics: options.metrics });
  const settings = () => current;
  const directive = rateLimitDirectiveTransformer({ counters, settings, metrics: options.metrics, logger });

  const describe = () =>
    directive.rules.map((r) => {
      const entry = current.fields.get(r.field);
      const overrides = entry ? Object.entries(entry).map(([tier, l]) => `${tier} ${describeLimit(l!)}`) : [];
      return `${r.field} ${describeLimit(r.sdl)}${overrides.length ? ` (${overrides.join(', ')})` : ''}`;
    });

  const reload = () => {
    const previousHash = currentDigest;
    const newHash = fileDigest(options.file);
    let outcome: Omit<RateLimitReload, 'previousHash' | 'newHash'>;
    try {
      const next = loadRateLimitSettings(options.file);
      outcome = { file: next.source, outcome: 'ok', changedKeys: changedRateLimitKeys(current, next) };
      current = next;
      currentDigest = newHash;
      logger.info({ source: current.source, fields: describe(), apiKeys: current.apiKeys.size }, 'rate limits reloaded');
    } catch (error) {
      outcome = { file: current.source, outcome: 'refused', changedKeys: [], reason: error instanceof RateLimitConfigError ? error.message.slice(0, 500) : 'unreadable' };
      logger.error({ err: error }, 'rate limits NOT reloaded: the file is invalid; the previous limits stay in force');
    }
    options.onReload?.({ ...outcome, previousHash, newHash });
    return outcome.outcome === 'ok';
  };
  const onSighup = () => void reload();
  if (options.reloadOnSighup !== false) process.on('SIGHUP', onSighup);

  return {
    settings,
    counters,
    applyTo(schema) {
      const transformed = directive.transform(schema);
      logger.info({ source: current.source, shared: counters.shared, fields: describe() }, 'field rate limits enforced');
      return transformed;
    },
    reload,
    close() {
      process.off('SIGHUP', onSighup);
      counters.close();
    },
  };
}
