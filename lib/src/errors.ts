import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from './logger.js';
import type { ApolloServerPlugin } from '@apollo/server';
import { notifyCritical } from './alerts.js';

/** The one error vocabulary of every Innkeep service (GUIDE §3). */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** HTTP status for a request that failed as a whole with this code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL_SERVER_ERROR: 500,
};

export interface FieldProblem {
  /** Dotted path of the offending input field, e.g. `input.guest.email`. */
  field: string;
  message: string;
}

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.name = 'AppError';
  }
}

export class BadUserInputError extends AppError {
  constructor(fields: FieldProblem[], message?: string) {
    super(
      ErrorCode.BAD_USER_INPUT,
      message ?? `Invalid input: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`,
      { fields },
    );
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id: string) {
    super(ErrorCode.NOT_FOUND, `${resource} ${id} was not found`, { resourceType: resource });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.CONFLICT, message, extensions);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.SERVICE_UNAVAILABLE, message, { retryable: true, ...extensions });
  }
}

export class UpstreamTimeoutError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.UPSTREAM_TIMEOUT, message, { retryable: true, ...extensions });
  }
}

/** A limit was hit (a field's @rateLimit, a client budget, the login limiter): retry after `retryAfter` seconds. */
export class RateLimitedError extends AppError {
  constructor(message: string, retryAfterSeconds: number, extensions: Record<string, unknown> = {}) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)), ...extensions });
  }
}

/** Apollo's own client-error codes: the request itself is wrong, so they become BAD_USER_INPUT. */
const CLIENT_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export interface ErrorShapeOptions {
  service: string;
  /** Hide messages of unexpected errors (production). */
  maskInternalErrors: boolean;
}

/**
 * Apollo Server `formatError`: never throws; fills unknown errors as INTERNAL_SERVER_ERROR; keeps the
 * `service` and `timestamp` an upstream subgraph already set (the gateway passes subgraph errors on).
 * The correlation ID is added per request by `errorShapePlugin`, which sees the context.
 */
export function createFormatError(options: ErrorShapeOptions) {
  return (formatted: GraphQLFormattedError, _error: unknown): GraphQLFormattedError => {
    try {
      const ext = { ...(formatted.extensions ?? {}) } as Record<string, unknown>;
      const rawCode = typeof ext.code === 'string' ? ext.code : undefined;
      let message = formatted.message;
      const overloaded = databaseUnavailable(_error);
      if (overloaded && (!rawCode || rawCode === ErrorCode.INTERNAL_SERVER_ERROR)) {
        ext.code = ErrorCode.SERVICE_UNAVAILABLE;
        ext.retryable = true;
        ext.reason = overloaded;
        message = 'The database is busy or unreachable; retry shortly';
      } else if (rawCode && CLIENT_ERROR_CODES.has(rawCode)) {
        ext.code = ErrorCode.BAD_USER_INPUT;
        ext.reason = rawCode;
      } else if (!rawCode || !KNOWN_CODES.has(rawCode)) {
        ext.code = ErrorCode.INTERNAL_SERVER_ERROR;
        if (rawCode) ext.reason = rawCode;
      }
      // Apollo Server itself fills INTERNAL_SERVER_ERROR into code-less errors before calling us, so the
      // mask must apply to that code too, not only to errors that arrive without one.
      if (ext.code === ErrorCode.INTERNAL_SERVER_ERROR && options.maskInternalErrors) message = 'Internal server error';
      if (ext.code === ErrorCode.BAD_USER_INPUT && !ext.fields) {
        const field = offendingFieldOf(formatted.message);
        if (field) ext.fields = [{ field, message: formatted.message }];
      }
      if (options.maskInternalErrors) delete ext.stacktrace;
      ext.service ??= options.service;
      ext.timestamp ??= new Date().toISOString();
      return { ...formatted, message, extensions: ext };
    } catch {
      return {
        message: 'Internal server error',
        extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, service: options.service, timestamp: new Date().toISOString() },
      };
    }
  };
}

/**
 * Prisma's codes for "no connection could be had in time" (pool exhausted, transaction could not start,
 * database unreachable): the request may succeed on retry, so they are SERVICE_UNAVAILABLE, not 500.
 */
const DATABASE_UNAVAILABLE = new Set(['P1001', 'P1002', 'P2024', 'P2028']);
export function databaseUnavailable(error: unknown): string | undefined {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const code = (original as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && DATABASE_UNAVAILABLE.has(code) ? `DATABASE_${code}` : undefined;
}

/**
 * graphql-js reports bad variables as `Variable "$input" got invalid value … at "input.checkIn"; …` and
 * bad literals as `Expected value of type "Date", found …` on an argument: recover the field name so every
 * BAD_USER_INPUT names its field, as the contract promises.
 */
function offendingFieldOf(message: string): string | undefined {
  const at = /^Variable "\$[^"]+" got invalid value .*? at "([^"]+)"/.exec(message);
  if (at) return at[1];
  const variable = /^Variable "\$([^"]+)"/.exec(message);
  if (variable) return variable[1];
  const field = /[Ff]ield "([^"]+)"/.exec(message) ?? /[Aa]rgument "([^"]+)"/.exec(message);
  return field?.[1];
}

export interface CorrelatedContext {
  correlationId: string;
}

/**
 * Stamps the request's correlation ID on every error. At the edge (`setHttpStatus`), a whole-request
 * failure (no data at all) also gets its HTTP status from the error code. Subgraphs keep 200: the
 * gateway's data source treats a non-2xx answer as a transport failure and would lose the error codes.
 */
export function errorShapePlugin<T extends CorrelatedContext>(options: { setHttpStatus: boolean }): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (!result.errors?.length) return;
          // A subgraph answers GraphQL errors with 200 (even bad variables): the gateway's data source
          // would turn any other status into a transport failure and lose the error's code and fields.
          if (!options.setHttpStatus) response.http.status = 200;
          const correlationId = contextValue.correlationId;
          result.errors = result.errors.map((e) => ({
            ...e,
            extensions: { ...e.extensions, correlationId: e.extensions?.correlationId ?? correlationId },
          }));
          // Whole-request failure: nothing was served (no data, or every root field null).
          const nothingServed = result.data == null || Object.values(result.data).every((v) => v === null);
          if (options.setHttpStatus && nothingServed) {
            const code = result.errors[0]?.extensions?.code as ErrorCode | undefined;
            const status = code && HTTP_STATUS[code];
            // GUIDE §3 gives NOT_FOUND, CONFLICT and UPSTREAM_TIMEOUT no whole-request status: they stay 200.
            if (status && status !== 404 && status !== 409 && status !== 504 && !response.http.status) response.http.status = status;
          }
        },
      };
    },
  };
}

export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof GraphQLError && (code === undefined || error.extensions?.code === code);
}

/** Unexpected errors (no known code) are logged once, with the request's correlation ID, where they happen. */
export function logUnexpectedErrorsPlugin<T extends { log: Logger; correlationId?: string }>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (typeof code !== 'string' || code === ErrorCode.INTERNAL_SERVER_ERROR || !(KNOWN_CODES.has(code) || CLIENT_ERROR_CODES.has(code))) {
              contextValue.log.error({ err: error.originalError ?? error, path: error.path, code }, 'unexpected error');
              notifyCritical({
                kind: 'unexpected_error',
                summary: 'Unexpected error answered as INTERNAL_SERVER_ERROR',
                code: (error.originalError ?? error).name,
                ...(contextValue.correlationId ? { correlationId: contextValue.correlationId } : {}),
                details: { path: (error.path ?? []).map((p) => (typeof p === 'number' ? '[]' : p)).join('.') },
              });
            }
          }
        },
      };
    },
  };
}
