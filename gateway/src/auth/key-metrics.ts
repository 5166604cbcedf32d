import type { PrismaClient } from '../../../lib/src/db.js';
import type { Metrics } from '../../../lib/src/metrics.js';

/**
 * Credential expiry, read at scrape time (the alert rules in ops/prometheus/alerts.yml page before it
 * bites): the age of the key that signs access tokens (rotate with `npm run auth:rotate-keys`), and API
 * keys that expire soon. TLS certificates are the ingress' (docs/operations.md).
 */
export function observeKeyExpiry(metrics: Metrics, prisma: PrismaClient): void {
  metrics.sampled('innkeep_auth_signing_key_age_seconds', 'Age of the newest access-token signing key without a retirement date (rotate before it gets old)', [], async () => {
    const current = await prisma.signingKey.findFirst({ where: { retireAfter: null }, orderBy: { createdAt: 'desc' }, select: { createdAt: true } });
    return current ? (Date.now() - current.createdAt.getTime()) / 1000 : 0;
  });
  metrics.sampled('innkeep_api_keys_expiring', 'Active API keys (not revoked) expiring within the window: 7d or 30d', ['within'], async () => {
    const count = (days: number) =>
      prisma.apiKey.count({ where: { revokedAt: null, expiresAt: { gt: new Date(), lte: new Date(Date.now() + days * 86_400_000) } } });
    const [week, month] = await Promise.all([count(7), count(30)]);
    return [
      [{ within: '7d' }, week],
      [{ within: '30d' }, month],
    ];
  });
}
