/**
 * A retry budget (Finagle's idea): over a sliding window, retries may add at most `ratio` × the calls
 * made, plus a small floor (`minPerSecond` × window) so a quiet service can still retry a blip. When a
 * dependency is down every call fails; without a budget, N retries per call would multiply the load on
 * it by N+1 exactly when it can least take it. With ratio 0.1 the extra load is capped at ≈10 %.
 *
 * The window is a ring of one-second buckets, so a check is O(buckets) with no allocation.
 */
export interface RetryBudgetOptions {
  /** Retries allowed per call made, over the window (0.1 = at most 10 % extra requests). */
  ratio: number;
  /** Retries always allowed per second of window, whatever the traffic (the floor for quiet services). */
  minPerSecond: number;
  /** Length of the sliding window (ms); rounded to whole seconds, at least 1 s. */
  windowMs: number;
}

export class RetryBudget {
  private readonly buckets: number;
  private readonly calls: number[];
  private readonly retries: number[];
  private currentSecond = 0;

  constructor(
    private readonly options: RetryBudgetOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = Math.max(1, Math.round(options.windowMs / 1000));
    this.calls = new Array<number>(this.buckets).fill(0);
    this.retries = new Array<number>(this.buckets).fill(0);
    this.currentSecond = Math.floor(this.now() / 1000);
  }

  /** A first attempt was made. */
  recordCall(): void {
    this.calls[this.rotate()]! += 1;
  }

  /** True when one more retry fits in the budget (does not spend it: see `recordRetry`). */
  canRetry(): boolean {
    this.rotate();
    const calls = sum(this.calls);
    const retries = sum(this.retries);
    return retries < this.options.minPerSecond * this.buckets + this.options.ratio * calls;
  }

  /** A retry was made. */
  recordRetry(): void {
    this.retries[this.rotate()]! += 1;
  }

  /** What the window holds now (metrics, tests). */
  snapshot(): { calls: number; retries: number; allowed: number } {
    this.rotate();
    const calls = sum(this.calls);
    return { calls, retries: sum(this.retries), allowed: Math.floor(this.options.minPerSecond * this.buckets + this.options.ratio * calls) };
  }

  /** Clears the buckets that fell out of the window since the last call; returns the current bucket. */
  private rotate(): number {
    const second = Math.floor(this.now() / 1000);
    const elapsed = second - this.currentSecond;
    if (elapsed > 0) {
      for (let i = 1; i <= Math.min(elapsed, this.buckets); i++) {
        const index = (this.currentSecond + i) % this.buckets;
        this.calls[index] = 0;
        this.retries[index] = 0;
      }
      this.currentSecond = second;
    }
    return second % this.buckets;
  }
}

const sum = (values: number[]) => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};
