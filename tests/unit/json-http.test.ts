import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson } from '../../lib/src/json-http.js';

/** A real HTTP server on loopback: records each request's socket, body and headers; answers by path. */
const seen: Array<{ path: string; port: number; body: string; headers: http.IncomingHttpHeaders }> = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    seen.push({ path: req.url ?? '', port: req.socket.remotePort ?? 0, body, headers: req.headers });
    if (req.url === '/slow') {
      setTimeout(() => res.end('{"late":true}'), 1_000).unref();
      return;
    }
    if (req.url === '/html') {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { echo: JSON.parse(body) } }));
  });
});
let base = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('postJson (the gateway → subgraph and subgraph → subgraph HTTP client)', () => {
  it('sends the payload and headers, and answers the status and the parsed body', async () => {
    const answer = await postJson(`${base}/graphql`, { 'content-type': 'application/json', authorization: 'Bearer t-1' }, JSON.stringify({ query: '{ a }' }));
    expect(answer).toEqual({ status: 200, body: { data: { echo: { query: '{ a }' } } } });
    const request = seen.at(-1)!;
    expect(request.headers.authorization).toBe('Bearer t-1');
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('keeps connections alive: 20 sequential calls reuse the pool’s connections instead of opening 20', async () => {
    seen.length = 0;
    for (let i = 0; i < 20; i++) await postJson(`${base}/graphql`, { 'content-type': 'application/json' }, JSON.stringify({ i }));
    expect(seen).toHaveLength(20);
    // A call can start before the previous one's connection is marked idle again, so the pool may hold 2.
    expect(new Set(seen.map((r) => r.port)).size).toBeLessThanOrEqual(2);
  });

  it('a body that is not JSON answers null beside its status (the caller decides), and the connection stays usable', async () => {
    seen.length = 0;
    await expect(postJson(`${base}/html`, {}, '{}')).resolves.toEqual({ status: 502, body: null });
    for (let i = 0; i < 10; i++) await postJson(`${base}/graphql`, {}, '{}');
    expect(new Set(seen.map((r) => r.port)).size).toBeLessThanOrEqual(2);
  });

  it('an aborted signal cancels the call with the signal’s reason', async () => {
    const started = Date.now();
    const error = await postJson(`${base}/slow`, {}, '{}', AbortSignal.timeout(50)).catch((e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('a refused connection rejects (no answer is made up)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(postJson(`http://127.0.0.1:${port}/graphql`, {}, '{}')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
