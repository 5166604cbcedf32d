import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * API key format: `ik_<prefix>_<secret>`. The prefix (8 of [a-z0-9]) is public: it finds the row and is
 * shown in listings. The secret is 256 random bits (base64url, 43 chars); only its SHA-256 is stored —
 * a slow hash buys nothing against 256-bit secrets, and a fast one keeps every API request cheap.
 */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const FORMAT = /^ik_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  prefix: string;
  /** The whole key, `ik_<prefix>_<secret>`: shown to the creator once, never stored. */
  key: string;
  secretHash: string;
}

export const hashApiKeySecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

export function generateApiKey(): NewApiKey {
  const prefix = Array.from({ length: 8 }, () => PREFIX_ALPHABET[randomInt(PREFIX_ALPHABET.length)]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { prefix, key: `ik_${prefix}_${secret}`, secretHash: hashApiKeySecret(secret) };
}

export function parseApiKey(key: string): { prefix: string; secret: string } | undefined {
  const match = typeof key === 'string' ? FORMAT.exec(key.trim()) : null;
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKeySecret(secret), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
