import { z } from 'zod';
import { resilienceConfigShape } from '../../../lib/src/policies/config.js';

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Per-subgraph timeout override variable, e.g. SUBGRAPH_TIMEOUT_MS_BOOKING. */
const subgraphTimeoutVar = (name: string) => `SUBGRAPH_TIMEOUT_MS_${name.toUpperCase()}`;

/**
 * The gateway's upstream policies (docs/resilience.md): one per subgraph, built at start-up.
 * Defaults suit subgraphs that answer in tens of milliseconds.
 */
export const upstreamConfigShape = {
  ...resilienceConfigShape,
  /** Time one subgraph attempt may take (ms); per-subgraph overrides below. */
  SUBGRAPH_TIMEOUT_MS: ms(50, 120_000).default(5000),
  /** Per-subgraph overrides of SUBGRAPH_TIMEOUT_MS (ms). */
  SUBGRAPH_TIMEOUT_MS_HOTEL: ms(50, 120_000).optional(),
  SUBGRAPH_TIMEOUT_MS_BOOKING: ms(50, 120_000).optional(),
  SUBGRAPH_TIMEOUT_MS_PMS: ms(50, 120_000).optional(),
  SUBGRAPH_TIMEOUT_MS_AUDIT: ms(50, 120_000).optional(),
  /** Whole-request deadline at the gateway (ms): past it, pending fetches are cancelled (UPSTREAM_TIMEOUT). 0 = none. */
  REQUEST_DEADLINE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** consecutive: open after N failures in a row. sampling: open when the failure ratio over a window is too high. */
  SUBGRAPH_BREAKER: z.enum(['consecutive', 'sampling']).default('consecutive'),
  /** consecutive: failures in a row that open a subgraph's circuit. */
  SUBGRAPH_BREAKER_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(5),
  /** sampling: failure ratio that opens the circuit. */
  SUBGRAPH_BREAKER_FAILURE_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  /** sampling: window the ratio is measured over (ms). */
  SUBGRAPH_BREAKER_WINDOW_MS: ms(1000, 600_000).default(10_000),
  /** sampling: below this many calls per second the breaker never opens (too few samples to judge). */
  SUBGRAPH_BREAKER_MIN_RPS: z.coerce.number().min(0).default(5),
  /** How long an open circuit refuses calls before one half-open probe is let through (ms). */
  SUBGRAPH_BREAKER_HALF_OPEN_AFTER_MS: ms(100, 600_000).default(5000),
  /** Attempts per query fetch, the first included (mutations: always 1). */
  SUBGRAPH_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Backoff cap before the first retry (ms); doubles per retry; full jitter. */
  SUBGRAPH_RETRY_INITIAL_DELAY_MS: ms(0, 60_000).default(50),
  /** Largest backoff between two attempts (ms). */
  SUBGRAPH_RETRY_MAX_DELAY_MS: ms(0, 60_000).default(1000),
  /** Fetches in flight per subgraph (a batch counts once). */
  SUBGRAPH_BULKHEAD_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Fetches waiting for a slot per subgraph; beyond it a fetch is refused at once (SERVICE_UNAVAILABLE). */
  SUBGRAPH_BULKHEAD_QUEUE: z.coerce.number().int().min(0).max(100_000).default(100),
  /**
   * Subgraphs whose identical reads in flight for the same identity travel once (comma-separated; '' =
   * none). booking and audit are refused: their reads are audited per request (guest PII, the trail).
   */
  UPSTREAM_SHARED_READS: z
    .string()
    .default('hotel,pms')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['hotel', 'pms'], { message: 'UPSTREAM_SHARED_READS may list hotel and pms only (booking and audit reads are audited per request)' }))),
  /** Public hotel data (the hotel subgraph's answers) kept at the gateway per identity: seconds; 0 = no cache. */
  HOTEL_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  /** Size bound of that cache (MB of answers, least recently used evicted first). */
  HOTEL_CACHE_MAX_MB: z.coerce.number().min(1).max(4096).default(32),
};

export type UpstreamConfig = z.infer<z.ZodObject<typeof upstreamConfigShape>>;

/** A subgraph's attempt timeout: its override, else SUBGRAPH_TIMEOUT_MS. */
export function subgraphTimeoutMs(config: UpstreamConfig, name: string): number {
  const override = (config as Record<string, unknown>)[subgraphTimeoutVar(name)];
  return typeof override === 'number' ? override : config.SUBGRAPH_TIMEOUT_MS;
}
