import express, { type ErrorRequestHandler, type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import { CORRELATION_HEADER, correlationIdFrom } from './correlation.js';
import type { Metrics } from './metrics.js';
import { traceRequests } from './tracing.js';
import { databaseUnavailable } from './errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's correlation ID (accepted from `X-Correlation-ID` or generated). */
    correlationId: string;
    /** Logger bound to this request: every line carries the correlation ID. */
    log: Logger;
  }
}

export interface HealthCheck {
  name: string;
  /** Resolves when healthy; rejects (with a short reason) when not. */
  check(): Promise<void>;
  /**
   * false: a failing check is reported (`status: 'degraded'`) but readiness stays 200 — for dependencies
   * the service can answer without (e.g. the gateway without Redis still serves public queries).
   */
  critical?: boolean;
}

const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * The express app every Innkeep process starts from: correlation ID in and out, one child logger per
 * request, an access log line per response, JSON body limit, and the health endpoints.
 */
export function createHttpApp(options: {
  logger: Logger;
  checks: HealthCheck[];
  bodyLimit?: string;
  metrics?: Metrics;
  /** Extra facts for the readiness JSON that never fail it (e.g. the gateway's circuit state per subgraph). */
  readyDetails?: () => Record<string, unknown>;
  /**
   * Routes that must see the request body exactly as sent (signed webhooks: the HMAC covers the raw
   * bytes), registered before the JSON parser so that nothing consumes or re-encodes the body first.
   * They get correlation IDs and the access log like every route, and parse (and limit) their own body.
   */
  rawBodyRoutes?: (app: Express) => void;
  /**
   * Security headers and CORS (the gateway's edge), run for every request right after the correlation ID:
   * before any route or the JSON parser, so that an answer they give (a malformed body's 400, a 404)
   * carries the headers too.
   */
  security?: RequestHandler[];
}): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag: API answers are not revalidated by clients, and Express would hash every response body.
  app.set('etag', false);
  app.set('trust proxy', 'loopback');
  // The caller's trace (W3C traceparent) or a new one, active for the whole request (tracing on only);
  // then the correlation ID and the access log, then security headers and CORS where the process has them.
  const edge: RequestHandler[] = [traceRequests(), correlate(options.logger), ...(options.security ?? [])];
  app.use(edge);

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  const metrics = options.metrics;
  // 1 per passing readiness check, 0 otherwise (database, redis, …): refreshed by every probe and scrape.
  const dependencyUp = metrics?.gauge('innkeep_dependency_up', 'Readiness checks of this process by check: 1 ok, 0 failing or degraded (refreshed on every /health/ready and /metrics)', ['check'] as const);
  const runChecks = () =>
    Promise.all(
      options.checks.map(async ({ name, check, critical = true }) => {
        try {
          await withTimeout(check(), 2000);
          dependencyUp?.set({ check: name }, 1);
          return [name, { status: 'ok' }] as const;
        } catch (error) {
          dependencyUp?.set({ check: name }, 0);
          return [name, { status: critical ? 'failing' : 'degraded', reason: error instanceof Error ? error.message : String(error) }] as const;
        }
      }),
    );
  app.get('/health/ready', async (_req, res) => {
    const results = await runChecks();
    const ready = results.every(([, r]) => r.status !== 'failing');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results), ...options.readyDetails?.() });
  });

  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      await runChecks();
      res.setHeader('content-type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    });
  }

  options.rawBodyRoutes?.(app);
  const json = express.json({ limit: options.bodyLimit ?? '1mb' });
  app.use(json);
  EDGES.set(app, [...edge, json]);
  return app;
}

/** Correlation ID in and out, one child logger per request, and the access log line when it is answered. */
function correlate(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    req.correlationId = correlationIdFrom(req.headers[CORRELATION_HEADER]);
    req.log = logger.child({ correlationId: req.correlationId });
    res.setHeader('X-Correlation-ID', req.correlationId);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = req.originalUrl.split('?')[0]!;
      req.log[QUIET_PATHS.has(path) ? 'debug' : 'info']({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}

/** What every request of an app passes first (createHttpApp): tracing, correlation + access log, security, JSON body. */
const EDGES = new WeakMap<Express, RequestHandler[]>();

/**
 * The hot route of a process without the router: `handlers` run after the app's own edge (tracing,
 * correlation ID, access log, security headers, JSON body — the same functions, in the same order, as every routed
 * request), exactly as Express would run them — same `req`/`res` prototypes, errors to the same JSON
 * error handler — but without matching the request against every registered layer first. Express 5's
 * router allocates per layer it walks (~13 kB per request on the gateway's ~20 layers); on the
 * gateway's `POST /graphql` that was a measurable part of its cost per request (docs/performance.md).
 * Used through `createAppServer`: anything else still goes through the app.
 */
export function directRoute(app: Express, handlers: RequestHandler[], service?: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const edge = EDGES.get(app);
  if (!edge) throw new Error('directRoute needs an app made by createHttpApp');
  const chain = [...edge, ...handlers];
  const onError = jsonErrorHandler(service);
  return (rawReq, rawRes) => {
    const req = rawReq as Request;
    const res = rawRes as Response;
    // What app.handle and the router set up before the first handler runs.
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    res.locals ??= Object.create(null);
    req.originalUrl ??= req.url!;
    let index = 0;
    const next = (error?: unknown): void => {
      // As in Express: a falsy argument is no error (cors calls next(null) for a foreign origin).
      if (error && error !== 'route' && error !== 'router') {
        onError(error as HttpError, req, res, next);
        return;
      }
      const handler = chain[index++];
      if (!handler) return void notFound(req, res);
      try {
        const result: unknown = handler(req, res, next);
        // Express 5 semantics: a rejected promise from a handler is an error passed to next().
        if (result instanceof Promise) result.catch((e: unknown) => next(e ?? new Error('Rejected promise')));
      } catch (e) {
        next(e);
      }
    };
    next();
  };
}

/**
 * The last handlers: 404 for unknown routes, and errors no route handled. A database that is busy or
 * unreachable (pool exhausted, connection refused — e.g. while the gateway authenticates an API key) is
 * the dependency's fault, not a bug: 503 SERVICE_UNAVAILABLE, retryable, with `Retry-After`. Anything
 * else is a 500 with a masked message. Both name the service, as every error must.
 */
export function finishHttpApp(app: Express, service?: string): void {
  app.use(notFound);
  app.use(jsonErrorHandler(service));
}

function notFound(_req: Request, res: Response): void {
  res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such route' } });
}

type HttpError = { status?: number; type?: string; message?: string };

function jsonErrorHandler(service?: string): ErrorRequestHandler {
  return (error: HttpError, req: Request, res: Response, _next: NextFunction) => {
    const unavailable = databaseUnavailable(error);
    const status = unavailable ? 503 : error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) req.log?.error({ err: error }, 'unhandled HTTP error');
    if (unavailable) {
      req.log?.warn({ err: error, reason: unavailable }, 'database unavailable');
      res.setHeader('Retry-After', '1');
    }
    res.status(status).json({
      errors: [
        {
          message: unavailable ? 'The database is busy or unreachable; retry shortly' : status === 500 ? 'Internal server error' : (error.message ?? 'Bad request'),
          extensions: {
            code: unavailable ? 'SERVICE_UNAVAILABLE' : status === 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT',
            ...(unavailable ? { retryable: true, reason: unavailable } : {}),
            correlationId: req.correlationId,
            timestamp: new Date().toISOString(),
            ...(service ? { service } : {}),
          },
        },
      ],
    });
  };
}

/**
 * The HTTP server of an app made by createHttpApp. `directPost(path, handlers)` — called once the route's
 * handlers exist (after Apollo started) — sends `POST <path>` (exactly that URL, no query string) through
 * `directRoute`; every other request, and that one before `directPost`, goes through the app.
 */
export function createAppServer(app: Express, service?: string): { server: http.Server; directPost(path: string, handlers: RequestHandler[]): void } {
  let post: { path: string; handle: ReturnType<typeof directRoute> } | undefined;
  const server = http.createServer((req, res) => (post && req.method === 'POST' && req.url === post.path ? post.handle(req, res) : app(req, res)));
  return {
    server,
    directPost(path, handlers) {
      post = { path, handle: directRoute(app, handlers, service) };
    },
  };
}

export async function listen(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
