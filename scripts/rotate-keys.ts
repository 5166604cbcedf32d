/**
 * `npm run auth:rotate-keys [-- --dev | --list | --prune]` — rotates the built-in issuer's signing keys in
 * DATABASE_URL (gateway/src/auth/key-rotation.ts):
 *   (no flag)  adds a new ES256 key; older keys stop signing at once (within the gateways' 30 s key cache)
 *              and keep verifying until now + ACCESS_TOKEN_TTL_SECONDS + 5 min, their `retire_after`.
 *   --dev      marks the new key as a development key (refused with NODE_ENV=production; production
 *              ignores development keys).
 *   --list     shows every key and its status; changes nothing.
 *   --prune    deletes keys past their retire_after.
 * Needs DATABASE_URL and AUTH_KEY_ENCRYPTION_SECRET (the same secret the gateways run with; outside
 * production, --dev and --list fall back to the development default).
 */
import { z } from 'zod';
import { DEVELOPMENT_KEY_ENCRYPTION_SECRET } from '../gateway/src/auth/config.js';
import { listSigningKeys, pruneRetiredKeys, rotateSigningKeys } from '../gateway/src/auth/key-rotation.js';
import { createDatabase } from '../lib/src/db.js';

const USAGE = 'usage: npm run auth:rotate-keys [-- --dev | --list | --prune]';

async function main(): Promise<void> {
  const flags = new Set(process.argv.slice(2));
  const unknown = [...flags].filter((f) => !['--dev', '--list', '--prune'].includes(f));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}\n${USAGE}`);
  const production = process.env.NODE_ENV === 'production';
  const development = flags.has('--dev');
  if (development && production) throw new Error('--dev is refused with NODE_ENV=production: production ignores development keys');

  const env = z
    .object({
      DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'DATABASE_URL must be set to a postgres:// URL' }),
      AUTH_KEY_ENCRYPTION_SECRET: z.string().min(32, 'AUTH_KEY_ENCRYPTION_SECRET must be at least 32 characters').optional(),
      ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    })
    .safeParse(process.env);
  if (!env.success) throw new Error(`${env.error.issues.map((i) => i.message).join('\n')}\n${USAGE}`);
  const { DATABASE_URL, ACCESS_TOKEN_TTL_SECONDS } = env.data;

  const db = createDatabase({ url: DATABASE_URL, poolSize: 1, acquireTimeoutMs: 5000, applicationName: 'innkeep-rotate-keys' });
  try {
    if (flags.has('--list')) {
      const keys = await listSigningKeys(db.prisma);
      if (keys.length === 0) console.log('No signing keys yet (the gateway creates a development key at first start outside production).');
      for (const k of keys) {
        console.log(`${k.kid}  ${k.alg}  ${k.status.padEnd(9)}  created ${k.createdAt.toISOString()}` +
          `${k.retireAfter ? `  retire_after ${k.retireAfter.toISOString()}` : ''}${k.development ? '  (development)' : ''}`);
      }
      return;
    }
    if (flags.has('--prune')) {
      const pruned = await pruneRetiredKeys(db.prisma);
      console.log(pruned.length ? `Deleted retired keys:\n  ${pruned.join('\n  ')}` : 'No retired keys to delete.');
      return;
    }
    let secret = env.data.AUTH_KEY_ENCRYPTION_SECRET;
    if (!secret && development && !production) secret = DEVELOPMENT_KEY_ENCRYPTION_SECRET;
    if (!secret) throw new Error('AUTH_KEY_ENCRYPTION_SECRET is not set: use the secret the gateways run with (or --dev in development)');
    if (production && secret === DEVELOPMENT_KEY_ENCRYPTION_SECRET) throw new Error('AUTH_KEY_ENCRYPTION_SECRET is the development default: refused in production');

    const { kid, retiring } = await rotateSigningKeys(db.prisma, { encryptionSecret: secret, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS, development });
    console.log(`New signing key: ${kid}${development ? ' (development)' : ''}`);
    console.log('Gateways sign with it within 30 s (their key cache); tokens of older keys keep verifying until they expire.');
    for (const r of retiring) console.log(`Retiring: ${r.kid} (verifies until ${r.retireAfter.toISOString()})`);
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  const e = (error instanceof AggregateError && error.errors[0] ? error.errors[0] : error) as { message?: string };
  console.error(`Key rotation failed: ${e.message || String(error)}`);
  process.exit(1);
});
