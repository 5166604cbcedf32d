import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(service: string, level: string, options: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...options,
  });
}
