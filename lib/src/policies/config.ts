import { z } from 'zod';
import { envBool } from '../config.js';

/**
 * Switches and shared settings of the resilience policies (lib/src/policies.ts), parsed by every process
 * that builds policies (gateway, pms). Each protection can be turned off on its own for a staged rollout;
 * docs/resilience.md says what each one does.
 */
export const resilienceConfigShape = {
  /** Circuit breakers (gateway per subgraph, pms per vendor × hotel). */
  BREAKERS_ENABLED: envBool(true),
  /** Retries of idempotent calls (queries at the gateway, vendor upserts in pms). */
  RETRIES_ENABLED: envBool(true),
  /** Concurrency caps with bounded queues (gateway per subgraph, pms per vendor × hotel). */
  BULKHEADS_ENABLED: envBool(true),
  /** Per-call policy timeouts and the gateway's whole-request deadline (the PMS vendor client keeps its own hard timeout). */
  TIMEOUTS_ENABLED: envBool(true),
  /** Retries may add at most this share of extra calls over the window (0.1 = 10 %). */
  RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(1).default(0.1),
  /** Retries always allowed per second of window, whatever the traffic (lets a quiet service retry a blip). */
  RETRY_BUDGET_MIN_PER_SECOND: z.coerce.number().min(0).max(1000).default(1),
  /** Sliding window of the retry budget (ms). */
  RETRY_BUDGET_WINDOW_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
};
export type ResilienceConfig = z.infer<z.ZodObject<typeof resilienceConfigShape>>;

/** The retry budget settings from config. */
export const retryBudgetOf = (config: ResilienceConfig) => ({
  ratio: config.RETRY_BUDGET_RATIO,
  minPerSecond: config.RETRY_BUDGET_MIN_PER_SECOND,
  windowMs: config.RETRY_BUDGET_WINDOW_MS,
});
