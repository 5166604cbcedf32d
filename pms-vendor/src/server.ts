import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../lib/src/logger.js';
import { mewsApi, mewsPropertyOf } from './mews-api.js';
import { operaApi } from './opera-api.js';
import { fieldsOf, ReservationStore, STATUSES } from './store.js';

/**
 * A fake hotel PMS vendor: just enough of a vendor's reservation API for the pms subgraph to talk to in
 * development and tests, plus a `/__control` API that lets chaos tests make it fail, hang or crawl.
 * All state is in memory and dies with the process.
 *
 * Three wire styles over one reservation store (store.ts): the generic REST API under `/v1` (bearer
 * `apiToken`), a Mews-like connector API under `/api/connector/v1` (mews-api.ts: `AccessToken` = apiToken)
 * and an Opera/OHIP-like REST API with OAuth2 client credentials (opera-api.ts: `client_secret` =
 * apiToken). Faults, stats and reset apply to all three.
 */
export interface VendorOptions {
  port: number;
  host?: string;
  apiToken: string;
  /** Mounts `/__control/*` (fault injection, stats, reset). Never enable where real clients can reach it. */
  controlEnabled: boolean;
  /** Lifetime of the Opera-style OAuth2 access tokens (default 3600 s). */
  tokenTtlSeconds?: number;
  logger: Logger;
}

export interface RunningVendor {
  url: string;
  stop(): Promise<void>;
}

const reservationBody = z
  .object({
    bookingId: z.uuid(),
    status: z.enum(STATUSES),
    checkIn: z.iso.date(),
    checkOut: z.iso.date(),
    guestName: z.string().trim().min(1).max(200),
    roomNumber: z.string().trim().min(1).max(20).optional(),
  })
  // ISO dates compare correctly as strings.
  .refine((b) => b.checkOut > b.checkIn, { path: ['checkOut'], message: 'must be after checkIn' });

const listQuery = z.object({ updatedSince: z.iso.datetime({ offset: true }).optional() });

const faultBody = z
  .object({
    mode: z.enum(['ok', 'fail', 'hang', 'slow']),
    status: z.int().min(400).max(599).default(503),
    latencyMs: z.int().min(0).max(120_000).optional(),
    failRate: z.number().min(0).max(1).default(1),
    propertyCodes: z.array(z.string().min(1)).optional(),
  })
  .refine((f) => f.mode !== 'slow' || f.latencyMs !== undefined, {
    path: ['latencyMs'],
    message: 'is required when mode is slow',
  });
type Faults = z.infer<typeof faultBody>;
const NO_FAULTS: Faults = { mode: 'ok', status: 503, failRate: 1 };

function sendError(res: Response, status: number, code: string, message: string, extra: object = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

function sendValidationError(res: Response, error: z.ZodError): void {
  sendError(res, 422, 'validation_failed', 'Request validation failed', { fields: fieldsOf(error) });
}

export async function startVendor(options: VendorOptions): Promise<RunningVendor> {
  const { apiToken, controlEnabled, logger } = options;
  const host = options.host ?? '127.0.0.1';
  const store = new ReservationStore();
  let faults = NO_FAULTS;
  // Counters behind failRate: a deterministic spread (rate 0.5 fails every 2nd request) keeps tests exact.
  let faultSeen = 0;
  let faultFailed = 0;
  let stats = { total: 0, byRoute: {} as Record<string, number> };

  const app = express();
  app.disable('x-powered-by');

  // Headers are deliberately not logged: they carry the bearer token.
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('close', () => {
      const durationMs = Math.round(performance.now() - started);
      const aborted = !res.writableFinished; // hung or slow request the client gave up on
      const { method, originalUrl: url } = req;
      logger.debug({ method, url, status: res.statusCode, durationMs, aborted }, 'vendor request');
    });
    next();
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (req.get('authorization') === `Bearer ${apiToken}`) return next();
    sendError(res, 401, 'unauthorized', 'Missing or invalid bearer token');
  };

  /**
   * First handler of every vendor route (any style): counts the call, then applies the configured fault
   * (if any). `propertyOf` says which property the call is about, for faults limited to propertyCodes;
   * calls about no property (the OAuth token endpoint) are spared by such a fault.
   */
  const faultGate =
    (propertyOf: (req: Request) => string | undefined) =>
    // Generic so each route keeps its own typed params (propertyCode, reference, hotelCode).
    <P>(req: Request<P>, res: Response, next: NextFunction): void => {
      const route = `${req.method} ${req.baseUrl}${req.route.path}`;
      stats.total++;
      stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;

      const { mode, propertyCodes } = faults;
      if (mode === 'ok') return next();
      if (propertyCodes) {
        const property = propertyOf(req as unknown as Request);
        if (!property || !propertyCodes.includes(property)) return next();
      }
      if (mode === 'hang') return; // never answer: the client times out, or stop() destroys the socket
      if (mode === 'slow') {
        const timer = setTimeout(next, faults.latencyMs);
        res.on('close', () => clearTimeout(timer)); // client gone or server stopping: don't run the handler
        return;
      }
      faultSeen++;
      if (Math.floor(faultSeen * faults.failRate) <= faultFailed) return next();
      faultFailed++;
      sendError(res, faults.status, 'injected_fault', `Injected fault (HTTP ${faults.status})`);
    };
  const vendorRoute = faultGate((req) => (req.params as { propertyCode?: string }).propertyCode);

  const v1 = express.Router();
  const reservation = '/properties/:propertyCode/reservations/:reference';

  v1.put(reservation, vendorRoute, (req, res) => {
    const body = reservationBody.safeParse(req.body);
    if (!body.success) return sendValidationError(res, body.error);
    res.json(store.upsert(req.params.propertyCode, req.params.reference, body.data));
  });

  v1.get('/properties/:propertyCode/reservations', vendorRoute, (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) return sendValidationError(res, query.error);
    const { updatedSince } = query.data;
    const reservations = store.list(req.params.propertyCode, updatedSince ? Date.parse(updatedSince) : undefined);
    // The cursor is fed back as the next updatedSince; null means "nothing seen yet, start from the top".
    const cursor = reservations.at(-1)?.updatedAt ?? updatedSince ?? null;
    res.json({ reservations, cursor });
  });

  v1.get(reservation, vendorRoute, (req, res) => {
    const found = store.get(req.params.propertyCode, req.params.reference);
    if (!found) return sendError(res, 404, 'not_found', `Reservation ${req.params.reference} was not found`);
    res.json(found);
  });

  v1.post('/properties/:propertyCode/reservations/:reference/cancel', vendorRoute, (req, res) => {
    const { propertyCode, reference } = req.params;
    const cancelled = store.cancel(propertyCode, reference);
    if (!cancelled) return sendError(res, 404, 'not_found', `Reservation ${reference} was not found`);
    res.json(cancelled);
  });

  // Auth before body parsing: an unauthenticated caller gets 401 whatever it sent.
  app.use('/v1', requireAuth, express.json(), v1);
  app.use('/api/connector/v1', mewsApi(store, { accessToken: apiToken, gate: faultGate(mewsPropertyOf) }));
  const opera = operaApi(store, {
    clientSecret: apiToken,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    gate: faultGate((req) => (req.params as { hotelCode?: string }).hotelCode),
  });
  app.use('/oauth', opera.oauth);
  app.use('/rsv', opera.rsv);
  app.use('/par', opera.par);

  if (controlEnabled) {
    const control = express.Router();
    control.put('/faults', (req, res) => {
      const body = faultBody.safeParse(req.body);
      if (!body.success) return sendValidationError(res, body.error);
      faults = body.data;
      faultSeen = faultFailed = 0;
      logger.info({ faults }, 'vendor faults set');
      res.json(faults);
    });
    // Control calls are not counted, so polling stats does not change them.
    control.get('/stats', (_req, res) => {
      res.json({ requests: stats, faults });
    });
    control.post('/reset', (_req, res) => {
      store.clear();
      faults = NO_FAULTS;
      faultSeen = faultFailed = 0;
      stats = { total: 0, byRoute: {} };
      opera.revokeTokens();
      res.status(204).end();
    });
    // Opera style: every issued access token answers 401 from now on (clients must fetch a new one).
    control.post('/revoke-tokens', (_req, res) => {
      opera.revokeTokens();
      res.status(204).end();
    });
    app.use('/__control', express.json(), control);
  }

  app.use((req, res) => {
    sendError(res, 404, 'not_found', `No route for ${req.method} ${req.path}`);
  });

  // Express 5 routes sync throws and async rejections here; body-parser errors carry their own 4xx status.
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const { status, type, message } = (typeof err === 'object' && err ? err : {}) as Record<string, unknown>;
    if (type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'Request body is not valid JSON');
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, status, 'bad_request', String(message));
    }
    logger.error({ err, method: req.method, url: req.originalUrl }, 'vendor handler failed');
    sendError(res, 500, 'internal_error', 'Internal server error');
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let stopping: Promise<void> | undefined;

  return {
    url,
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // close() alone waits for open sockets, i.e. forever on a hung request or a keep-alive client.
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}
