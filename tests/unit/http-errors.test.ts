/**
 * The last HTTP error handler (lib/src/http.ts finishHttpApp): a database that is busy or unreachable is
 * a retryable 503 naming the service, anything else a masked 500 naming the service.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHttpApp, finishHttpApp } from '../../lib/src/http.js';
import { createLogger } from '../../lib/src/logger.js';

let server: http.Server;
let base: string;

beforeAll(async () => {
  const app = createHttpApp({ logger: createLogger('test', 'silent'), checks: [] });
  app.get('/pool-exhausted', () => {
    // What Prisma throws when no connection could be had in time.
    throw Object.assign(new Error('Timed out fetching a new connection from the connection pool.'), { code: 'P2024' });
  });
  app.get('/bug', () => {
    throw new Error('secret detail: password=hunter2');
  });
  finishHttpApp(app, 'gateway');
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('finishHttpApp', () => {
  it('answers a database that is busy or unreachable with 503 SERVICE_UNAVAILABLE, retryable, Retry-After', async () => {
    const response = await fetch(`${base}/pool-exhausted`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    const body = (await response.json()) as any;
    expect(body.errors[0]).toMatchObject({
      message: 'The database is busy or unreachable; retry shortly',
      extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true, reason: 'DATABASE_P2024', service: 'gateway', correlationId: expect.any(String), timestamp: expect.any(String) },
    });
  });

  it('masks anything else as a 500 that still names the service', async () => {
    const response = await fetch(`${base}/bug`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('hunter2');
    expect(JSON.parse(text).errors[0].extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', service: 'gateway' });
  });
});
