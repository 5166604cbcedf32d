import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { definePolicy, RetryBudget, type CircuitStateName, type Policy } from '../../../lib/src/policies.js';
import { retryBudgetOf, type ResilienceConfig } from '../../../lib/src/policies/config.js';
import { isVendorVerdict } from './connectors/types.js';

export interface VendorPolicySettings {
  /** Per-call timeout (PMS_VENDOR_TIMEOUT_MS). */
  timeoutMs: number;
  breakerThreshold: number;
  halfOpenAfterMs: number;
  retryMaxAttempts: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  bulkheadConcurrency: number;
  bulkheadQueue: number;
}

/**
 * One policy per vendor × hotel (key `${vendor}:${hotelId}`), built on first use and kept: one hotel's
 * broken vendor account (bad credentials, a property the vendor took offline) must not open the circuit
 * for every other hotel on the same vendor. The retry budget is shared per vendor, because a vendor-wide
 * outage is exactly when retries across all its hotels would pile up.
 *
 * What counts against the vendor: unreachable, timeouts, 5xx. A 4xx ("I refuse this reservation") or a
 * refused credential is the vendor working as designed: it neither trips the breaker nor is retried.
 */
export class VendorPolicies {
  private readonly policies = new Map<string, Policy>();
  private readonly budgets = new Map<string, RetryBudget>();

  constructor(
    private readonly settings: VendorPolicySettings,
    private readonly switches: ResilienceConfig,
    private readonly deps: { logger: Logger; metrics?: Metrics },
  ) {}

  /** The policy for this vendor and hotel (created once). */
  for(vendor: string, hotelId: string): Policy {
    const key = `${vendor}:${hotelId}`;
    let policy = this.policies.get(key);
    if (!policy) {
      policy = this.build(vendor, key);
      this.policies.set(key, policy);
    }
    return policy;
  }

  /** The circuit state without creating a policy ('closed' when none was ever used). */
  circuitState(vendor: string, hotelId: string): CircuitStateName {
    return this.policies.get(`${vendor}:${hotelId}`)?.circuitState() ?? 'closed';
  }

  /** Keys whose circuit is not closed (readiness details). */
  openCircuits(): Record<string, CircuitStateName> {
    return Object.fromEntries([...this.policies].filter(([, p]) => !['closed', 'disabled'].includes(p.circuitState())).map(([k, p]) => [k, p.circuitState()]));
  }

  private build(vendor: string, key: string): Policy {
    const { settings: s, switches } = this;
    let budget = this.budgets.get(vendor);
    if (!budget) this.budgets.set(vendor, (budget = new RetryBudget(retryBudgetOf(switches))));
    return definePolicy({
      name: `pms:${key}`,
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      timeoutMs: switches.TIMEOUTS_ENABLED && s.timeoutMs,
      breaker: switches.BREAKERS_ENABLED && { kind: 'consecutive', threshold: s.breakerThreshold, halfOpenAfterMs: s.halfOpenAfterMs },
      bulkhead: switches.BULKHEADS_ENABLED && { concurrency: s.bulkheadConcurrency, queue: s.bulkheadQueue },
      retry: switches.RETRIES_ENABLED && { maxAttempts: s.retryMaxAttempts, initialDelayMs: s.retryInitialDelayMs, maxDelayMs: s.retryMaxDelayMs, budget },
      isFailure: (error) => !isVendorVerdict(error),
    });
  }
}
