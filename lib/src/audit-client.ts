import { v7 as uuidv7 } from 'uuid';
import { servicePrincipal } from './authz.js';
import { CORRELATION_HEADER } from './correlation.js';
import type { InternalTokenSigner } from './internal-token.js';
import type { OutboxMessage } from './outbox.js';

/** The audit subgraph's ingestion endpoint, beside its GraphQL endpoint. */
export const auditIngestUrl = (auditGraphqlUrl: string) => new URL('/internal/audit-events', auditGraphqlUrl).toString();

/** The only scope the audit ingestion route accepts (from service principals only). */
export const AUDIT_WRITE_SCOPE = 'audit:write';

export interface AuditProducer {
  /** The producing subgraph, e.g. `booking`: the internal token's subject and issuer. */
  name: string;
  /** Signs with the producer as issuer (`new InternalTokenSigner(secret, name)`). */
  signer: InternalTokenSigner;
}

/**
 * Ships outbox messages to the audit subgraph, as the producer's service principal with `audit:write`.
 * The receiver is idempotent by event ID, so a resend after a crash between delivery and acknowledgement
 * cannot duplicate an event.
 */
export async function deliverToAudit(url: string, messages: OutboxMessage[], producer: AuditProducer): Promise<void> {
  // One correlation ID per delivery: the audit log line of this batch can be found from the relay's.
  const correlationId = uuidv7();
  const token = await producer.signer.sign(servicePrincipal(producer.name, [AUDIT_WRITE_SCOPE]), 'audit', correlationId);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      [CORRELATION_HEADER]: correlationId,
      'apollographql-client-name': producer.name,
    },
    body: JSON.stringify({ events: messages.map((m) => m.payload) }),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`audit ingestion answered ${response.status}`);
}
