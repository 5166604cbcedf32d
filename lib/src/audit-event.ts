import { v7 as uuidv7 } from 'uuid';

/** What producers send to the audit subgraph (through their outbox). Never secrets or raw guest PII. */
export interface AuditEventInput {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  hotelId: string | null;
  correlationId: string | null;
  details: Record<string, unknown>;
}

export const AUDIT_TOPIC = 'audit.event';

export function auditEvent(fields: Omit<AuditEventInput, 'id' | 'occurredAt'>): AuditEventInput {
  return { id: uuidv7(), occurredAt: new Date().toISOString(), ...fields };
}
