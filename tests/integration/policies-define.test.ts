/**
 * lib/src/policies.ts, in process: what a named policy promises to any caller that wraps an external call
 * in it (the gateway per subgraph, pms per vendor × hotel).
 */
import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createMetrics } from '../../lib/src/metrics.js';
import { definePolicy, isPolicyError, RetryBudget, type PolicyOptions } from '../../lib/src/policies.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function capturingLogger() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function policy<F = never>(options: Partial<PolicyOptions<F>> = {}) {
  const metrics = createMetrics('test', { defaultMetrics: false });
  const { logger, lines } = capturingLogger();
  const p = definePolicy<F>({ name: 'dep', logger, metrics, ...options });
  const sample = async (name: string, labels: Record<string, string> = {}) => {
    const found = (await metrics.registry.getSingleMetric(name)?.get())?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
    return found?.reduce((sum, v) => sum + v.value, 0) ?? 0;
  };
  return { p, metrics, lines, sample };
}

class Down extends Error {}
class Refused extends Error {}

describe('definePolicy', () => {
  it('retries idempotent calls with backoff, and never a non-idempotent one', async () => {
    const { p, sample } = policy({ retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 } });
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls < 3) throw new Down('blip');
      return 'ok';
    };
    await expect(p.run(flaky, { idempotent: true })).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(await sample('innkeep_policy_retries_total', { target: 'dep' })).toBe(2);

    calls = 0;
    await expect(p.run(flaky, { idempotent: false })).rejects.toThrow('blip');
    expect(calls).toBe(1);
  });

  it('retries only within the retry budget, so a dead dependency sees at most ≈ ratio more calls', async () => {
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0, windowMs: 10_000 });
    const { p, sample } = policy({ retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0, budget } });
    let calls = 0;
    const dead = async () => {
      calls += 1;
      throw new Down('down');
    };
    for (let i = 0; i < 100; i++) await p.run(dead, { idempotent: true }).catch(() => undefined);
    // Without the budget: 300 calls. With it: 100 first attempts + at most 10 % retries.
    expect(calls).toBeGreaterThanOrEqual(100);
    expect(calls).toBeLessThanOrEqual(111);
    expect(await sample('innkeep_policy_retry_budget_exhausted_total', { target: 'dep' })).toBeGreaterThan(80);
  });

  it('opens the circuit after N consecutive failures, fails fast while open, probes half-open, then closes', async () => {
    const { p, sample, lines } = policy({ breaker: { kind: 'consecutive', threshold: 3, halfOpenAfterMs: 200 } });
    let calls = 0;
    let healthy = false;
    const dep = async () => {
      calls += 1;
      if (!healthy) throw new Down('down');
      return 'ok';
    };
    for (let i = 0; i < 3; i++) await expect(p.run(dep, { idempotent: true })).rejects.toThrow('down');
    expect(p.circuitState()).toBe('open');
    expect(await sample('innkeep_circuit_state', { target: 'dep' })).toBe(2);

    const refused = await p.run(dep, { idempotent: true }).catch((e: unknown) => e);
    expect(isPolicyError(refused) && refused.reason).toBe('CIRCUIT_OPEN');
    expect(calls).toBe(3); // no call reached the dependency

    await sleep(250);
    healthy = true;
    await expect(p.run(dep, { idempotent: true })).resolves.toBe('ok');
    expect(p.circuitState()).toBe('closed');
    expect(await sample('innkeep_circuit_state', { target: 'dep' })).toBe(0);
    for (const state of ['open', 'half_open', 'closed']) {
      expect(await sample('innkeep_circuit_transitions_total', { target: 'dep', state })).toBe(1);
    }
    expect(lines.filter((l) => l.target === 'dep').map((l) => l.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('logs a state change on the logger of the call that caused it (its correlation ID)', async () => {
    const { p, lines } = policy({ breaker: { kind: 'consecutive', threshold: 1, halfOpenAfterMs: 10_000 } });
    const { logger: requestLog, lines: requestLines } = capturingLogger();
    await p.run(async () => Promise.reject(new Down('down')), { idempotent: false, log: requestLog.child({ correlationId: 'req-12345678' }) }).catch(() => undefined);
    expect(requestLines).toEqual([expect.objectContaining({ correlationId: 'req-12345678', target: 'dep', state: 'open', msg: 'circuit breaker for dep opened' })]);
    expect(lines).toEqual([]);
  });

  it('an error that is not a failure (the dependency refused this one request) neither trips the breaker nor is retried', async () => {
    const { p } = policy({
      breaker: { kind: 'consecutive', threshold: 2, halfOpenAfterMs: 10_000 },
      retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0 },
      isFailure: (e) => !(e instanceof Refused),
    });
    let calls = 0;
    for (let i = 0; i < 5; i++) {
      await expect(p.run(async () => { calls += 1; throw new Refused('no'); }, { idempotent: true })).rejects.toBeInstanceOf(Refused);
    }
    expect(calls).toBe(5);
    expect(p.circuitState()).toBe('closed');
  });

  it('times out an attempt, aborting its signal, and counts the timeout against the dependency', async () => {
    const { p } = policy({ timeoutMs: 50, breaker: { kind: 'consecutive', threshold: 2, halfOpenAfterMs: 10_000 } });
    let aborted = 0;
    const hang = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => { aborted += 1; reject(new Error('aborted')); }));
    const started = Date.now();
    const error = await p.run(hang, { idempotent: false }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(isPolicyError(error) && error.reason).toBe('TIMEOUT');
    await p.run(hang, { idempotent: false }).catch(() => undefined);
    expect(aborted).toBe(2);
    expect(p.circuitState()).toBe('open');
  });

  it('the caller’s deadline cancels the call (DEADLINE) and is not held against the dependency', async () => {
    const { p } = policy({ timeoutMs: 5000, breaker: { kind: 'consecutive', threshold: 1, halfOpenAfterMs: 10_000 }, retry: { maxAttempts: 3, initialDelayMs: 0, maxDelayMs: 0 } });
    let calls = 0;
    const hang = (signal: AbortSignal) => {
      calls += 1;
      return new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    const error = await p.run(hang, { idempotent: true, signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
    expect(isPolicyError(error) && error.reason).toBe('DEADLINE');
    expect(calls).toBe(1); // not retried past the deadline
    expect(p.circuitState()).toBe('closed');
    const late = await p.run(hang, { idempotent: true, signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isPolicyError(late) && late.reason).toBe('DEADLINE');
    expect(calls).toBe(1);
  });

  it('a bulkhead runs at most `concurrency` calls, queues `queue` more, refuses the rest at once — without opening the breaker', async () => {
    const { p, sample } = policy({ bulkhead: { concurrency: 2, queue: 1 }, breaker: { kind: 'consecutive', threshold: 1, halfOpenAfterMs: 10_000 } });
    let inFlight = 0;
    let peak = 0;
    const slow = async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await sleep(100);
      inFlight -= 1;
      return 'done';
    };
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => p.run(slow, { idempotent: true }).then(() => Date.now() - started)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(isPolicyError((r as PromiseRejectedResult).reason) && (r as PromiseRejectedResult).reason.reason).toBe('BULKHEAD_FULL');
    expect(peak).toBe(2);
    expect(p.circuitState()).toBe('closed');
    expect(await sample('innkeep_policy_calls_total', { target: 'dep', outcome: 'bulkhead_full' })).toBe(7);
  });

  it('falls back on a failure with the reason, and only on a failure', async () => {
    const { p, sample } = policy<string>({
      breaker: { kind: 'consecutive', threshold: 1, halfOpenAfterMs: 10_000 },
      isFailure: (e) => !(e instanceof Refused),
      fallback: (failure) => `stale (${failure.reason})`,
    });
    await expect(p.run(async () => Promise.reject(new Refused('no')), { idempotent: true })).rejects.toBeInstanceOf(Refused);
    await expect(p.run(async () => Promise.reject(new Down('down')), { idempotent: true })).resolves.toBe('stale (FAILED)');
    await expect(p.run(async () => 'fresh', { idempotent: true })).resolves.toBe('stale (CIRCUIT_OPEN)');
    expect(await sample('innkeep_policy_fallbacks_total', { target: 'dep' })).toBe(2);
  });

  it('with every protection switched off it is a plain call', async () => {
    const { p } = policy({ timeoutMs: false, retry: false, breaker: false, bulkhead: false });
    await expect(p.run(async () => 42, { idempotent: true })).resolves.toBe(42);
    await expect(p.run(async () => Promise.reject(new Down('x')), { idempotent: true })).rejects.toThrow('x');
    expect(p.circuitState()).toBe('disabled');
  });
});

describe('RetryBudget', () => {
  it('allows ratio × calls plus a floor over a sliding window, and forgets what left the window', () => {
    let now = 1_000_000;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0.5, windowMs: 4000 }, () => now);
    for (let i = 0; i < 10; i++) budget.recordCall();
    // floor 0.5/s × 4 s = 2, plus 20 % of 10 calls = 2 → 4 retries.
    let granted = 0;
    while (budget.canRetry() && granted < 100) {
      budget.recordRetry();
      granted += 1;
    }
    expect(granted).toBe(4);
    now += 5000; // the window moved past every bucket
    expect(budget.snapshot()).toEqual({ calls: 0, retries: 0, allowed: 2 });
    expect(budget.canRetry()).toBe(true);
  });
});
