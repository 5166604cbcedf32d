import { describe, expect, it } from '@jest/globals';
import { gatewayUrl, gql } from '../e2e/support.js';

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('hardening at the edge', () => {
  it('sends security headers: HSTS, nosniff, frame-ancestors, and a CSP that lets Sandbox load in development', async () => {
    const response = await fetch(gatewayUrl(), { headers: { accept: 'text/html' } });
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('https://embeddable-sandbox.cdn.apollographql.com');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  // POST /graphql runs its handlers directly (lib/src/http.ts directRoute); with a query string it goes
  // through the router like every other request. Both must answer alike.
  it.each([
    ['the direct route', ''],
    ['the router', '?via=router'],
  ])('POST /graphql through %s: security headers, CORS, correlation ID, budget headers; malformed JSON is a coded 400', async (_how, search) => {
    const origin = 'https://sandbox.embed.apollographql.com';
    const correlationId = `edge-${search ? 'routed' : 'direct'}-${Date.now()}`;
    const headers = { 'content-type': 'application/json', origin, 'x-correlation-id': correlationId };
    const ok = await fetch(`${gatewayUrl()}${search}`, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { __typename: 'Query' } });
    expect(ok.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(ok.headers.get('x-powered-by')).toBeNull();
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
    expect(ok.headers.get('access-control-expose-headers')).toContain('x-correlation-id');
    expect(ok.headers.get('x-correlation-id')).toBe(correlationId);
    expect(Number(ok.headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);

    const foreign = await fetch(`${gatewayUrl()}${search}`, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body: JSON.stringify({ query: '{ __typename }' }) });
    // Served (the browser enforces CORS), without an allow-origin header.
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const malformed = await fetch(`${gatewayUrl()}${search}`, { method: 'POST', headers, body: '{"query": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('x-content-type-options')).toBe('nosniff');
    const body = (await malformed.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', correlationId, service: 'gateway' });
  });

  it('CORS answers allowed origins only', async () => {
    const allowed = await fetch(gatewayUrl(), { method: 'OPTIONS', headers: { origin: 'https://sandbox.embed.apollographql.com', 'access-control-request-method': 'POST' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://sandbox.embed.apollographql.com');
    const foreign = await fetch(gatewayUrl(), { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('CSRF prevention refuses a simple GET query without a preflight-forcing header', async () => {
    const url = `${gatewayUrl()}?query=${encodeURIComponent('{ hotels { slug } }')}`;
    expect((await fetch(url)).status).toBe(400);
    expect((await fetch(url, { headers: { 'apollo-require-preflight': 'true' } })).status).toBe(200);
  });

  it('refuses a body over the limit with 413 and batched operations with 400', async () => {
    const huge = await post({ query: `{ hotels { slug } }`, variables: { pad: 'x'.repeat(1_200_000) } });
    expect(huge.status).toBe(413);
    const batch = await post([{ query: '{ hotels { slug } }' }, { query: '{ hotels { name } }' }]);
    expect(batch.status).toBe(400);
  });

  it('refuses operations over the depth, alias and token limits with BAD_USER_INPUT naming the limit', async () => {
    const nested = Array.from({ length: 7 }, () => 'rooms { hotel {').join(' ');
    const deep = await gql(`{ hotels { ${nested} slug ${'} } '.repeat(7)} } }`);
    expect(deep.status).toBe(400);
    expect(deep.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(deep.errors[0]!.message).toMatch(/depth/i);

    const aliases = await gql(`{ ${Array.from({ length: 40 }, (_, i) => `a${i}: hotels { slug }`).join(' ')} }`);
    expect(aliases.status).toBe(400);
    expect(aliases.errors[0]!.message).toMatch(/alias/i);

    const tokens = await gql(`{ hotels { ${Array.from({ length: 3500 }, () => 'slug').join(' ')} } }`);
    expect(tokens.status).toBe(400);
    expect(tokens.errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_PARSE_FAILED' });
    expect(tokens.errors[0]!.message).toMatch(/token/i);
  });

  it('gives no field suggestions', async () => {
    const { errors } = await gql(`{ hotels { nam } }`);
    expect(errors[0]!.message).not.toMatch(/Did you mean/);
  });
});
