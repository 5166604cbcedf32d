/**
 * Why a credential was refused. The message is plain words for the client (it is sent as the
 * UNAUTHENTICATED error message) and never contains the credential or a key.
 */
export type AuthenticationFailure =
  | 'expired'
  | 'revoked'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'unknown_key'
  | 'bad_signature'
  | 'algorithm_not_allowed'
  | 'malformed'
  | 'unknown_api_key'
  | 'api_key_expired'
  | 'api_key_revoked';

export const AUTHENTICATION_MESSAGES: Record<AuthenticationFailure, string> = {
  expired: 'The access token has expired',
  revoked: 'The access token has been revoked',
  not_yet_valid: 'The access token is not valid yet',
  wrong_issuer: 'The access token was issued by an issuer this API does not trust',
  wrong_audience: 'The access token is not meant for this API',
  unknown_key: 'The access token was signed with an unknown key',
  bad_signature: 'The access token signature is invalid',
  algorithm_not_allowed: 'The access token uses a signing algorithm this API does not accept',
  malformed: 'The access token is malformed',
  unknown_api_key: 'The API key is not valid',
  api_key_expired: 'The API key has expired',
  api_key_revoked: 'The API key has been revoked',
};

const MARKER = Symbol.for('innkeep.AuthenticationError');

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
  readonly [MARKER] = true;

  constructor(
    readonly reason: AuthenticationFailure,
    message: string = AUTHENTICATION_MESSAGES[reason],
  ) {
    super(message);
  }
}

/** Type guard by marker, not `instanceof` (GUIDE §4): works across duplicated module instances. */
export function isAuthenticationError(error: unknown): error is AuthenticationError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
}

/**
 * `WWW-Authenticate` for a 401 (RFC 6750 §3). API-key failures get the same challenge: Bearer is the
 * scheme a client should use next; the description repeats the plain-words message.
 */
export function wwwAuthenticate(error?: AuthenticationError): string {
  if (!error) return 'Bearer realm="innkeep"';
  return `Bearer realm="innkeep", error="invalid_token", error_description="${error.message.replaceAll('"', "'")}"`;
}
