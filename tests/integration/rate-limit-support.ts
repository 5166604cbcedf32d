import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, type Logger } from '../../lib/src/logger.js';
import type { Metrics } from '../../lib/src/metrics.js';
import type { Principal } from '../../lib/src/identity.js';

/** A logger whose JSON lines land in `lines` (to assert what was logged, and what was not). */
export function capturingLogger(service = 'test'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(service, 'debug', {}, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A fresh Redis key prefix, so no two runs (or files) share a counter. */
export const uniquePrefix = (what: string) => `innkeep:test:${what}:${randomUUID()}:`;

/** Writes `content` to a new temporary limits file and returns its path. */
export function limitsFile(content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'innkeep-limits-'));
  const file = path.join(dir, 'rate-limits.yaml');
  writeFileSync(file, content);
  return file;
}

/** The current value of a counter in a registry (0 when never incremented). */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const user = (id: string): Principal => ({ kind: 'user', id, roles: ['GUEST'], hotelIds: [], scopes: [] });
export const apiKey = (id: string): Principal => ({ kind: 'apiKey', id, roles: [], hotelIds: [], scopes: ['bookings:write'] });
