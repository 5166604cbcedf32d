import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { PrismaClient } from '../../../lib/src/db.js';
import type { Logger } from '../../../lib/src/logger.js';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.js';

/** The built-in issuer signs with ES256 (P-256): short signatures, fast verification, no RSA key sizes. */
export const SIGNING_ALGORITHM = 'ES256';

/** Generates an ES256 key pair and stores it (private half encrypted). kid = RFC 7638 thumbprint. */
export async function createSigningKey(
  prisma: PrismaClient,
  options: { encryptionSecret: string; development: boolean; now?: Date },
): Promise<{ kid: string }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  await prisma.signingKey.create({
    data: {
      kid,
      alg: SIGNING_ALGORITHM,
      publicJwk: { ...publicJwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' },
      privateJwkEncrypted: await encryptPrivateKey(JSON.stringify(privateJwk), options.encryptionSecret, kid),
      development: options.development,
      createdAt: options.now ?? new Date(),
    },
  });
  return { kid };
}

export interface VerificationKey {
  kid: string;
  alg: string;
  key: CryptoKey | Uint8Array;
  publicJwk: JWK;
  /** Epoch ms after which the key no longer verifies; null = no retirement planned. */
  retireAfter: number | null;
}

export interface SigningMaterial {
  kid: string;
  alg: string;
  privateKey: CryptoKey | Uint8Array;
}

export interface SigningKeyStoreOptions {
  prisma: PrismaClient;
  logger: Logger;
  encryptionSecret: string;
  /** Production ignores development keys entirely (neither signs nor verifies) and never generates one. */
  production: boolean;
  /** How long the key set is trusted before it is re-read from the database. Default 30 s. */
  cacheTtlMs?: number;
  /** An unknown kid re-reads the key set, but not more often than this (an attacker can send any kid). Default 1 s. */
  unknownKidReloadIntervalMs?: number;
  now?: () => number;
}

export interface SigningKeyStore {
  /**
   * Loads the keys. Outside production, generates a development key when no usable one exists; in
   * production, throws when there is none (or the newest one cannot be decrypted).
   */
  initialize(): Promise<void>;
  /** The newest key without a retirement date. */
  signingKey(): Promise<SigningMaterial>;
  /** The key for `kid` when it is known and not past `retire_after`. */
  verificationKey(kid: string): Promise<VerificationKey | undefined>;
  /** Public halves of every key that still verifies (GET /.well-known/jwks.json). */
  publicKeys(): Promise<JWK[]>;
}

interface KeySet {
  verification: Map<string, VerificationKey>;
  /** kid + encrypted private JWK of the signing key, or undefined when every key is retiring. */
  signer?: { kid: string; alg: string; encrypted: string };
}

export function createSigningKeyStore(options: SigningKeyStoreOptions): SigningKeyStore {
  const { prisma, logger, encryptionSecret, production } = options;
  const cacheTtlMs = options.cacheTtlMs ?? 30_000;
  const unknownKidReloadIntervalMs = options.unknownKidReloadIntervalMs ?? 1000;
  const now = options.now ?? Date.now;

  let keySet: KeySet = { verification: new Map() };
  let loadedAt = -Infinity;
  let loading: Promise<void> | undefined;
  // Decrypting costs a scrypt derivation: each private key is decrypted once per process.
  const privateKeys = new Map<string, Promise<CryptoKey | Uint8Array>>();

  async function readKeySet(): Promise<KeySet> {
    const at = new Date(now());
    const rows = await prisma.signingKey.findMany({
      where: { OR: [{ retireAfter: null }, { retireAfter: { gt: at } }], ...(production ? { development: false } : {}) },
      orderBy: { createdAt: 'desc' },
    });
    const verification = new Map<string, VerificationKey>();
    for (const row of rows) {
      const publicJwk = row.publicJwk as JWK;
      verification.set(row.kid, {
        kid: row.kid,
        alg: row.alg,
        key: await importJWK(publicJwk, row.alg),
        publicJwk,
        retireAfter: row.retireAfter?.getTime() ?? null,
      });
    }
    const signerRow = rows.find((r) => r.retireAfter === null);
    return { verification, signer: signerRow && { kid: signerRow.kid, alg: signerRow.alg, encrypted: signerRow.privateJwkEncrypted } };
  }

  /** One reload at a time; a failed reload keeps the previous key set (the database may be restarting). */
  function reload(): Promise<void> {
    loading ??= readKeySet()
      .then((next) => {
        keySet = next;
        loadedAt = now();
      })
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'could not re-read signing keys; keeping the cached set');
        loadedAt = now() - cacheTtlMs + 5000; // try again in 5 s, not on every request
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  }

  async function fresh(): Promise<KeySet> {
    if (now() - loadedAt >= cacheTtlMs) await reload();
    return keySet;
  }

  function privateKeyOf(signer: NonNullable<KeySet['signer']>): Promise<CryptoKey | Uint8Array> {
    let key = privateKeys.get(signer.kid);
    if (!key) {
      key = decryptPrivateKey(signer.encrypted, encryptionSecret, signer.kid).then((json) => importJWK(JSON.parse(json) as JWK, signer.alg));
      key.catch(() => privateKeys.delete(signer.kid));
      privateKeys.set(signer.kid, key);
    }
    return key;
  }

  const isLive = (key: VerificationKey) => key.retireAfter === null || key.retireAfter > now();

  return {
    async initialize() {
      keySet = await readKeySet();
      loadedAt = now();
      if (!keySet.signer) {
        if (production) {
          throw new Error(
            'No signing key for access tokens (development keys are ignored in production). ' +
              'Create one with `npm run auth:rotate-keys` (needs DATABASE_URL and AUTH_KEY_ENCRYPTION_SECRET).',
          );
        }
        const { kid } = await createSigningKey(prisma, { encryptionSecret, development: true });
        logger.info({ kid }, 'generated a development signing key');
        keySet = await readKeySet();
        loadedAt = now();
      }
      await privateKeyOf(keySet.signer!); // a wrong AUTH_KEY_ENCRYPTION_SECRET fails here, at start-up
    },

    async signingKey() {
      const { signer } = await fresh();
      if (!signer) throw new Error('No active signing key: every key is retiring. Run `npm run auth:rotate-keys`.');
      return { kid: signer.kid, alg: signer.alg, privateKey: await privateKeyOf(signer) };
    },

    async verificationKey(kid) {
      let key = (await fresh()).verification.get(kid);
      if (!key && now() - loadedAt >= unknownKidReloadIntervalMs) {
        // Possibly a key another replica (or `auth:rotate-keys`) just added.
        await reload();
        key = keySet.verification.get(kid);
      }
      return key && isLive(key) ? key : undefined;
    },

    async publicKeys() {
      return [...(await fresh()).verification.values()].filter(isLive).map((k) => k.publicJwk);
    },
  };
}
