import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { projectPath } from '../../../lib/src/project-root.js';

/**
 * The live operations dashboard (dashboard/, a Vite app) served by the gateway at /dashboard. It is a
 * static page: everything it shows comes from the same /graphql (HTTP + graphql-ws) and /auth/* that any
 * client uses, with the signed-in user's own rights. docs/operations.md "Live operations dashboard".
 */
export interface DashboardOptions {
  /** DASHBOARD_ENABLED: false mounts nothing, so /dashboard answers the gateway's ordinary 404. */
  enabled: boolean;
  /** Production: no demo-login hint, and the page may only open wss:// to the gateway's own host. */
  production: boolean;
  /** The built app (`npm run build:dashboard`). Default: dashboard/dist in the repository. */
  distDir?: string;
}

const DEFAULT_DIST = projectPath('dashboard/dist');
const NOT_BUILT =
  'The operations dashboard is not built on this server (dashboard/dist is missing).\n' +
  'Run `npm run build:dashboard` (needs the dev dependencies; `npm install` does it too), then reload.\n';
/** Vite names every asset by its content hash: a changed file has a new name, so caching forever is safe. */
const ASSET_MAX_AGE = '365d';
/** A Host header we are willing to echo into the CSP (anything else could inject directives). */
const SAFE_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function mountDashboard(app: Express, options: DashboardOptions): void {
  if (!options.enabled) return;
  const distDir = options.distDir ?? DEFAULT_DIST;
  const indexFile = path.join(distDir, 'index.html');
  const router = express.Router();

  router.use(dashboardCsp(options.production));
  // Checked per request, not once at start-up: building the dashboard next to a running gateway (or a
  // deploy that copies dist/ in later) needs no restart.
  router.use((_req, res, next) => {
    if (existsSync(indexFile)) return next();
    res.status(503).type('text/plain').setHeader('Cache-Control', 'no-store');
    res.send(NOT_BUILT);
  });

  const sendIndex: RequestHandler = (_req, res) => {
    // Always revalidated: it names the current hashed bundles, so a deploy shows up on the next load.
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(indexFile);
  };
  router.get('/', sendIndex);
  router.get('/index.html', sendIndex);
  // What the static page cannot know by itself. JSON rather than an inline script: the CSP forbids those.
  router.get('/config.json', (_req, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ demoLogins: !options.production });
  });
  router.use('/assets', express.static(path.join(distDir, 'assets'), { immutable: true, maxAge: ASSET_MAX_AGE, index: false, fallthrough: true }));
  // Un-hashed files from dashboard/public (the icon): short-lived, revalidated.
  router.use(express.static(distDir, { index: false, maxAge: 0, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));

  app.use('/dashboard', router);
}

/**
 * The dashboard's own CSP, replacing the API's (which allows nothing in production and Apollo Sandbox's CDN
 * in development): scripts, styles and images only from this origin, nothing inline, no frames, and
 * connections only back to the gateway — HTTP via 'self', WebSocket via an explicit ws(s):// of the
 * requested host, because browsers before CSP Level 3 do not count ws: as 'self'.
 */
function dashboardCsp(production: boolean): RequestHandler {
  const socketSources = (req: Request): string => {
    const host = req.get('host') ?? '';
    if (!SAFE_HOST.test(host)) return '';
    return production ? `wss://${host}` : `wss://${host} ws://${host}`;
  };
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'", (req) => socketSources(req as Request)],
      baseUri: ["'none'"],
      // The login form is submitted by script (fetch), never by navigation.
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  });
}
