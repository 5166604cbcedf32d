/**
 * The signature check of PMS webhooks (subgraphs/pms/src/webhook-signature.ts), case by case; the route
 * itself is proven end to end in tests/e2e/pms-webhooks.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { signWebhook, usesDevelopmentSecrets, verifyWebhookSignature, DEVELOPMENT_WEBHOOK_SECRETS } from '../../subgraphs/pms/src/webhook-signature.js';

const CURRENT = 'current-secret-current-secret-000001';
const PREVIOUS = 'previous-secret-previous-secret-00001';
const body = Buffer.from('{"id":"evt-1","type":"reservation.cancelled","data":{"bookingReference":"IK-ABCD1234"}}');
const now = 1_764_841_200_000;
const ts = String(now / 1000);
const check = (signature: string | undefined, timestamp: string | undefined = ts, secrets = [CURRENT, PREVIOUS], nowMs = now) =>
  verifyWebhookSignature({ secrets, timestamp, signature, rawBody: body, toleranceSeconds: 300, nowMs });

describe('webhook signatures', () => {
  it('matches the documented recipe: hex HMAC-SHA256 of "<timestamp>.<raw body>"', () => {
    // Same value as `printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET"` (docs/pms-webhooks.md).
    expect(signWebhook('s3cret', 1764841200, '{"id":"evt-1","type":"reservation.cancelled","data":{"bookingReference":"IK-7F3K2Q9M"}}')).toBe(
      '1538a703a3172b3d700e5efa683dd14455b9feb0d8da9bfecd7fd6c3c379bd60',
    );
  });

  it('accepts the current and the previous secret, and a list with one matching signature', () => {
    expect(check(`v1=${signWebhook(CURRENT, ts, body)}`)).toEqual({ ok: true, signedAt: new Date(now) });
    expect(check(`v1=${signWebhook(PREVIOUS, ts, body)}`).ok).toBe(true);
    expect(check(`v1=${'0'.repeat(64)}, v1=${signWebhook(PREVIOUS, ts, body)}`).ok).toBe(true);
  });

  it('refuses a missing header, another secret, another body or timestamp, and other schemes', () => {
    expect(check(undefined)).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(check(`v1=${signWebhook(CURRENT, ts, body)}`, '')).toEqual({ ok: false, reason: 'MISSING_SIGNATURE' });
    expect(check(`v1=${signWebhook('other-secret-other-secret-other-00001', ts, body)}`)).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(check(`v1=${signWebhook(CURRENT, ts, Buffer.concat([body, Buffer.from(' ')]))}`)).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(check(`v1=${signWebhook(CURRENT, Number(ts) + 1, body)}`)).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(check(`v0=${signWebhook(CURRENT, ts, body)}`)).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(check(`v1=${signWebhook(CURRENT, ts, body).slice(0, 63)}`)).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(check(`v1=${signWebhook(CURRENT, '1e9', body)}`, '1e9')).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
    // A secret removed after a rotation no longer verifies.
    expect(check(`v1=${signWebhook(PREVIOUS, ts, body)}`, ts, [CURRENT])).toEqual({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  it('refuses a valid signature outside the ±300 s window, either way, and accepts one at its edge', () => {
    const signed = `v1=${signWebhook(CURRENT, ts, body)}`;
    expect(check(signed, ts, [CURRENT], now + 301_000)).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
    expect(check(signed, ts, [CURRENT], now - 301_000)).toEqual({ ok: false, reason: 'STALE_TIMESTAMP' });
    expect(check(signed, ts, [CURRENT], now + 300_000).ok).toBe(true);
  });

  it('knows the development secrets (production refuses them)', () => {
    expect(usesDevelopmentSecrets(DEVELOPMENT_WEBHOOK_SECRETS)).toBe(true);
    expect(usesDevelopmentSecrets({ mews: [CURRENT, DEVELOPMENT_WEBHOOK_SECRETS.mews![0]!] })).toBe(true);
    expect(usesDevelopmentSecrets({ mews: [CURRENT], opera: [PREVIOUS] })).toBe(false);
  });
});
