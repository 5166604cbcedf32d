import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '../../lib/src/logger.js';

/**
 * A fake hotel PMS vendor: just enough of a vendor's reservation API for the pms subgraph to talk to in
 * development and tests, plus a `/__control` API that lets chaos tests make it fail, hang or crawl.
 * All state is in memory and dies with the process.
 */
export interface VendorOptions {
  port: number;
  host?: string;
  apiToken: string;
  /** Mounts `/__control/*` (fault injection, stats, reset). Never enable where real clients can reach it. */
  controlEnabled: boolean;
  logger: Logger;
}

export interface RunningVendor {
  url: string;
  stop(): Promise<void>;
}

const STATUSES = ['PENDING', 'CONFIRMED', 'CHECKED_IN', 'CHECKED_OUT', 'CANCELLED'] as const;

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

interface Reservation {
  externalId: string;
  reference: string;
  bookingId: string;
  status: (typeof STATUSES)[number];
  checkIn: string;
  checkOut: string;
  guestName: string;
  roomNumber: string | null;
  updatedAt: string;
  version: number;
}

/** The client-owned fields: a write that changes none of them is a no-op. */
const FIELD_KEYS = ['bookingId', 'status', 'checkIn', 'checkOut', 'guestName', 'roomNumber'] as const;
type ReservationFields = Pick<Reservation, (typeof FIELD_KEYS)[number]>;
const pick = (f: ReservationFields): ReservationFields =>
  Object.fromEntries(FIELD_KEYS.map((k) => [k, f[k]])) as ReservationFields;

/** Reservations per property code, plus the per-property counter behind `FPMS-<code>-<n>`. */
class ReservationStore {
  private readonly properties = new Map<string, { next: number; byRef: Map<string, Reservation> }>();
  private lastStamp = 0;

  get(code: string, ref: string): Reservation | undefined {
    return this.properties.get(code)?.byRef.get(ref);
  }

  list(code: string, since?: number): Reservation[] {
    const all = [...(this.properties.get(code)?.byRef.values() ?? [])];
    return all
      .filter((r) => since === undefined || Date.parse(r.updatedAt) > since)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
  }

  /** PUT semantics: the body replaces every field (an omitted roomNumber clears it). */
  upsert(code: string, ref: string, body: z.infer<typeof reservationBody>): Reservation {
    return this.write(code, ref, { ...body, roomNumber: body.roomNumber ?? null });
  }

  /** Undefined when the reservation does not exist; cancelling twice is a no-op. */
  cancel(code: string, ref: string): Reservation | undefined {
    const existing = this.get(code, ref);
    return existing && this.write(code, ref, { ...existing, status: 'CANCELLED' });
  }

  clear(): void {
    this.properties.clear();
  }

  private write(code: string, ref: string, fields: ReservationFields): Reservation {
    let property = this.properties.get(code);
    if (!property) this.properties.set(code, (property = { next: 1, byRef: new Map() }));
    const existing = property.byRef.get(ref);
    if (existing && FIELD_KEYS.every((k) => existing[k] === fields[k])) {
      return existing; // nothing changed: same version and updatedAt, so pollers do not see it again
    }
    const saved: Reservation = {
      externalId: existing?.externalId ?? `FPMS-${code}-${property.next++}`,
      reference: ref,
      ...pick(fields),
      updatedAt: this.stamp(),
      version: (existing?.version ?? 0) + 1,
    };
    property.byRef.set(ref, saved);
    return saved;
  }

  /**
   * Strictly increasing timestamps: two writes in the same millisecond would otherwise share an updatedAt,
   * and a poller whose cursor is that instant would miss the second one (`updatedSince` is exclusive).
   */
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }
}

function sendError(res: Response, status: number, code: string, message: string, extra: object = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

function sendValidationError(res: Response, error: z.ZodError): void {
  const fields = error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  sendError(res, 422, 'validation_failed', 'Request validation failed', { fields });
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

  /** First handler of every /v1 route: counts the call, then applies the configured fault (if any). */
  // Generic so each route keeps its own typed params (propertyCode, reference).
  const vendorRoute = <P extends { propertyCode: string }>(req: Request<P>, res: Response, next: NextFunction) => {
    const route = `${req.method} /v1${req.route.path}`;
    stats.total++;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;

    const { mode, propertyCodes } = faults;
    if (mode === 'ok' || (propertyCodes && !propertyCodes.includes(req.params.propertyCode))) return next();
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
