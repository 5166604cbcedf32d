import { z } from 'zod';
import type { Logger } from './logger.js';

/**
 * Critical-error notifications: a webhook fired when something needs a human now — an unexpected
 * (INTERNAL_SERVER_ERROR) error, an unhandled rejection, an audit chain that does not verify, a forged
 * audit stream entry. Slack-compatible (`text`), PagerDuty Events v2 (`routing_key`, `event_action`,
 * `dedup_key`, `payload`) or a plain JSON body. The payload names the service, the kind, a code and the
 * correlation ID — never a message text, argument or guest data (an error message can hold PII).
 *
 * Bounded: one notification per (kind, code) per ALERT_MIN_INTERVAL_SECONDS per process, the rest are
 * counted into the next one (`suppressed`); delivery is fire-and-forget with a timeout, and a failed
 * delivery is only logged — an alert never slows or fails a request.
 */
export const alertConfigShape = {
  /** Where critical-error notifications are POSTed (unset = off). */
  ALERT_WEBHOOK_URL: z.url().optional(),
  /** Body format: generic JSON, slack (incoming webhook `text`), or pagerduty (Events API v2). */
  ALERT_WEBHOOK_FORMAT: z.enum(['generic', 'slack', 'pagerduty']).default('generic'),
  /** PagerDuty Events v2 integration key (ALERT_WEBHOOK_FORMAT=pagerduty). */
  ALERT_PAGERDUTY_ROUTING_KEY: z.string().min(1).optional(),
  /** At most one notification per kind and code in this many seconds, per process. */
  ALERT_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
};
export type AlertConfig = z.infer<z.ZodObject<typeof alertConfigShape>>;

export type AlertKind = 'unexpected_error' | 'unhandled_rejection' | 'audit_chain_invalid' | 'audit_entry_forged';

export interface CriticalAlert {
  kind: AlertKind;
  /** One line, written by us (never an error's own message). */
  summary: string;
  code?: string;
  correlationId?: string;
  /** Facts only: IDs, counts, names. */
  details?: Record<string, string | number | boolean | null>;
}

export class AlertNotifier {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly service: string,
    private readonly config: AlertConfig,
    private readonly logger: Logger,
  ) {}

  /** Sends (or counts, inside the interval) one critical alert. Never throws, never waits. */
  critical(alert: CriticalAlert): void {
    if (!this.config.ALERT_WEBHOOK_URL) return;
    const key = `${alert.kind}|${alert.code ?? ''}`;
    const now = Date.now();
    const previous = this.last.get(key);
    if (previous && now - previous.at < this.config.ALERT_MIN_INTERVAL_SECONDS * 1000) {
      previous.suppressed += 1;
      return;
    }
    this.last.set(key, { at: now, suppressed: 0 });
    void this.deliver(alert, previous?.suppressed ?? 0);
  }

  private async deliver(alert: CriticalAlert, suppressed: number): Promise<void> {
    const occurredAt = new Date().toISOString();
    const facts = { service: this.service, kind: alert.kind, code: alert.code ?? null, correlationId: alert.correlationId ?? null, occurredAt, suppressedSinceLast: suppressed, ...alert.details };
    let body: unknown;
    switch (this.config.ALERT_WEBHOOK_FORMAT) {
      case 'slack':
        body = {
          text: `:rotating_light: [${this.service}] ${alert.summary}`,
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: `*[${this.service}] ${alert.summary}*` } },
            { type: 'context', elements: Object.entries(facts).map(([k, v]) => ({ type: 'mrkdwn', text: `${k}: \`${String(v)}\`` })) },
          ],
        };
        break;
      case 'pagerduty':
        body = {
          routing_key: this.config.ALERT_PAGERDUTY_ROUTING_KEY,
          event_action: 'trigger',
          dedup_key: `innkeep:${this.service}:${alert.kind}:${alert.code ?? ''}`,
          payload: { summary: `[${this.service}] ${alert.summary}`, source: `innkeep-${this.service}`, severity: 'critical', component: this.service, class: alert.kind, custom_details: facts },
        };
        break;
      default:
        body = { severity: 'critical', summary: alert.summary, ...facts };
    }
    try {
      const response = await fetch(this.config.ALERT_WEBHOOK_URL!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
      if (!response.ok) this.logger.warn({ status: response.status, kind: alert.kind }, 'critical alert not accepted by the webhook');
    } catch (error) {
      this.logger.warn({ err: error, kind: alert.kind }, 'critical alert could not be delivered');
    }
  }
}

/** The process's notifier (configured once by runMain, like the tracer); off until then. */
let notifier: AlertNotifier | undefined;
export function configureAlerts(service: string, config: AlertConfig, logger: Logger): AlertNotifier {
  notifier = new AlertNotifier(service, config, logger);
  return notifier;
}
export function notifyCritical(alert: CriticalAlert): void {
  notifier?.critical(alert);
}
