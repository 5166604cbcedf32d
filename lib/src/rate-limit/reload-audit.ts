import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuditFact, AuditRecorder } from '../audit-outbox.js';
import type { Logger } from '../logger.js';
import type { RateLimitSettings } from './settings.js';

/** One SIGHUP re-read of the limits file, as the audit trail records it (`config.rate_limits_reloaded`). */
export interface RateLimitReload {
  /** The file as the process names it (a path relative to its working directory). */
  file: string;
  outcome: 'ok' | 'refused';
  /** SHA-256 of the file that was in force before / of the file read now (null: unreadable). */
  previousHash: string | null;
  newHash: string | null;
  /** Entries whose limits differ (`fields.Query.availableRooms`, `apiKeys.<id>`, `budgets.user`, `login`); empty when refused. */
  changedKeys: string[];
  /** Why a bad file was refused (validation messages name entries, never values of secrets: the file holds none). */
  reason?: string;
}

/** The file's SHA-256 (hex), or null when it cannot be read: content is never recorded, only its hash. */
export function fileDigest(file: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/** The entries of the limits that differ between two settings (one name per field / API key / tier). */
export function changedRateLimitKeys(before: RateLimitSettings, after: RateLimitSettings): string[] {
  const flat = (s: RateLimitSettings) =>
    new Map<string, string>([
      ...[...s.fields].map(([field, limits]) => [`fields.${field}`, JSON.stringify(limits)] as const),
      ...[...s.apiKeys].map(([id, key]) => [`apiKeys.${id}`, JSON.stringify({ ...key, fields: Object.fromEntries(key.fields) })] as const),
      ...Object.entries(s.budgets).map(([tier, budget]) => [`budgets.${tier}`, JSON.stringify(budget)] as const),
      ['login', JSON.stringify(s.login)],
      ['loginPerIp', JSON.stringify(s.loginPerIp)],
      ['webhookPerIp', JSON.stringify(s.webhookPerIp)],
    ]);
  const a = flat(before);
  const b = flat(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((key) => a.get(key) !== b.get(key)).sort();
}

/** A reload as an audit fact of `service` (the platform chain: limits are not one hotel's). */
export const rateLimitReloadFact = (service: string, reload: RateLimitReload): AuditFact => ({
  actor: `system:${service}`,
  action: 'config.rate_limits_reloaded',
  resourceType: 'Config',
  resourceId: 'rate-limits',
  hotelId: null,
  correlationId: null,
  details: { service, ...reload },
});

/** A process's `onReload`: records each reload; a failed write is logged and never fails the reload. */
export const auditRateLimitReload = (service: string, audit: AuditRecorder, logger: Logger) => (reload: RateLimitReload) =>
  void audit.record(rateLimitReloadFact(service, reload)).catch((error: unknown) => logger.error({ err: error }, 'audit event NOT recorded: config.rate_limits_reloaded'));
