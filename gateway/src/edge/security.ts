import cors from 'cors';
import helmet from 'helmet';
import type { RequestHandler } from 'express';

export interface EdgeSecurityOptions {
  production: boolean;
  /** Origins allowed to call the API from a browser. */
  corsOrigins: string[];
}

/** Apollo Sandbox (development landing page) loads from Apollo's CDN and runs in an iframe. */
const SANDBOX_SOURCES = {
  scriptSrc: ['https://embeddable-sandbox.cdn.apollographql.com'],
  frameSrc: ['https://sandbox.embed.apollographql.com'],
  styleSrc: ['https://fonts.googleapis.com'],
  fontSrc: ['https://fonts.gstatic.com'],
  imgSrc: ['https://apollo-server-landing-page.cdn.apollographql.com'],
  manifestSrc: ['https://apollo-server-landing-page.cdn.apollographql.com'],
};

/**
 * Security headers (helmet: HSTS, nosniff, frame-ancestors, referrer policy, a CSP that lets Sandbox load in
 * development and allows nothing in production) and the CORS allow-list.
 */
export function edgeSecurity(options: EdgeSecurityOptions): RequestHandler[] {
  const directives: Record<string, string[]> = options.production
    ? { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }
    : {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'", ...SANDBOX_SOURCES.scriptSrc],
        frameSrc: ["'self'", ...SANDBOX_SOURCES.frameSrc],
        styleSrc: ["'self'", "'unsafe-inline'", ...SANDBOX_SOURCES.styleSrc],
        fontSrc: ["'self'", ...SANDBOX_SOURCES.fontSrc],
        imgSrc: ["'self'", 'data:', ...SANDBOX_SOURCES.imgSrc],
        manifestSrc: ["'self'", ...SANDBOX_SOURCES.manifestSrc],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      };
  const allowed = new Set(options.corsOrigins);
  return [
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives },
      crossOriginEmbedderPolicy: false,
      hsts: { maxAge: 31_536_000, includeSubDomains: true },
    }),
    cors({
      origin: (origin, callback) => callback(null, !origin || allowed.has(origin)),
      credentials: false,
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-correlation-id', 'apollo-require-preflight', 'x-apollo-operation-name', 'traceparent'],
      exposedHeaders: ['x-correlation-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    }),
  ];
}
