import type { OutboxMessage } from './outbox.js';

/** The audit subgraph's ingestion endpoint, beside its GraphQL endpoint. */
export const auditIngestUrl = (auditGraphqlUrl: string) => new URL('/internal/audit-events', auditGraphqlUrl).toString();

/**
 * Ships outbox messages to the audit subgraph. The receiver is idempotent by event ID, so a resend after
 * a crash between delivery and acknowledgement cannot duplicate an event.
 */
export async function deliverToAudit(url: string, messages: OutboxMessage[], producer: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollographql-client-name': producer },
    body: JSON.stringify({ events: messages.map((m) => m.payload) }),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`audit ingestion answered ${response.status}`);
}
