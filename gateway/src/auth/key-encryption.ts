import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';

/**
 * Private signing keys at rest: AES-256-GCM with a key derived from AUTH_KEY_ENCRYPTION_SECRET by scrypt
 * (fresh salt per record, so the secret may be a long passphrase rather than raw key bytes). The kid is
 * bound as associated data: a ciphertext copied onto another row does not decrypt.
 *
 * Stored as `v1.<salt>.<iv>.<tag>.<ciphertext>` (base64url parts).
 */
const VERSION = 'v1';

function deriveKey(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function encryptPrivateKey(plaintext: string, secret: string, kid: string): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(secret, salt), iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, salt, iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

export async function decryptPrivateKey(stored: string, secret: string, kid: string): Promise<string> {
  const parts = stored.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new KeyDecryptionError(`signing key ${kid}: unknown encryption format`);
  const [salt, iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer, Buffer];
  try {
    const decipher = createDecipheriv('aes-256-gcm', await deriveKey(secret, salt), iv);
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyDecryptionError(
      `signing key ${kid} does not decrypt with AUTH_KEY_ENCRYPTION_SECRET: the secret differs from the one the key was created with`,
    );
  }
}
