import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { AuthConfig } from './config.js';
import type { SigningKeyStore } from './signing-keys.js';

/** `typ` of the built-in issuer's access tokens (RFC 9068): no other JWT of ours can pass for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenSubject {
  id: string;
  email: string;
  roles: string[];
  hotelIds: string[];
}

export interface IssuedAccessToken {
  accessToken: string;
  jti: string;
  expiresIn: number;
}

export type AccessTokenIssuer = (subject: TokenSubject) => Promise<IssuedAccessToken>;

/** Signs with the newest signing key; claims iss, aud, sub, roles, hotelIds, email, jti, iat, nbf, exp. */
export function createAccessTokenIssuer(options: { keys: SigningKeyStore; config: AuthConfig }): AccessTokenIssuer {
  const { keys, config } = options;
  return async (subject) => {
    const key = await keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    const accessToken = await new SignJWT({ roles: subject.roles, hotelIds: subject.hotelIds, email: subject.email })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(config.AUTH_ISSUER)
      .setAudience(config.AUTH_AUDIENCE)
      .setSubject(subject.id)
      .setJti(jti)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + config.ACCESS_TOKEN_TTL_SECONDS)
      .sign(key.privateKey);
    return { accessToken, jti, expiresIn: config.ACCESS_TOKEN_TTL_SECONDS };
  };
}
