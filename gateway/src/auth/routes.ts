import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { correlationIdFrom, CORRELATION_HEADER } from '../../../lib/src/correlation.js';
import { ErrorCode, HTTP_STATUS, isAppError, type FieldProblem } from '../../../lib/src/errors.js';
import type { Logger } from '../../../lib/src/logger.js';
import { isAuthenticationError, wwwAuthenticate } from './errors.js';
import type { Sessions } from './sessions.js';
import type { SigningKeyStore } from './signing-keys.js';
import type { BearerVerifier, VerifiedAccessToken } from './token-verifier.js';

/**
 * HTTP face of the built-in issuer: POST /auth/login, /auth/refresh, /auth/logout and
 * GET /.well-known/jwks.json. JSON in, JSON out; errors in the GraphQL error shape (GUIDE §3) with 400 or
 * 401. With an external IdP only /auth/logout is mounted (it revokes the IdP token's jti).
 */
export interface AuthRoutesOptions {
  verify: BearerVerifier;
  /** Undefined with an external IdP: it logs users in, not us. */
  sessions?: Sessions;
  /** Revokes the access token (and the refresh family, built-in). */
  logout(token: VerifiedAccessToken, refreshToken?: string, meta?: { correlationId?: string }): Promise<void>;
  keys?: SigningKeyStore;
  logger: Logger;
}

const loginBody = z.object({
  email: z.string().trim().toLowerCase().pipe(z.email('must be an email address').max(320)),
  password: z.string().min(1, 'must not be empty').max(1024),
});
const refreshBody = z.object({ refreshToken: z.string().min(1, 'must not be empty').max(512) });
const logoutBody = z.object({ refreshToken: z.string().min(1).max(512).optional() }).optional();

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields: FieldProblem[] = result.error.issues.map((i) => ({ field: i.path.map(String).join('.') || 'body', message: i.message }));
  throw new HttpProblem(400, ErrorCode.BAD_USER_INPUT, `Invalid input: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
}

function bearerOf(req: Request): string {
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(req.headers.authorization ?? '');
  if (!match) throw new HttpProblem(401, ErrorCode.UNAUTHENTICATED, 'An access token is required (Authorization: Bearer <token>)');
  return match[1]!;
}

function sendProblem(req: Request, res: Response, logger: Logger, error: unknown): void {
  let problem: HttpProblem;
  if (error instanceof HttpProblem) problem = error;
  else if (isAuthenticationError(error)) {
    problem = new HttpProblem(401, ErrorCode.UNAUTHENTICATED, error.message, { reason: error.reason });
    res.setHeader('WWW-Authenticate', wwwAuthenticate(error));
  } else if (isAppError(error)) {
    const code = error.extensions.code as ErrorCode;
    const { code: _code, ...extensions } = error.extensions;
    problem = new HttpProblem(HTTP_STATUS[code] ?? 500, code, error.message, extensions);
  } else {
    (req.log ?? logger).error({ err: error }, 'auth route failed');
    problem = new HttpProblem(500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
  }
  if (problem.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', wwwAuthenticate());
  res.status(problem.status).json({
    errors: [
      {
        message: problem.message,
        extensions: {
          code: problem.code,
          ...problem.extensions,
          correlationId: req.correlationId ?? correlationIdFrom(req.headers[CORRELATION_HEADER]),
          timestamp: new Date().toISOString(),
          service: 'gateway',
        },
      },
    ],
  });
}

export function mountAuthRoutes(app: Express, options: AuthRoutesOptions): void {
  const { verify, sessions, keys, logger, logout } = options;
  const json = express.json({ limit: '16kb' });

  /** Parses the JSON body here (if the app has not), so a broken body also gets our error shape. */
  const route =
    (work: (req: Request) => Promise<unknown>): RequestHandler =>
    (req: Request, res: Response, _next: NextFunction) => {
      json(req, res, (parseError?: unknown) => {
        if (parseError) {
          const fields = [{ field: 'body', message: 'must be a JSON object' }];
          return sendProblem(req, res, logger, new HttpProblem(400, ErrorCode.BAD_USER_INPUT, 'The request body is not valid JSON', { fields }));
        }
        work(req).then(
          (body) => {
            res.setHeader('Cache-Control', 'no-store'); // tokens must not sit in any cache (RFC 6749 §5.1)
            res.json(body);
          },
          (error: unknown) => sendProblem(req, res, logger, error),
        );
      });
    };

  if (sessions) {
    app.post('/auth/login', route(async (req) => {
      const { email, password } = parseBody(loginBody, req.body);
      return sessions.login(email, password, { correlationId: req.correlationId });
    }));
    app.post('/auth/refresh', route(async (req) => sessions.refresh(parseBody(refreshBody, req.body).refreshToken, { correlationId: req.correlationId })));
  }

  app.post('/auth/logout', route(async (req) => {
    const token = await verify(bearerOf(req));
    const body = parseBody(logoutBody, req.body ?? undefined);
    await logout(token, body?.refreshToken, { correlationId: req.correlationId });
    return { loggedOut: true };
  }));

  if (keys) {
    app.get('/.well-known/jwks.json', (req, res) => {
      keys.publicKeys().then(
        (jwks) => {
          res.setHeader('Cache-Control', 'public, max-age=60');
          res.json({ keys: jwks });
        },
        (error: unknown) => sendProblem(req, res, logger, error),
      );
    });
  }
}
