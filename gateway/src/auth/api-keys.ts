import type { RawExecutor } from '../../../lib/src/audit-outbox.js';
import { singleHotel, type AuditMeta, type AuthAudit } from './audit.js';
import { z } from 'zod';
import type { PrismaClient } from '../../../lib/src/db.js';
import { AppError, ConflictError, ErrorCode, NotFoundError } from '../../../lib/src/errors.js';
import { actorOf, hasRole, isPlatformAdmin, SCOPES, type Principal } from '../../../lib/src/identity.js';
import { isUuid, UUID, validateInput } from '../../../lib/src/validation.js';
import { authzDeniedFact } from '../../../lib/src/request-audit.js';
import { generateApiKey } from './api-key-secret.js';
import type { UsageCounter } from './api-key-usage.js';

export interface ApiKeyView {
  id: string;
  prefix: string;
  name: string;
  scopes: string[];
  hotelIds: string[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  validUntil: Date | null;
  lastUsedAt: Date | null;
  usageCount: number;
}

export interface ApiKeyService {
  create(input: { name: string; scopes: string[]; hotelIds: string[]; expiresAt?: Date | null }, by: Principal, meta?: AuditMeta): Promise<{ apiKey: ApiKeyView; secret: string }>;
  rotate(id: string, by: Principal, meta?: AuditMeta): Promise<{ apiKey: ApiKeyView; secret: string; previousValidUntil: Date }>;
  revoke(id: string, by: Principal, meta?: AuditMeta): Promise<ApiKeyView>;
  list(by: Principal, meta?: AuditMeta): Promise<ApiKeyView[]>;
}

const dedupe = <T>(values: T[]) => [...new Set(values)];

const createInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100),
  scopes: z.array(z.enum(SCOPES)).min(1, 'name at least one scope').transform(dedupe),
  hotelIds: z.array(z.string().regex(UUID, 'must be a hotel ID (UUID)').transform((s) => s.toLowerCase())).max(100).transform(dedupe),
  expiresAt: z.date().nullable().optional().refine((d) => !d || d.getTime() > Date.now(), 'must be in the future'),
});

type Row = Awaited<ReturnType<PrismaClient['apiKey']['findUniqueOrThrow']>>;

/**
 * Who may manage which keys: a PLATFORM_ADMIN every key; a HOTEL_MANAGER only keys whose hotels are all
 * theirs (and never a key without hotels, which would act for none of them); nobody else. Another
 * tenant's key answers NOT_FOUND, exactly like a missing one.
 */
type Reach = 'all' | readonly string[];
function reachOf(by: Principal): Reach | null {
  if (by.kind === 'user' && isPlatformAdmin(by)) return 'all';
  if (by.kind === 'user' && hasRole(by, 'HOTEL_MANAGER')) return by.hotelIds;
  return null;
}
const within = (reach: Reach, hotelIds: string[]) => reach === 'all' || (hotelIds.length > 0 && hotelIds.every((h) => reach.includes(h)));

export function createApiKeyService(options: { prisma: PrismaClient; usage: UsageCounter; rotationOverlapSeconds: number; audit?: AuthAudit }): ApiKeyService {
  const { prisma, usage, rotationOverlapSeconds, audit } = options;
  /** The key's audit event, written in the transaction that changed the key. */
  const recordKey = (tx: RawExecutor, action: 'api_key.created' | 'api_key.rotated' | 'api_key.revoked', row: { id: string; name: string; scopes: string[]; hotelIds: string[]; prefix: string }, by: Principal, meta: AuditMeta, extra: Record<string, unknown> = {}) =>
    audit?.record(
      {
        actor: actorOf(by),
        action,
        resourceType: 'ApiKey',
        resourceId: row.id,
        hotelId: singleHotel(row.hotelIds),
        correlationId: meta.correlationId ?? null,
        // The key's public prefix identifies it in logs; the secret never leaves the response that created it.
        details: { name: row.name, prefix: row.prefix, scopes: row.scopes, hotelIds: row.hotelIds, ...extra },
      },
      tx,
    );

  function view(row: Row): ApiKeyView {
    const unflushed = usage.pending(row.id);
    const lastUsedAt =
      unflushed && (!row.lastUsedAt || unflushed.lastUsedAt > row.lastUsedAt) ? unflushed.lastUsedAt : row.lastUsedAt;
    return {
      id: row.id,
      prefix: row.prefix,
      name: row.name,
      scopes: row.scopes,
      hotelIds: row.hotelIds,
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt,
      validUntil: row.validUntil,
      lastUsedAt,
      usageCount: Number(row.usageCount) + (unflushed?.count ?? 0),
    };
  }

  /**
   * A refusal of these identity rules is audited like a shield rule's (lib/src/request-audit.ts
   * `authz.denied`; the caller is authenticated: requireIdentity answered anonymous callers already).
   */
  async function refuse(by: Principal, meta: AuditMeta, field: string, rule: string, message: string): Promise<never> {
    const request = { principal: by, correlationId: meta.correlationId ?? null, service: 'gateway', operation: null, operationType: field === 'apiKeys' ? ('query' as const) : ('mutation' as const) };
    await audit?.record(authzDeniedFact(request, [{ path: field, rule }]));
    throw new AppError(ErrorCode.FORBIDDEN, message);
  }
  const reachFor = async (by: Principal, meta: AuditMeta, field: string) =>
    reachOf(by) ?? refuse(by, meta, field, 'apiKeyManager', 'Only platform admins and hotel managers may manage API keys');

  /** The key, if it exists and `by` may manage it; NOT_FOUND otherwise (no tenant learns of another's keys). */
  async function manageable(id: string, by: Principal, meta: AuditMeta, field: string): Promise<Row> {
    const reach = await reachFor(by, meta, field);
    const row = isUuid(id) ? await prisma.apiKey.findUnique({ where: { id } }) : null;
    if (!row || !within(reach, row.hotelIds)) throw new NotFoundError('ApiKey', id);
    return row;
  }

  async function insert(data: { name: string; scopes: string[]; hotelIds: string[]; expiresAt: Date | null; createdBy: string }, db: Pick<PrismaClient, 'apiKey'> = prisma) {
    const { prefix, key, secretHash } = generateApiKey();
    const row = await db.apiKey.create({ data: { ...data, prefix, secretHash } });
    return { row, secret: key };
  }

  return {
    async create(input, by, meta = {}) {
      const reach = await reachFor(by, meta, 'createApiKey');
      const valid = validateInput(createInput, input, 'input');
      if (!within(reach, valid.hotelIds)) {
        await refuse(by, meta, 'createApiKey', 'apiKeyHotelsOwn', 'A hotel manager may create API keys only for their own hotels (at least one)');
      }
      const { row, secret } = await prisma.$transaction(async (tx) => {
        const created = await insert({ ...valid, expiresAt: valid.expiresAt ?? null, createdBy: actorOf(by) }, tx);
        await recordKey(tx, 'api_key.created', created.row, by, meta, { expiresAt: created.row.expiresAt?.toISOString() ?? null });
        return created;
      });
      return { apiKey: view(row), secret };
    },

    async rotate(id, by, meta = {}) {
      const old = await manageable(id, by, meta, 'rotateApiKey');
      if (old.revokedAt) throw new ConflictError('A revoked API key cannot be rotated');
      if (old.replacedById) throw new ConflictError('This API key was already rotated; rotate its replacement');
      if (old.expiresAt && old.expiresAt.getTime() <= Date.now()) throw new ConflictError('An expired API key cannot be rotated');
      const overlapEnd = new Date(Date.now() + rotationOverlapSeconds * 1000);
      const previousValidUntil = old.validUntil && old.validUntil < overlapEnd ? old.validUntil : overlapEnd;
      const created = await prisma.$transaction(async (tx) => {
        const fresh = await insert(
          { name: old.name, scopes: old.scopes, hotelIds: old.hotelIds, expiresAt: old.expiresAt, createdBy: actorOf(by) },
          tx,
        );
        // Conditional: of two concurrent rotations, one wins; the other rolls back its new key.
        const claimed = await tx.apiKey.updateMany({
          where: { id: old.id, revokedAt: null, replacedById: null },
          data: { validUntil: previousValidUntil, replacedById: fresh.row.id },
        });
        if (claimed.count !== 1) throw new ConflictError('This API key was rotated or revoked concurrently');
        await recordKey(tx, 'api_key.rotated', fresh.row, by, meta, { replaces: old.id, previousValidUntil: previousValidUntil.toISOString() });
        return fresh;
      });
      return { apiKey: view(created.row), secret: created.secret, previousValidUntil };
    },

    async revoke(id, by, meta = {}) {
      const row = await manageable(id, by, meta, 'revokeApiKey');
      if (row.revokedAt) return view(row);
      return view(
        await prisma.$transaction(async (tx) => {
          const revoked = await tx.apiKey.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
          await recordKey(tx, 'api_key.revoked', revoked, by, meta);
          return revoked;
        }),
      );
    },

    async list(by, meta = {}) {
      const reach = await reachFor(by, meta, 'apiKeys');
      const rows = await prisma.apiKey.findMany({
        where: reach === 'all' ? {} : { hotelIds: { hasSome: [...reach] } },
        orderBy: { createdAt: 'desc' },
      });
      return rows.filter((r) => within(reach, r.hotelIds)).map(view);
    },
  };
}
