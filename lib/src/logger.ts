import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { activeTraceId } from './tracing.js';

export type { Logger };

/**
 * Explicit redaction paths (no deep wildcards: pino compiles these once and they stay cheap on the hot
 * path). Headers, credentials, tokens and guest PII never reach a log line in clear.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'secret',
  'email',
  'phone',
  'guest.email',
  'guest.phone',
  'input.guest.email',
  'input.guest.phone',
  'variables.input.guest.email',
  'variables.input.guest.phone',
  'variables.password',
  'variables.email',
  'variables.phone',
];

/** 13–19 digits, optionally grouped by spaces or dashes: what a payment card number looks like. */
const CARD_LIKE = /\b\d(?:[ -]?\d){12,18}\b/g;

/**
 * Card-like numbers are masked wherever they appear in a log line's top-level strings and error messages
 * (paths cannot catch a number pasted into free text, e.g. a guest's name field). One regex test per
 * string: cheap enough for the two or three lines a request writes.
 */
export function maskCardNumbers(record: Record<string, unknown>): Record<string, unknown> {
  let out = record;
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'string' && CARD_LIKE.test(value)) {
      CARD_LIKE.lastIndex = 0;
      out = out === record ? { ...record } : out;
      out[key] = value.replace(CARD_LIKE, '[CARD]');
    } else if (key === 'err' && value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
      const err = value as { message: string };
      if (CARD_LIKE.test(err.message)) {
        CARD_LIKE.lastIndex = 0;
        out = out === record ? { ...record } : out;
        out[key] = { ...err, message: err.message.replace(CARD_LIKE, '[CARD]'), stack: undefined };
      }
    }
    CARD_LIKE.lastIndex = 0;
  }
  return out;
}

export function createLogger(service: string, level: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const config: LoggerOptions = {
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The trace beside the correlation ID (tracing on and a span active: lib/src/tracing.ts).
    mixin: () => {
      const traceId = activeTraceId();
      return traceId ? { traceId } : {};
    },
    formatters: { level: (label) => ({ level: label }), log: maskCardNumbers },
    hooks: {
      // The message string is not part of the formatted object: mask it here.
      logMethod(args, method) {
        const last = args.length - 1;
        if (typeof args[last] === 'string') args[last] = (args[last] as string).replace(CARD_LIKE, '[CARD]');
        method.apply(this, args as Parameters<typeof method>);
      },
    },
    ...options,
  };
  return destination ? pino(config, destination) : pino(config);
}
