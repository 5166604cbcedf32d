import type pg from 'pg';
import { notifyCritical } from '../../../lib/src/alerts.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';

export interface ChainVerdict {
  chain: string;
  checkedCount: number;
  firstInvalidSequence: string | null;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.Client, 'query'>;

/**
 * Re-verifies hash chains in the database (audit.verify_chain, migration 20261123200000): the given ones,
 * or every chain that has events. Used by `npm run audit:verify` and the audit subgraph's periodic check.
 */
export async function verifyChains(db: Queryable, only: string[] = []): Promise<ChainVerdict[]> {
  const chains = only.length ? only : (await db.query<{ chain: string }>('SELECT chain FROM audit.chain_heads ORDER BY chain')).rows.map((r) => r.chain);
  const verdicts: ChainVerdict[] = [];
  for (const chain of chains) {
    const { rows } = await db.query<{ checked_count: string; first_invalid_sequence: string | null }>('SELECT checked_count, first_invalid_sequence FROM audit.verify_chain($1)', [chain]);
    verdicts.push({ chain, checkedCount: Number(rows[0]?.checked_count ?? 0), firstInvalidSequence: rows[0]?.first_invalid_sequence ?? null });
  }
  return verdicts;
}

/**
 * Verifies every chain every `intervalMs` (AUDIT_VERIFY_INTERVAL_SECONDS) and exports the verdict:
 * `innkeep_audit_chains_invalid` (alert on > 0), `innkeep_audit_chain_events_verified`, and
 * `innkeep_audit_chain_verified_timestamp_seconds` (alert when it stops advancing). An invalid chain is
 * logged at error level with its first invalid sequence (docs/operations.md "Audit chain invalid").
 */
export class ChainMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly gauges;

  constructor(private readonly options: { pool: pg.Pool; intervalMs: number; logger: Logger; metrics: Metrics }) {
    const { metrics } = options;
    this.gauges = {
      invalid: metrics.gauge('innkeep_audit_chains_invalid', 'Audit hash chains that did not verify at the last periodic check (0 = trail intact)', []),
      events: metrics.gauge('innkeep_audit_chain_events_verified', 'Audit events re-hashed by the last periodic chain check', []),
      at: metrics.gauge('innkeep_audit_chain_verified_timestamp_seconds', 'When the last periodic audit chain check finished (unix seconds)', []),
    };
  }

  start(): void {
    if (this.options.intervalMs <= 0) return;
    const tick = () => {
      this.running = this.verifyOnce()
        .then(() => undefined)
        .catch((error) => this.options.logger.warn({ err: error }, 'audit chain check could not run; will try again'))
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(tick, this.options.intervalMs);
          this.timer.unref();
        });
    };
    this.timer = setTimeout(tick, Math.min(5000, this.options.intervalMs));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  async verifyOnce(): Promise<ChainVerdict[]> {
    const verdicts = await verifyChains(this.options.pool);
    const invalid = verdicts.filter((v) => v.firstInvalidSequence !== null);
    this.gauges.invalid.set(invalid.length);
    this.gauges.events.set(verdicts.reduce((sum, v) => sum + v.checkedCount, 0));
    this.gauges.at.set(Date.now() / 1000);
    for (const v of invalid) {
      this.options.logger.error({ chain: v.chain, firstInvalidSequence: v.firstInvalidSequence, checkedCount: v.checkedCount }, 'audit chain INVALID: the trail was changed behind the database rules');
    }
    if (invalid.length) {
      notifyCritical({
        kind: 'audit_chain_invalid',
        summary: `${invalid.length} audit hash chain(s) do not verify: the trail was changed behind the database rules`,
        details: { chains: invalid.map((v) => v.chain).slice(0, 10).join(','), firstInvalidSequence: invalid[0]!.firstInvalidSequence },
      });
    }
    return verdicts;
  }
}
