/**
 * The request-end audit pieces (lib/src/request-audit.ts, lib/src/rate-limit/reload-audit.ts) and the
 * rule names denials carry (lib/src/authz.ts): bounded, aggregated, never a value.
 */
import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, type GraphQLError } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, capability, chain, definePermissions, deniedBy, deny } from '../../lib/src/authz.js';
import type { Principal } from '../../lib/src/identity.js';
import { authzDeniedFact, PiiReads } from '../../lib/src/request-audit.js';
import { changedRateLimitKeys } from '../../lib/src/rate-limit/reload-audit.js';
import { rateLimitSettingsFrom } from '../../lib/src/rate-limit/settings.js';

const frontDesk: Principal = { kind: 'user', id: 'u1', email: 'fd@example.test', roles: ['FRONT_DESK'], hotelIds: ['h1'], scopes: [] };
const request = { principal: frontDesk, correlationId: 'cid-12345678', service: 'booking', operation: 'Op', operationType: 'query' as const, rootFields: ['a'] };

describe('guest PII reads are aggregated per hotel and flushed once', () => {
  it('one event per hotel with the fields, counts and IDs; a second drain has nothing left', () => {
    const reads = new PiiReads();
    reads.note({ hotelId: 'h1', field: 'email', guestId: 'g1', bookingId: 'b1' });
    reads.note({ hotelId: 'h1', field: 'phone', guestId: 'g1', bookingId: 'b1' });
    reads.note({ hotelId: 'h1', field: 'email', guestId: 'g2', bookingId: 'b2' });
    reads.note({ hotelId: 'h2', field: 'email', guestId: 'g3', bookingId: 'b3' });
    const facts = reads.drain(request);
    expect(facts).toHaveLength(2);
    expect(facts[0]).toMatchObject({ action: 'guest.pii_read', actor: 'user:u1', hotelId: 'h1', details: { fields: ['email', 'phone'], guestCount: 2, guestIds: ['g1', 'g2'], bookingIds: ['b1', 'b2'], truncated: false } });
    expect(JSON.stringify(facts)).not.toContain('fd@example.test');
    expect(reads.drain(request)).toEqual([]);
  });

  it('caps the ID lists of a huge page and says so; the count stays exact', () => {
    const reads = new PiiReads();
    for (let i = 0; i < 150; i++) reads.note({ hotelId: 'h1', field: 'email', guestId: `g${i}`, bookingId: `b${i}` });
    const [fact] = reads.drain(request);
    expect(fact!.details).toMatchObject({ guestCount: 150, truncated: true });
    expect((fact!.details!.guestIds as string[]).length).toBe(100);
  });
});

describe('a denial event is bounded', () => {
  it('deduplicates paths, caps them at 20 and keeps the exact count', () => {
    const refused = Array.from({ length: 30 }, (_, i) => ({ path: `f${i % 25}`, rule: 'r' }));
    const fact = authzDeniedFact(request, refused);
    expect(fact).toMatchObject({ action: 'authz.denied', hotelId: 'h1', resourceId: 'Op', details: { deniedCount: 30, roles: ['FRONT_DESK'], principalKind: 'user' } });
    expect((fact.details!.denied as unknown[]).length).toBe(20);
  });
});

describe('denials carry the name of the rule that refused (never sent to the client)', () => {
  it('a capability, a chain and the default deny', async () => {
    const typeDefs = parse(`type Query { a: Int  b: Int  c: Int }`);
    const never = capability('neverGranted', { roles: ['PLATFORM_ADMIN'] });
    const permissions = definePermissions({ Query: { a: never, b: chain(never, deny), c: deny, _service: allow }, _Service: allow }, { service: 'test' });
    const schema = applyMiddleware(buildSubgraphSchema([{ typeDefs, resolvers: { Query: { a: () => 1, b: () => 2, c: () => 3 } } }]), permissions);
    const result = await graphql({ schema, source: '{ a b c }', contextValue: { principal: frontDesk } });
    const byField = Object.fromEntries((result.errors ?? []).map((e: GraphQLError) => [e.path?.[0], deniedBy(e.originalError)]));
    expect(byField).toEqual({ a: 'neverGranted', b: 'neverGranted+deny', c: 'deny' });
    expect(JSON.stringify(result.errors)).not.toContain('neverGranted');
  });
});

describe('a rate-limit reload names the entries that changed', () => {
  it('fields, API keys, budgets and login limits', () => {
    const before = rateLimitSettingsFrom({ fields: { 'Query.a': { default: { max: 5, window: '1m' } } } }, 'x');
    const after = rateLimitSettingsFrom(
      { fields: { 'Query.a': { default: { max: 6, window: '1m' } } }, apiKeys: { k1: { tier: 'partner' } }, budgets: { user: { perMinute: 1 } }, login: { max: 9, window: '1m' } },
      'x',
    );
    expect(changedRateLimitKeys(before, after)).toEqual(['apiKeys.k1', 'budgets.user', 'fields.Query.a', 'login']);
    expect(changedRateLimitKeys(after, after)).toEqual([]);
  });
});
