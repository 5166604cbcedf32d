import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ANONYMOUS, type Principal } from '../../../lib/src/identity.js';
import { isAppError, ErrorCode } from '../../../lib/src/errors.js';
import { AuthenticationError, isAuthenticationError, wwwAuthenticate, type AuthService } from '../auth/index.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The verified caller of this request (ANONYMOUS when no credentials were sent). */
    principal: Principal;
  }
}

/** The token of `Bearer <token>` (HTTP header or graphql-ws connection_init); AuthenticationError otherwise. */
export function bearerToken(authorization: string): string {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization);
  if (!match) throw new AuthenticationError('malformed', 'The Authorization header must be "Bearer <access token>"');
  return match[1]!;
}

/**
 * Establishes the caller: `Authorization: Bearer <JWT>` or `X-API-Key`, else anonymous (rules decide what
 * anonymous may do). Credentials that are present but bad end the request here: HTTP 401,
 * `WWW-Authenticate: Bearer error="invalid_token"` and an UNAUTHENTICATED error saying why in plain words.
 */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const authorization = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    try {
      if (authorization) {
        req.principal = await auth.authenticateBearer(bearerToken(authorization));
      } else if (typeof apiKey === 'string' && apiKey.length > 0) {
        req.principal = await auth.authenticateApiKey(apiKey);
      } else {
        req.principal = ANONYMOUS;
      }
      next();
    } catch (error) {
      if (isAppError(error, ErrorCode.SERVICE_UNAVAILABLE)) {
        // The revocation list (Redis) or the IdP's JWKS could not be read: fail closed, retryable.
        req.log.warn({ err: error }, 'authentication dependency unavailable');
        return void res.status(503).set('Retry-After', '1').json({ errors: [{ message: error.message, extensions: { ...error.extensions, correlationId: req.correlationId, timestamp: new Date().toISOString(), service: 'gateway' } }] });
      }
      if (!isAuthenticationError(error)) return next(error);
      req.log.info({ reason: error.reason }, 'authentication refused');
      res
        .status(401)
        .set('WWW-Authenticate', wwwAuthenticate(error))
        .json({
          errors: [
            {
              message: error.message,
              extensions: { code: 'UNAUTHENTICATED', reason: error.reason, correlationId: req.correlationId, timestamp: new Date().toISOString(), service: 'gateway' },
            },
          ],
        });
    }
  };
}
