import { z } from 'zod';

/**
 * Identity configuration (the lead spreads `authConfigShape` into the gateway config). Built-in issuer by
 * default; setting AUTH_JWKS_URL switches to an external IdP (Keycloak, Auth0, …): its tokens are verified
 * against its JWKS, issuer and audience, and the gateway issues no tokens of its own.
 */

/** Development default; production refuses it (createAuthService). */
export const DEVELOPMENT_KEY_ENCRYPTION_SECRET = 'development-only-auth-key-encryption-secret-do-not-use';

/**
 * Asymmetric JWS algorithms only. HS* is never accepted for caller tokens: a shared secret would let
 * every verifier mint tokens, and accepting it invites the public-key-as-HMAC-secret confusion attack.
 */
export const ASYMMETRIC_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'] as const;

const algorithmList = z
  .string()
  .default('ES256')
  .transform((raw) => raw.split(',').map((a) => a.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.enum(ASYMMETRIC_ALGORITHMS, { message: `each algorithm must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}` }))
      .min(1, 'list at least one algorithm'),
  );

const seconds = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const authConfigShape = {
  /** `iss` of the tokens the gateway accepts (and, built-in, issues). External IdP: its issuer URL. */
  AUTH_ISSUER: z.string().min(1).default('innkeep'),
  /** `aud` the tokens must carry. */
  AUTH_AUDIENCE: z.string().min(1).default('innkeep-api'),
  /** Lifetime of access tokens of the built-in issuer. */
  ACCESS_TOKEN_TTL_SECONDS: seconds(900, 60, 3600),
  /** Lifetime of a refresh token (each refresh issues a new one with a fresh lifetime). */
  REFRESH_TOKEN_TTL_SECONDS: seconds(30 * 86_400, 300, 365 * 86_400),
  /** Encrypts the signing keys' private halves at rest; at least 32 characters. Production refuses the default. */
  AUTH_KEY_ENCRYPTION_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEVELOPMENT_KEY_ENCRYPTION_SECRET),
  /** External IdP mode: the IdP's JWKS URL (cached; refetched on an unknown `kid`). Unset: built-in issuer. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Comma-separated JWS algorithms accepted (asymmetric only). The built-in issuer signs ES256. */
  AUTH_ALGORITHMS: algorithmList,
  /** Claim holding the roles (external IdPs; a dotted path such as `realm_access.roles` also works). */
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** Claim holding the hotel IDs (same rules as AUTH_ROLES_CLAIM). */
  AUTH_HOTEL_IDS_CLAIM: z.string().min(1).default('hotelIds'),
  /** How long the old secret of a rotated API key keeps working. */
  API_KEY_ROTATION_OVERLAP_SECONDS: seconds(86_400, 0, 30 * 86_400),
};

export type AuthConfig = z.infer<z.ZodObject<typeof authConfigShape>>;

/** A complete config with every default (tests, scripts): `authConfig({ AUTH_ISSUER: 'x' })`. */
export function authConfig(env: Record<string, string | undefined> = {}): AuthConfig {
  return z.object(authConfigShape).parse(env);
}
