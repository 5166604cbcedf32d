import type { PrismaClient } from '../../../lib/src/db.js';
import { createSigningKey } from './signing-keys.js';

/**
 * Signing-key rotation (`npm run auth:rotate-keys`). The new key signs from the next key-cache refresh
 * (≤ 30 s) of every gateway; older keys get `retire_after = now + access-token TTL + 5 min`, so every
 * token they signed — including during those 30 s — expires before they stop verifying.
 */
export const RETIREMENT_GRACE_SECONDS = 300;

export interface RotationResult {
  kid: string;
  retiring: Array<{ kid: string; retireAfter: Date }>;
}

export async function rotateSigningKeys(
  prisma: PrismaClient,
  options: { encryptionSecret: string; accessTokenTtlSeconds: number; development: boolean; now?: Date },
): Promise<RotationResult> {
  const now = options.now ?? new Date();
  const retireAfter = new Date(now.getTime() + (options.accessTokenTtlSeconds + RETIREMENT_GRACE_SECONDS) * 1000);
  const { kid } = await createSigningKey(prisma, { encryptionSecret: options.encryptionSecret, development: options.development, now });
  // Never postpone a retirement that is already nearer.
  await prisma.signingKey.updateMany({
    where: { kid: { not: kid }, OR: [{ retireAfter: null }, { retireAfter: { gt: retireAfter } }] },
    data: { retireAfter },
  });
  const retiring = await prisma.signingKey.findMany({
    where: { kid: { not: kid }, retireAfter: { gt: now } },
    select: { kid: true, retireAfter: true },
    orderBy: { createdAt: 'asc' },
  });
  return { kid, retiring: retiring.map((r) => ({ kid: r.kid, retireAfter: r.retireAfter! })) };
}

/** signing: new tokens use it; verifying: old tokens still verify (until retire_after, if set); retired: dead. */
export type SigningKeyStatus = 'signing' | 'verifying' | 'retired';

export interface SigningKeyListing {
  kid: string;
  alg: string;
  development: boolean;
  createdAt: Date;
  retireAfter: Date | null;
  status: SigningKeyStatus;
}

export async function listSigningKeys(prisma: PrismaClient, now = new Date()): Promise<SigningKeyListing[]> {
  const rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' } });
  const newestActive = rows.filter((r) => r.retireAfter === null).at(-1)?.kid;
  return rows.map((r) => ({
    kid: r.kid,
    alg: r.alg,
    development: r.development,
    createdAt: r.createdAt,
    retireAfter: r.retireAfter,
    status: r.kid === newestActive ? 'signing' : r.retireAfter && r.retireAfter <= now ? 'retired' : 'verifying',
  }));
}

/** Deletes keys past their retirement (they no longer verify anything). */
export async function pruneRetiredKeys(prisma: PrismaClient, now = new Date()): Promise<string[]> {
  const retired = await prisma.signingKey.findMany({ where: { retireAfter: { lte: now } }, select: { kid: true } });
  await prisma.signingKey.deleteMany({ where: { kid: { in: retired.map((r) => r.kid) } } });
  return retired.map((r) => r.kid);
}
