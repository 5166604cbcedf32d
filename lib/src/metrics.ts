import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry per process (created in the composition root and passed down, so two services
 * in one test process never share counters). Label values must come from bounded sets: operation
 * names, subgraph / vendor names, codes, tiers — never user IDs or raw queries.
 */
export interface Metrics {
  registry: Registry;
  service: string;
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L>;
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L>;
  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets?: number[]): Histogram<L>;
  /** A gauge read at scrape time (pool sizes, connection states, key ages): `read` returns its value(s) then. */
  sampled(name: string, help: string, labelNames: readonly string[], read: () => Sample | Promise<Sample>): void;
}

/** One value, or one value per label set. */
export type Sample = number | Array<[labels: Record<string, string>, value: number]>;

export function createMetrics(service: string, options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  // Idempotent by name: two modules asking for the same metric share it.
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  return {
    registry,
    service,
    counter: (name, help, labelNames) => existing(name) ?? new Counter({ name, help, labelNames, registers: [registry] }),
    gauge: (name, help, labelNames) => existing(name) ?? new Gauge({ name, help, labelNames, registers: [registry] }),
    histogram: (name, help, labelNames, buckets) =>
      existing(name) ?? new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) }),
    sampled: (name, help, labelNames, read) => {
      if (existing(name)) return;
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          // A source that cannot be read now (database down) leaves no sample; /metrics itself still answers.
          const value = await Promise.resolve()
            .then(read)
            .catch(() => undefined);
          if (value === undefined) return;
          if (!Array.isArray(value)) return void this.set(value);
          for (const [labels, v] of value) this.set(labels, v);
        },
      });
    },
  };
}
