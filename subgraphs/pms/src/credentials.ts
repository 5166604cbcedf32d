import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';

/**
 * PMS vendor credentials at rest (`pms.connections.credentials_ciphertext`): AES-256-GCM under a key derived
 * once from PMS_CREDENTIALS_KEY (scrypt, a fixed domain salt — the secret may be a long passphrase). The
 * hotel ID is bound as associated data: a ciphertext copied onto another hotel's row does not decrypt.
 * Each value names the key it was sealed with (a short fingerprint), so after a rotation the previous keys
 * (PMS_CREDENTIALS_PREVIOUS_KEYS) still open old rows, and `needsReseal` tells the caller to rewrite them.
 *
 * Stored as `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). Plaintext is the credentials as JSON.
 */
export const DEVELOPMENT_PMS_CREDENTIALS_KEY = 'development-only-pms-credentials-key-do-not-use';

const VERSION = 'v1';
const SALT = 'innkeep:pms-credentials:v1';

interface SealingKey {
  id: string;
  key: Buffer;
}

function sealingKey(secret: string): SealingKey {
  const key = scryptSync(secret, SALT, 32);
  return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
}

export class CredentialsDecryptionError extends Error {
  override name = 'CredentialsDecryptionError';
}

export type VendorCredentials = Record<string, string>;

export class CredentialsCipher {
  private readonly current: SealingKey;
  private readonly byId = new Map<string, SealingKey>();

  /** `current` seals every write; `previous` (oldest last) only open rows sealed before a rotation. */
  constructor(current: string, previous: readonly string[] = []) {
    this.current = sealingKey(current);
    for (const k of [this.current, ...previous.map(sealingKey)]) if (!this.byId.has(k.id)) this.byId.set(k.id, k);
  }

  seal(credentials: VendorCredentials, hotelId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(`pms-connection:${hotelId}`, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, ...[iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'))].join('.');
  }

  open(stored: string, hotelId: string): VendorCredentials {
    const parts = stored.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new CredentialsDecryptionError(`PMS credentials of hotel ${hotelId}: unknown format`);
    const sealing = this.byId.get(parts[1]!);
    if (!sealing) {
      throw new CredentialsDecryptionError(
        `PMS credentials of hotel ${hotelId} were sealed with a key this process does not have (PMS_CREDENTIALS_KEY / PMS_CREDENTIALS_PREVIOUS_KEYS)`,
      );
    }
    const [iv, tag, ciphertext] = parts.slice(2).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
    try {
      const decipher = createDecipheriv('aes-256-gcm', sealing.key, iv);
      decipher.setAAD(Buffer.from(`pms-connection:${hotelId}`, 'utf8'));
      decipher.setAuthTag(tag);
      return JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')) as VendorCredentials;
    } catch {
      throw new CredentialsDecryptionError(`PMS credentials of hotel ${hotelId} do not decrypt: tampered with, or moved from another row`);
    }
  }

  /** Sealed with a previous key: rewrite it with the current one. */
  needsReseal(stored: string): boolean {
    return stored.split('.')[1] !== this.current.id;
  }
}

/** What the API may show of credentials: the last four characters of the secret part, nothing more. */
export function credentialsHint(credentials: VendorCredentials): string {
  const secret = credentials.accessToken ?? credentials.clientSecret ?? '';
  return `…${secret.slice(-4)}`;
}
