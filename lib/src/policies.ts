import {
  bulkhead as cockatielBulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  retry as cockatielRetry,
  SamplingBreaker,
  timeout as cockatielTimeout,
  TimeoutStrategy,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { RetryBudget, type RetryBudgetOptions } from './policies/retry-budget.js';

export { RetryBudget, type RetryBudgetOptions };

/**
 * Named resilience policies around calls to external systems (GUIDE §4, "Policies as values"): a policy
 * is built ONCE per thing it protects (a subgraph, a vendor × hotel), named for it, and every call to
 * that thing runs through it:
 *
 *   retry (idempotent calls only, within a retry budget; exponential backoff with full jitter)
 *     └ circuit breaker (consecutive or sampling; half-open probes)
 *         └ bulkhead (concurrency cap + bounded queue: overload is refused, not queued without bound)
 *             └ timeout (per attempt; the attempt's AbortSignal is cancelled)
 *                 └ fn(signal)
 *   + fallback (optional) when the dependency failed or the policy refused the call.
 *
 * Order matters: the breaker sits outside the bulkhead so an open circuit refuses without taking a slot,
 * and a full bulkhead (our overload, not the dependency's fault) never counts against the breaker; the
 * retry sits outside the breaker so an opening breaker stops the retries at once.
 *
 * Failures come out as the dependency's own error (`FAILED`) or as a `PolicyError` with a reason
 * (`CIRCUIT_OPEN`, `BULKHEAD_FULL`, `TIMEOUT`, `DEADLINE`), recognised by marker (`isPolicyError`), never
 * by `instanceof` across packages. cockatiel's own errors are recognised with its type guards (except
 * `isTaskCancelledError`, which is broken in 3.2.1: see below).
 */

export type BreakerOptions =
  | {
      /** Opens after `threshold` failures in a row: predictable at any traffic level. */
      kind: 'consecutive';
      threshold: number;
      /** How long the circuit stays open before one half-open probe is let through (ms). */
      halfOpenAfterMs: number;
    }
  | {
      /** Opens when the failure ratio over a sliding window passes `failureRatio` (at ≥ `minimumRps`). */
      kind: 'sampling';
      failureRatio: number;
      windowMs: number;
      minimumRps: number;
      halfOpenAfterMs: number;
    };

export interface RetryOptions {
  /** Attempts in total, the first included (3 = one call + at most two retries). 1 = no retries. */
  maxAttempts: number;
  /** Backoff cap before the first retry (full jitter: the delay is uniform in [0, cap]); doubles each retry. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Limits retries over a sliding window so they cannot multiply an outage (shared if a RetryBudget is given). */
  budget?: RetryBudgetOptions | RetryBudget;
}

export interface PolicyOptions<F = never> {
  /** What the policy protects, e.g. `booking` or `pms:mews:<hotelId>`: in logs and as the `target` metric label. */
  name: string;
  /** Per-attempt timeout (ms); false = none. */
  timeoutMs?: number | false;
  retry?: RetryOptions | false;
  breaker?: BreakerOptions | false;
  bulkhead?: { concurrency: number; queue: number } | false;
  /**
   * Answer when the dependency failed or the policy refused the call (circuit open, bulkhead full,
   * timeout, deadline): e.g. stale data, or "queued for later". Errors that are not failures (see
   * `isFailure`) are never replaced.
   */
  fallback?: (failure: PolicyFailure) => F | Promise<F>;
  /** Errors that count against the dependency (breaker, retry, fallback). Default: every error. A vendor's
   * "I refuse this one request" (4xx) is not the vendor being down: exclude it here. */
  isFailure?: (error: unknown) => boolean;
  /** Failures that may be retried (idempotent calls only). Default: every failure and every timeout. */
  isRetryable?: (error: unknown) => boolean;
  logger: Logger;
  metrics?: Metrics;
}

export interface RunOptions {
  /**
   * Only idempotent work is retried: reads, and writes keyed so that doing them twice equals doing them
   * once (e.g. the PMS upsert by booking reference). A GraphQL mutation is never retried by the gateway.
   */
  idempotent: boolean;
  /** The caller's cancellation (e.g. the whole-request deadline): aborts waiting, retries and the attempt. */
  signal?: AbortSignal;
  /** The request's logger (carries its correlation ID): state changes caused by this call are logged on it. */
  log?: Logger;
}

export type PolicyFailureReason = 'CIRCUIT_OPEN' | 'BULKHEAD_FULL' | 'TIMEOUT' | 'DEADLINE' | 'FAILED';
export interface PolicyFailure {
  reason: PolicyFailureReason;
  /** The policy's name. */
  target: string;
  error: unknown;
}

/** A call the policy refused or cut short. `reason` says why; `retryable` is always true. */
export class PolicyError extends Error {
  readonly isPolicyError = true;
  constructor(
    readonly reason: Exclude<PolicyFailureReason, 'FAILED'>,
    readonly target: string,
    message: string,
  ) {
    super(message);
    this.name = 'PolicyError';
  }
}

export const isPolicyError = (error: unknown): error is PolicyError =>
  typeof error === 'object' && error !== null && (error as { isPolicyError?: unknown }).isPolicyError === true;

export type CircuitStateName = 'closed' | 'half_open' | 'open' | 'disabled';
/** `innkeep_circuit_state` values: 0 closed, 1 half-open, 2 open. */
const STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const STATE_NAME: Record<CircuitState, Exclude<CircuitStateName, 'disabled'>> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Open]: 'open',
  [CircuitState.Isolated]: 'open',
};

export interface Policy<F = never> {
  readonly name: string;
  run<T>(fn: (signal: AbortSignal) => Promise<T>, options: RunOptions): Promise<T | F>;
  /** The breaker's state ('disabled' when the policy has none). Open stays 'open' until a call probes it. */
  circuitState(): CircuitStateName;
}

/**
 * cockatiel 3.2.1's own `isTaskCancelledError` tests for the `isBulkheadRejectedError` marker (a copy-paste
 * slip in its errors/Errors.ts), so it is true for bulkhead refusals and false for real timeouts. Same idea,
 * the right marker.
 */
const isTaskCancelledError = (error: unknown): boolean =>
  error instanceof Error && (error as { isTaskCancelledError?: unknown }).isTaskCancelledError === true;

/** Marks an attempt that ended because its signal was aborted (timeout or caller), whatever fn threw. */
const ABORTED = Symbol('aborted');

/** Build once, at start-up, per thing protected; then `run` every call to it through the policy. */
export function definePolicy<F = never>(options: PolicyOptions<F>): Policy<F> {
  const { name, logger } = options;
  const isFailure = options.isFailure ?? (() => true);
  const isRetryable = options.isRetryable ?? isFailure;
  // Breaker state changes waiting to be logged on the logger of a call that saw them (see logTransitions).
  const unlogged: Array<{ state: Exclude<CircuitStateName, 'disabled'>; reason: string | undefined }> = [];
  const m = policyMetrics(options.metrics, name);

  const breaker = options.breaker ? buildBreaker(options.breaker, isFailure) : undefined;
  const bulkhead: BulkheadPolicy | undefined = options.bulkhead ? cockatielBulkhead(options.bulkhead.concurrency, options.bulkhead.queue) : undefined;
  // abortOnReturn off: the attempt's signal is aborted on timeout (or by the caller), not after every
  // call that already returned — on Node 20 each abort builds a DOMException (~0.1 ms of CPU per call).
  const timeout: TimeoutPolicy | undefined = options.timeoutMs
    ? cockatielTimeout(options.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false })
    : undefined;
  const budget = options.retry ? (options.retry.budget instanceof RetryBudget ? options.retry.budget : options.retry.budget ? new RetryBudget(options.retry.budget) : undefined) : undefined;
  const retry: RetryPolicy | undefined = options.retry && options.retry.maxAttempts > 1 ? buildRetry(options.retry) : undefined;

  if (breaker) {
    m.state?.set(0);
    breaker.onStateChange((state) => {
      const stateName = STATE_NAME[state];
      m.state?.set(STATE_VALUE[stateName]);
      m.transitions?.inc({ target: name, state: stateName });
      const lastFailure = breaker.lastFailure;
      unlogged.push({ state: stateName, reason: lastFailure && 'error' in lastFailure ? lastFailure.error.message : undefined });
    });
  }

  /**
   * Logs the breaker's state changes on `log`, the logger of a call that just went through the breaker
   * (it carries that request's correlation ID). A change happens inside a call (a failure opens, an
   * attempt after `halfOpenAfter` probes, the probe's success closes), and that call logs it as soon as
   * it is back in our code. Not AsyncLocalStorage: on Node 20 an active AsyncLocalStorage turns on
   * promise hooks for every promise of the process, a cost paid by every request.
   */
  function logTransitions(log: Logger): void {
    for (let next = unlogged.shift(); next; next = unlogged.shift()) {
      const { state, reason } = next;
      if (state === 'open') log.warn({ target: name, state, reason }, `circuit breaker for ${name} opened`);
      else log.info({ target: name, state }, `circuit breaker for ${name} ${state === 'closed' ? 'closed' : 'half-open: probing'}`);
    }
  }

  function buildBreaker(opts: BreakerOptions, counts: (e: unknown) => boolean): CircuitBreakerPolicy {
    const counted = handleWhen((e) => countsAgainstDependency(e, counts));
    const kind =
      opts.kind === 'consecutive'
        ? new ConsecutiveBreaker(opts.threshold)
        : new SamplingBreaker({ threshold: opts.failureRatio, duration: opts.windowMs, minimumRps: opts.minimumRps });
    return circuitBreaker(counted, { halfOpenAfter: opts.halfOpenAfterMs, breaker: kind });
  }

  function buildRetry(opts: RetryOptions): RetryPolicy {
    const policy = cockatielRetry(
      handleWhen((e) => {
        const retryable = isPolicyError(e) ? e.reason === 'TIMEOUT' : isRetryable(e);
        if (!retryable) return false;
        if (budget && !budget.canRetry()) {
          m.budgetExhausted?.inc({ target: name });
          return false;
        }
        return true;
      }),
      {
        maxAttempts: opts.maxAttempts - 1,
        backoff: new ExponentialBackoff({ generator: fullJitterGenerator, initialDelay: opts.initialDelayMs, maxDelay: opts.maxDelayMs }),
      },
    );
    policy.onRetry(() => {
      budget?.recordRetry();
      m.retries?.inc({ target: name });
    });
    return policy;
  }

  /** One attempt: bulkhead → timeout → fn; everything that escapes is classified for the breaker. */
  async function attempt<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, caller: AbortSignal | undefined, log: Logger): Promise<T> {
    if (unlogged.length) logTransitions(log); // e.g. this attempt is the half-open probe
    const call = (s: AbortSignal) =>
      fn(s).catch((error: unknown) => {
        throw s.aborted ? ABORTED : error;
      });
    const timed = (s: AbortSignal) => (timeout ? timeout.execute(({ signal: t }) => call(t), s) : call(s));
    try {
      return await (bulkhead ? bulkhead.execute(({ signal: b }) => timed(b), signal) : timed(signal));
    } catch (error) {
      if (isBulkheadRejectedError(error)) throw new PolicyError('BULKHEAD_FULL', name, `${name} is overloaded: too many calls in flight`);
      if (error === ABORTED || isTaskCancelledError(error)) {
        if (caller?.aborted) throw new PolicyError('DEADLINE', name, `the request ran out of time waiting for ${name}`);
        m.failures?.inc({ target: name, kind: 'timeout' });
        throw new PolicyError('TIMEOUT', name, `${name} did not answer within ${options.timeoutMs} ms`);
      }
      if (isFailure(error)) m.failures?.inc({ target: name, kind: 'error' });
      throw error;
    }
  }

  async function execute<T>(fn: (signal: AbortSignal) => Promise<T>, run: RunOptions, log: Logger): Promise<T> {
    const caller = run.signal;
    if (caller?.aborted) throw new PolicyError('DEADLINE', name, `the request ran out of time before calling ${name}`);
    const once = (signal: AbortSignal) => (breaker ? breaker.execute(({ signal: s }) => attempt(fn, s, caller, log), signal) : attempt(fn, signal, caller, log));
    const guarded = async (signal: AbortSignal) => {
      try {
        return await once(signal);
      } catch (error) {
        if (isBrokenCircuitError(error)) throw new PolicyError('CIRCUIT_OPEN', name, `${name} is unavailable (circuit open)`);
        throw error;
      }
    };
    const signal = caller ?? new AbortController().signal;
    budget?.recordCall();
    if (!retry || !run.idempotent) return guarded(signal);
    return retry.execute(({ signal: s, attempt: n }) => {
      if (n > 0) log.debug({ target: name, attempt: n }, `retrying ${name}`);
      return guarded(s);
    }, signal);
  }

  return {
    name,
    async run<T>(fn: (signal: AbortSignal) => Promise<T>, run: RunOptions): Promise<T | F> {
      const log = run.log ?? logger;
      const startedAt = performance.now();
      try {
        const value = await execute(fn, run, log);
        if (unlogged.length) logTransitions(log);
        m.outcomes?.inc({ target: name, outcome: 'success' });
        m.duration?.observe({ target: name, outcome: 'success' }, (performance.now() - startedAt) / 1000);
        return value;
      } catch (error) {
        if (unlogged.length) logTransitions(log);
        const failure = failureOf(error, name, isFailure);
        m.outcomes?.inc({ target: name, outcome: failure ? failure.reason.toLowerCase() : 'rejected' });
        m.duration?.observe({ target: name, outcome: failure ? 'failure' : 'rejected' }, (performance.now() - startedAt) / 1000);
        if (failure && options.fallback) {
          m.fallbacks?.inc({ target: name, reason: failure.reason.toLowerCase() });
          return options.fallback(failure);
        }
        throw error;
      }
    },
    circuitState: () => (breaker ? STATE_NAME[breaker.state] : 'disabled'),
  };
}

/** Whether an error says the dependency is unhealthy: timeouts and (by the policy's rule) its own errors. */
function countsAgainstDependency(error: unknown, isFailure: (e: unknown) => boolean): boolean {
  if (isPolicyError(error)) return error.reason === 'TIMEOUT';
  return isFailure(error);
}

/** What went wrong, if it was the dependency (or the policy protecting it) rather than the request itself. */
export function failureOf(error: unknown, target: string, isFailure: (e: unknown) => boolean = () => true): PolicyFailure | undefined {
  if (isPolicyError(error)) return { reason: error.reason, target: error.target, error };
  return isFailure(error) ? { reason: 'FAILED', target, error } : undefined;
}

function policyMetrics(metrics: Metrics | undefined, target: string) {
  if (!metrics) return {};
  const state = metrics.gauge('innkeep_circuit_state', 'Circuit breaker state per protected target: 0 closed, 1 half-open, 2 open', ['target'] as const);
  return {
    state: { set: (value: number) => state.set({ target }, value) },
    transitions: metrics.counter('innkeep_circuit_transitions_total', 'Circuit breaker state changes, by the state entered', ['target', 'state'] as const),
    outcomes: metrics.counter(
      'innkeep_policy_calls_total',
      'Calls through a resilience policy by outcome: success, failed, timeout, deadline, circuit_open, bulkhead_full, rejected (an error that is not a failure)',
      ['target', 'outcome'] as const,
    ),
    failures: metrics.counter(
      'innkeep_policy_failures_total',
      'Attempts that failed because of the dependency (what the breaker counts), by kind: error, timeout',
      ['target', 'kind'] as const,
    ),
    duration: metrics.histogram(
      'innkeep_policy_call_duration_seconds',
      'Duration of calls through a resilience policy (retries and waits included): gateway → subgraph fetches, pms → vendor calls; outcome success, failure, rejected',
      ['target', 'outcome'] as const,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    retries: metrics.counter('innkeep_policy_retries_total', 'Retries made by a resilience policy', ['target'] as const),
    budgetExhausted: metrics.counter('innkeep_policy_retry_budget_exhausted_total', 'Retries refused because the retry budget was spent', ['target'] as const),
    fallbacks: metrics.counter('innkeep_policy_fallbacks_total', 'Calls answered by a fallback, by failure reason', ['target', 'reason'] as const),
  };
}
