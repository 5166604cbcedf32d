import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * How PMS vendors sign webhooks (docs/pms-webhooks.md): `Innkeep-Webhook-Timestamp: <unix seconds>` and
 * `Innkeep-Webhook-Signature: v1=<hex>[,v1=<hex>…]`, where each hex is
 * HMAC-SHA256(secret, `${timestamp}.${rawBody}`). Several signatures let a vendor sign with the old and
 * the new secret while a rotation is under way; several secrets per vendor let us accept both meanwhile.
 */
export const TIMESTAMP_HEADER = 'innkeep-webhook-timestamp';
export const SIGNATURE_HEADER = 'innkeep-webhook-signature';
export const SIGNATURE_SCHEME = 'v1';

/** The vendors that may send webhooks, each with its secrets (newest first; more than one only during a rotation). */
export type WebhookSecrets = Readonly<Record<string, readonly string[]>>;

/** Vendor names as they appear in the path and in pms.connections.vendor. */
export const WEBHOOK_VENDORS = ['mews', 'opera'] as const;

/** Development defaults: known to everyone, so production refuses to start with them (server.ts). */
export const DEVELOPMENT_WEBHOOK_SECRETS: WebhookSecrets = {
  mews: ['dev-mews-webhook-secret-change-me-0001'],
  opera: ['dev-opera-webhook-secret-change-me-0001'],
};

/**
 * `PMS_WEBHOOK_SECRETS` as JSON: `{"mews":["current","previous"],"opera":["current"]}`. Empty counts as
 * unset (docker compose passes `${PMS_WEBHOOK_SECRETS:-}`), i.e. the development defaults.
 */
export const webhookSecretsSchema = z.preprocess((value) => (value === '' ? undefined : value), z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON like {"mews":["current-secret","previous-secret"]}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.partialRecord(
      z.enum(WEBHOOK_VENDORS),
      z.array(z.string().min(32, 'each webhook secret needs at least 32 characters')).min(1).max(3, 'at most 3 secrets per vendor (current + previous during a rotation)'),
    ),
  )
  .transform((secrets) => secrets as WebhookSecrets)
  .default(DEVELOPMENT_WEBHOOK_SECRETS));

/** True when any vendor still has a development default secret (refused in production). */
export const usesDevelopmentSecrets = (secrets: WebhookSecrets): boolean =>
  Object.entries(secrets).some(([vendor, list]) => list.some((secret) => DEVELOPMENT_WEBHOOK_SECRETS[vendor]?.includes(secret)));

/** The signature of one delivery with one secret (hex): what vendors compute, and what we compare. */
export function signWebhook(secret: string, timestamp: string | number, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

export type SignatureVerdict =
  | { ok: true; signedAt: Date }
  | { ok: false; reason: 'MISSING_SIGNATURE' | 'BAD_SIGNATURE' | 'STALE_TIMESTAMP' };

/**
 * Checks one delivery: a well-formed timestamp and signature header, a v1 signature that matches one of
 * the vendor's secrets (constant-time), then the timestamp window. The signature is checked before the
 * window so that STALE_TIMESTAMP is only ever said of a genuinely signed (i.e. replayed or delayed) message.
 */
export function verifyWebhookSignature(input: {
  secrets: readonly string[];
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  toleranceSeconds: number;
  nowMs?: number;
}): SignatureVerdict {
  const { timestamp, signature } = input;
  if (!timestamp || !signature) return { ok: false, reason: 'MISSING_SIGNATURE' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'BAD_SIGNATURE' };
  const offered = signature
    .split(',')
    .map((part) => part.trim().split('='))
    .filter(([scheme, value]) => scheme === SIGNATURE_SCHEME && !!value && /^[0-9a-f]{64}$/i.test(value))
    .slice(0, 5)
    .map(([, value]) => Buffer.from(value!, 'hex'));
  if (offered.length === 0) return { ok: false, reason: 'BAD_SIGNATURE' };
  let matched = false;
  // Every secret against every offered signature, without stopping early: the time taken does not say
  // which secret (or how much of a signature) matched.
  for (const secret of input.secrets) {
    const expected = Buffer.from(signWebhook(secret, timestamp, input.rawBody), 'hex');
    for (const candidate of offered) matched = timingSafeEqual(expected, candidate) || matched;
  }
  if (!matched) return { ok: false, reason: 'BAD_SIGNATURE' };
  const signedAtMs = Number(timestamp) * 1000;
  if (Math.abs((input.nowMs ?? Date.now()) - signedAtMs) > input.toleranceSeconds * 1000) return { ok: false, reason: 'STALE_TIMESTAMP' };
  return { ok: true, signedAt: new Date(signedAtMs) };
}
