/**
 * How the gateway serves the operations dashboard (gateway/src/dashboard): on a tiny express app wired like
 * gateway/src/server.ts (API security headers first, then the dashboard, then the JSON 404), over real HTTP,
 * with a temporary dist folder. The page's behaviour in a browser is tests/e2e/dashboard.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, describe, expect, it } from '@jest/globals';
import { mountDashboard, type DashboardOptions } from '../../gateway/src/dashboard/index.js';
import { edgeSecurity } from '../../gateway/src/edge/security.js';
import { finishHttpApp } from '../../lib/src/http.js';

const servers: http.Server[] = [];
const temp: string[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

function tempDist(built: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'innkeep-dashboard-'));
  temp.push(dir);
  if (built) writeBuild(dir);
  return dir;
}

function writeBuild(dir: string): void {
  mkdirSync(path.join(dir, 'assets'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Innkeep</title><script type="module" src="/dashboard/assets/index-Ab12Cd34.js"></script>');
  writeFileSync(path.join(dir, 'assets', 'index-Ab12Cd34.js'), 'console.log("dashboard")');
  writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
}

async function serve(options: Omit<DashboardOptions, 'enabled'> & { enabled?: boolean }): Promise<string> {
  const app = express();
  app.use(edgeSecurity({ production: options.production, corsOrigins: [] }));
  mountDashboard(app, { enabled: true, ...options });
  finishHttpApp(app);
  const server = http.createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** node:http rather than fetch: fetch does not let a test send its own Host header. */
function getWithHost(url: string, host: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, { headers: { host } }, (res) => resolve(res.resume())).on('error', reject));
}

const directives = (csp: string) => Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]));

describe('the gateway serves the operations dashboard at /dashboard', () => {
  it('answers GET /dashboard and /dashboard/ with index.html, never cached without revalidation', async () => {
    const base = await serve({ production: false, distDir: tempDist(true) });
    for (const pathname of ['/dashboard', '/dashboard/']) {
      const response = await fetch(`${base}${pathname}`);
      expect({ pathname, status: response.status }).toEqual({ pathname, status: 200 });
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toContain('/dashboard/assets/index-Ab12Cd34.js');
    }
  });

  it('serves hashed assets with a year-long immutable cache, other files revalidated, unknown files as the API 404', async () => {
    const base = await serve({ production: false, distDir: tempDist(true) });
    const asset = await fetch(`${base}/dashboard/assets/index-Ab12Cd34.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=31536000/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    const icon = await fetch(`${base}/dashboard/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${base}/dashboard/assets/missing-123.js`)).status).toBe(404);
    expect((await fetch(`${base}/dashboard/../package.json`)).status).toBe(404);
  });

  it("sends its own CSP: scripts, styles and images from 'self' only, nothing inline, connections only back to the gateway", async () => {
    const base = await serve({ production: false, distDir: tempDist(true) });
    const host = new URL(base).host;
    for (const pathname of ['/dashboard', '/dashboard/assets/index-Ab12Cd34.js']) {
      const csp = (await fetch(`${base}${pathname}`)).headers.get('content-security-policy') ?? '';
      expect(directives(csp)).toEqual({
        'default-src': ["'none'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'"],
        'connect-src': ["'self'", `wss://${host}`, `ws://${host}`],
        'base-uri': ["'none'"],
        'form-action': ["'none'"],
        'frame-ancestors': ["'none'"],
      });
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:\/\//);
    }
  });

  it('in production allows only wss:// back to the gateway, and never echoes a malformed Host into the CSP', async () => {
    const base = await serve({ production: true, distDir: tempDist(true) });
    const production = (await fetch(`${base}/dashboard`)).headers.get('content-security-policy') ?? '';
    expect(directives(production)['connect-src']).toEqual(["'self'", `wss://${new URL(base).host}`]);
    const forged = await getWithHost(`${base}/dashboard`, "evil.example; script-src 'unsafe-inline'");
    const csp = String(forged.headers['content-security-policy'] ?? '');
    expect(directives(csp)['connect-src']).toEqual(["'self'"]);
    expect(csp).not.toContain('unsafe-inline');
  });

  it('tells the page whether to show the demo logins: in development only', async () => {
    const development = await (await fetch(`${await serve({ production: false, distDir: tempDist(true) })}/dashboard/config.json`)).json();
    const production = await (await fetch(`${await serve({ production: true, distDir: tempDist(true) })}/dashboard/config.json`)).json();
    expect(development).toEqual({ demoLogins: true });
    expect(production).toEqual({ demoLogins: false });
  });

  it('answers 503 with a plain message naming `npm run build:dashboard` while dist is missing, and serves it once built', async () => {
    const dist = tempDist(false);
    const base = await serve({ production: false, distDir: dist });
    const missing = await fetch(`${base}/dashboard`);
    expect(missing.status).toBe(503);
    expect(missing.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect(await missing.text()).toContain('npm run build:dashboard');
    writeBuild(dist);
    expect((await fetch(`${base}/dashboard`)).status).toBe(200);
  });

  it('DASHBOARD_ENABLED=false: /dashboard does not exist (404), even with a build present', async () => {
    const base = await serve({ enabled: false, production: false, distDir: tempDist(true) });
    for (const pathname of ['/dashboard', '/dashboard/', '/dashboard/assets/index-Ab12Cd34.js', '/dashboard/config.json']) {
      expect({ pathname, status: (await fetch(`${base}${pathname}`)).status }).toEqual({ pathname, status: 404 });
    }
  });
});

describe('the built dashboard (dashboard/dist, made by `npm install` / `npm run build:dashboard`)', () => {
  const dist = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

  it('exists, and its index.html loads only hashed same-origin files under /dashboard/, with no inline script or style', () => {
    const index = path.join(dist, 'index.html');
    if (!existsSync(index)) throw new Error('dashboard/dist/index.html is missing: run `npm run build:dashboard` (npm install runs it too)');
    const html = readFileSync(index, 'utf8');
    const sources = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(1);
    for (const source of sources) expect(source).toMatch(/^\/dashboard\/(assets\/[\w.-]+-[\w-]{8}\.(js|css)|favicon\.svg)$/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
  });
});
