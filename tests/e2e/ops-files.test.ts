/**
 * The operator files (ops/prometheus/alerts.yml, ops/grafana/innkeep-dashboard.json) are valid and
 * reference only metrics the running services export: every PromQL expression is parsed with the
 * Prometheus project's own grammar (@prometheus-io/lezer-promql), and every metric it selects must be
 * declared (`# TYPE`) on the /metrics of some service of the test stack — or be one of the file's own
 * recording rules.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { env, gql } from './support.js';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const alerts = parseYaml(readFileSync('ops/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const dashboard = JSON.parse(readFileSync('ops/grafana/innkeep-dashboard.json', 'utf8')) as {
  title: string;
  uid: string;
  panels: Array<{ id: number; type: string; title: string; gridPos: { h: number; w: number; x: number; y: number }; targets?: Array<{ expr: string; refId: string }> }>;
};
const rules = alerts.groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

/** Syntax errors (error nodes of the grammar) and the metric names an expression selects. */
function analyse(expr: string): { errors: number[]; metrics: string[] } {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics: string[] = [];
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) errors.push(cursor.from);
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return { errors, metrics };
}

const SERVICES = ['GATEWAY', 'HOTEL', 'BOOKING', 'PMS', 'AUDIT'] as const;
/** Every metric family the stack's processes declare. */
let exported = new Set<string>();

beforeAll(async () => {
  // A query and a mutation first, so request metrics have samples (families are declared either way).
  await gql(`{ hotels { id } }`, {}, { as: null });
  const texts = await Promise.all(SERVICES.map(async (s) => (await fetch(new URL('/metrics', env(`INNKEEP_${s}_URL`)))).text()));
  exported = new Set(texts.flatMap((t) => [...t.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!)));
});

/** `x_bucket` / `x_count` / `x_sum` belong to histogram `x`. */
const family = (name: string) => (exported.has(name) ? name : name.replace(/_(bucket|count|sum)$/, ''));

function unknownMetrics(expr: string): string[] {
  return analyse(expr).metrics.filter((m) => !recorded.has(m) && !exported.has(family(m)));
}

describe('ops/prometheus/alerts.yml', () => {
  it('is a rule file: groups of named rules, each a recording rule or an alert with severity, summary and description', () => {
    expect(alerts.groups.length).toBeGreaterThan(0);
    for (const group of alerts.groups) {
      expect(group.name).toMatch(/^[a-z-]+$/);
      for (const rule of group.rules) {
        expect(typeof rule.expr).toBe('string');
        expect(Boolean(rule.record) !== Boolean(rule.alert)).toBe(true);
        if (rule.record) expect(rule.record).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
        if (rule.alert) {
          expect(rule.alert).toMatch(/^Innkeep[A-Za-z]+$/);
          expect(['page', 'ticket']).toContain(rule.labels?.severity);
          expect(rule.annotations?.summary).toBeTruthy();
          expect(rule.annotations?.description).toBeTruthy();
          if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
        }
      }
    }
    const names = rules.flatMap((r) => (r.alert ? [r.alert] : []));
    expect(new Set(names).size).toBe(names.length);
  });

  it('alerts on what the operators asked for', () => {
    const names = rules.flatMap((r) => (r.alert ? [r.alert] : []));
    expect(names).toEqual(
      expect.arrayContaining([
        'InnkeepErrorBudgetFastBurn',
        'InnkeepLatencyBudgetFastBurn',
        'InnkeepCircuitOpen',
        'InnkeepRateLimitSurge',
        'InnkeepOutboxBacklogGrowing',
        'InnkeepAuditChainInvalid',
        'InnkeepRedisDown',
        'InnkeepDatabaseDown',
        'InnkeepSigningKeyOld',
      ]),
    );
  });

  it.each(rules.map((r) => [r.record ?? r.alert!, r.expr] as const))('%s: valid PromQL over exported metrics only', (_name, expr) => {
    expect(analyse(expr).errors).toEqual([]);
    expect(unknownMetrics(expr)).toEqual([]);
  });
});

describe('ops/grafana/innkeep-dashboard.json', () => {
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const));

  it('is a dashboard: unique panel IDs on a 24-column grid, business and technical panels', () => {
    expect(dashboard.uid).toBe('innkeep-federation');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    const titles = dashboard.panels.map((p) => p.title);
    expect(titles).toEqual(expect.arrayContaining(['Business', 'Bookings per hour by hotel and event', 'Rooms occupied tonight', 'Errors by code', 'Circuit state (0 closed, 1 half-open, 2 open)']));
    expect(targets.length).toBeGreaterThan(20);
  });

  it.each(targets)('%s: valid PromQL over exported metrics only', (_title, expr) => {
    expect(analyse(expr).errors).toEqual([]);
    expect(unknownMetrics(expr)).toEqual([]);
  });
});

describe('the validation itself', () => {
  it('catches a syntax error and a metric no service exports', () => {
    expect(analyse('sum(rate(innkeep_graphql_requests_total[5m]').errors.length).toBeGreaterThan(0);
    expect(unknownMetrics('rate(innkeep_no_such_metric_total[5m]) / innkeep_graphql_request_duration_seconds_count')).toEqual(['innkeep_no_such_metric_total']);
  });
});
