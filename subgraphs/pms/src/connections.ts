import type { AuditOutbox } from '../../../lib/src/audit-outbox.js';
import type { PmsConnection, PrismaClient } from '../../../lib/src/db.js';
import { BadUserInputError, ConflictError, NotFoundError, type FieldProblem } from '../../../lib/src/errors.js';
import { UUID } from '../../../lib/src/validation.js';
import { CREDENTIALS_SCHEMA, type ConnectorRegistry } from './connectors/registry.js';
import { credentialsHint, type CredentialsCipher, type VendorCredentials } from './credentials.js';

/** As the GraphQL inputs arrive (unset fields null or absent). */
export interface CredentialsInput {
  clientToken?: string | null;
  accessToken?: string | null;
  clientId?: string | null;
  clientSecret?: string | null;
}
export interface ConnectPmsInput {
  hotelId: string;
  vendor: string;
  propertyCode: string;
  credentials: CredentialsInput;
}
export interface UpdatePmsConnectionInput {
  hotelId: string;
  vendor?: string | null;
  propertyCode?: string | null;
  credentials?: CredentialsInput | null;
}

/** Who changes a connection, for its audit event. */
export interface Caller {
  actor: string;
  correlationId: string;
}

const PROPERTY_CODE = /^[A-Za-z0-9_-]{1,40}$/;
const CREDENTIAL_FIELDS = { mews: 'clientToken and accessToken', opera: 'clientId and clientSecret' } as const;

/**
 * PMS connection settings: connect, update, disable. Each change and its audit event commit in one
 * transaction (pms.outbox). Credentials are sealed before they touch the database and never leave this
 * module — not in answers, not in audit details (which say only *that* they changed), not in logs.
 */
export class PmsConnections {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      connectors: ConnectorRegistry;
      cipher: CredentialsCipher;
      audit: AuditOutbox;
    },
  ) {}

  /**
   * A new connection for the hotel, or a fresh start for one that was disabled (its pull cursor reset).
   * CONFLICT when the hotel already has a connection that is not disabled (use updatePmsConnection).
   */
  async connect(input: ConnectPmsInput, caller: Caller): Promise<PmsConnection> {
    this.assertHotelId(input.hotelId);
    const credentials = this.validate(input.vendor, input.propertyCode, input.credentials, true)!;
    const sealed = { credentialsCiphertext: this.deps.cipher.seal(credentials, input.hotelId), credentialsHint: credentialsHint(credentials) };
    const fields = { vendor: input.vendor, propertyCode: input.propertyCode, status: 'ACTIVE' as const, lastError: null, pullCursor: null, lastPullAt: null, ...sealed };
    const connection = await this.deps.prisma.$transaction(async (tx) => {
      const existing = await tx.pmsConnection.findUnique({ where: { hotelId: input.hotelId } });
      if (existing && existing.status !== 'DISABLED') throw new ConflictError('This hotel already has a PMS connection: change it with updatePmsConnection', { hotelId: input.hotelId });
      const saved = existing ? await tx.pmsConnection.update({ where: { id: existing.id }, data: fields }) : await tx.pmsConnection.create({ data: { hotelId: input.hotelId, ...fields } });
      await this.audit(tx, caller, saved, 'pms.connection_created', { vendor: saved.vendor, propertyCode: saved.propertyCode, credentialsChanged: true, reconnected: !!existing });
      return saved;
    });
    this.deps.audit.afterCommit();
    return connection;
  }

  /**
   * Changes vendor, property code and/or credentials. A new vendor needs new credentials (another wire
   * style); a new vendor or property resets the pull cursor (it belongs to the old stream).
   */
  async update(input: UpdatePmsConnectionInput, caller: Caller): Promise<PmsConnection> {
    this.assertHotelId(input.hotelId);
    const current = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId: input.hotelId } });
    if (!current) throw new NotFoundError('PmsConnection', input.hotelId);
    const vendor = input.vendor ?? current.vendor;
    const propertyCode = input.propertyCode ?? current.propertyCode;
    if (vendor !== current.vendor && !input.credentials) {
      throw new BadUserInputError([{ field: 'credentials', message: `are required when the vendor changes (${current.vendor} → ${vendor})` }]);
    }
    const credentials = this.validate(vendor, propertyCode, input.credentials ?? null, false);
    const changed = [
      ...(vendor !== current.vendor ? ['vendor'] : []),
      ...(propertyCode !== current.propertyCode ? ['propertyCode'] : []),
      ...(credentials ? ['credentials'] : []),
    ];
    if (!changed.length) return current; // nothing to change, nothing to audit
    const streamMoved = vendor !== current.vendor || propertyCode !== current.propertyCode;
    const connection = await this.deps.prisma.$transaction(async (tx) => {
      const saved = await tx.pmsConnection.update({
        where: { id: current.id },
        data: {
          vendor,
          propertyCode,
          ...(credentials ? { credentialsCiphertext: this.deps.cipher.seal(credentials, input.hotelId), credentialsHint: credentialsHint(credentials) } : {}),
          ...(streamMoved ? { pullCursor: null, lastPullAt: null } : {}),
        },
      });
      await this.audit(tx, caller, saved, 'pms.connection_updated', { vendor, propertyCode, changed, credentialsChanged: !!credentials, ...(vendor !== current.vendor ? { previousVendor: current.vendor } : {}) });
      return saved;
    });
    this.deps.audit.afterCommit();
    return connection;
  }

  /** Stops syncing the hotel: DISABLED, and its queued sync is cancelled. Disabling twice changes nothing. */
  async disable(hotelId: string, caller: Caller): Promise<PmsConnection> {
    this.assertHotelId(hotelId);
    const current = await this.deps.prisma.pmsConnection.findUnique({ where: { hotelId } });
    if (!current) throw new NotFoundError('PmsConnection', hotelId);
    if (current.status === 'DISABLED') return current;
    const connection = await this.deps.prisma.$transaction(async (tx) => {
      const saved = await tx.pmsConnection.update({ where: { id: current.id }, data: { status: 'DISABLED' } });
      await tx.pmsSyncJob.updateMany({ where: { hotelId, status: 'PENDING' }, data: { status: 'CANCELLED', completedAt: new Date(), lockedUntil: null, lastError: 'the PMS connection was disabled' } });
      await this.audit(tx, caller, saved, 'pms.connection_disabled', { vendor: saved.vendor, propertyCode: saved.propertyCode, previousStatus: current.status });
      return saved;
    });
    this.deps.audit.afterCommit();
    return connection;
  }

  private assertHotelId(hotelId: string): void {
    if (!UUID.test(hotelId)) throw new BadUserInputError([{ field: 'hotelId', message: 'must be a valid hotel ID' }]);
  }

  /** Validates vendor, property code and (when given, or required) the credentials of the vendor's style. */
  private validate(vendor: string, propertyCode: string, input: CredentialsInput | null, required: boolean): VendorCredentials | null {
    const problems: FieldProblem[] = [];
    const style = this.deps.connectors.styleOf(vendor);
    if (!style) problems.push({ field: 'vendor', message: `must be one of: ${this.deps.connectors.vendors().join(', ')}` });
    if (!PROPERTY_CODE.test(propertyCode)) problems.push({ field: 'propertyCode', message: 'must be 1–40 letters, digits, "-" or "_"' });
    let credentials: VendorCredentials | null = null;
    if (input) {
      const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as Record<string, string>;
      if (style) {
        const parsed = CREDENTIALS_SCHEMA[style].safeParse(given);
        if (parsed.success) credentials = parsed.data;
        // Field names only: a message must never echo a credential's value.
        else for (const issue of parsed.error.issues) problems.push({ field: `credentials${issue.path.length ? `.${issue.path.join('.')}` : ''}`, message: issue.code === 'unrecognized_keys' ? `${vendor} takes ${CREDENTIAL_FIELDS[style]} only` : issue.message });
      }
    } else if (required) problems.push({ field: 'credentials', message: 'are required' });
    if (problems.length) throw new BadUserInputError(problems);
    return credentials;
  }

  private audit(tx: Parameters<AuditOutbox['record']>[1], caller: Caller, connection: PmsConnection, action: string, details: Record<string, unknown>) {
    return this.deps.audit.record({ actor: caller.actor, action, resourceType: 'PmsConnection', resourceId: connection.id, hotelId: connection.hotelId, correlationId: caller.correlationId, details }, tx);
  }
}
