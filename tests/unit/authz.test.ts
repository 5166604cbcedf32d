/**
 * The shared authorization helpers (lib/src/authz.ts): grants, coded denials, rule-tree coverage, and the
 * bootstrap's refusal of SUBGRAPH_ALLOW_DIRECT in production.
 */
import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import {
  allow,
  authRule,
  capability,
  definePermissions,
  deny,
  hasCapability,
  hotelsGranted,
  isGranted,
  isOwnEmail,
  servicePrincipal,
  STAFF,
  type Grant,
} from '../../lib/src/authz.js';
import { ANONYMOUS, type Principal } from '../../lib/src/identity.js';
import { startSubgraph } from '../../lib/src/subgraph.js';
import { projectPath } from '../../lib/src/project-root.js';

const A = 'a0000000-0000-4000-8000-000000000001';
const B = 'b0000000-0000-4000-8000-000000000002';
const user = (roles: Principal['roles'], hotelIds: string[], email?: string): Principal => ({ kind: 'user', id: 'u', roles, hotelIds, scopes: [], ...(email ? { email } : {}) });
const key = (scopes: string[], hotelIds: string[]): Principal => ({ kind: 'apiKey', id: 'k', roles: [], hotelIds, scopes });

describe('grants', () => {
  const WRITE: Grant = { roles: STAFF, scopes: ['bookings:write'], services: { scopes: ['bookings:read'] } };
  const ROOMS: Grant = { roles: STAFF, services: { scopes: ['rooms:read'], anyHotel: true } };

  it.each<[string, boolean, Principal, Grant, string | null]>([
    ['front desk of A, for A', true, user(['FRONT_DESK'], [A]), WRITE, A],
    ['front desk of A, for B', false, user(['FRONT_DESK'], [A]), WRITE, B],
    ['a guest', false, user(['GUEST'], [A], 'g@x.test'), WRITE, A],
    ['an auditor of A', false, user(['AUDITOR'], [A]), WRITE, A],
    ['the platform admin, for any hotel', true, user(['PLATFORM_ADMIN'], []), WRITE, B],
    ['the platform admin, for no hotel at all', true, user(['PLATFORM_ADMIN'], []), WRITE, null],
    ['an API key with the scope, its hotel', true, key(['bookings:write'], [A]), WRITE, A],
    ['an API key with the scope, another hotel', false, key(['bookings:write'], [A]), WRITE, B],
    ['an API key with another scope', false, key(['bookings:read'], [A]), WRITE, A],
    ['an API key cannot use a role name as a scope', false, { ...key([], [A]), roles: ['FRONT_DESK'] }, WRITE, A],
    ['a user cannot use a scope', false, { ...user([], [A]), scopes: ['bookings:write'] }, WRITE, A],
    ['a service with the scope, its hotel', true, servicePrincipal('pms', ['bookings:read'], [A]), WRITE, A],
    ['a service with the scope, another hotel', false, servicePrincipal('pms', ['bookings:read'], [A]), WRITE, B],
    ['a service with an any-hotel scope', true, servicePrincipal('booking', ['rooms:read']), ROOMS, B],
    ['a service without the scope', false, servicePrincipal('booking', []), ROOMS, B],
    ['anonymous', false, ANONYMOUS, WRITE, A],
    ['a grant of a null hotel (non-admin)', false, user(['FRONT_DESK'], [A]), WRITE, null],
  ])('%s → %s', (_label, expected, principal, grant, hotelId) => {
    expect(isGranted(principal, grant, hotelId)).toBe(expected);
  });

  it('capability ignores hotels; reach lists them', () => {
    expect(hasCapability(user(['FRONT_DESK'], []), { roles: STAFF })).toBe(true);
    expect(hotelsGranted(user(['FRONT_DESK'], []), { roles: STAFF })).toEqual([]);
    expect(hotelsGranted(user(['HOTEL_MANAGER'], [A, B]), { roles: STAFF })).toEqual([A, B]);
    expect(hotelsGranted(user(['PLATFORM_ADMIN'], []), {})).toBe('all');
    expect(hasCapability(user(['GUEST'], []), { roles: STAFF })).toBe(false);
  });

  it('ownership is by the GUEST’s login email, case-insensitive, and only for GUEST users', () => {
    expect(isOwnEmail(user(['GUEST'], [], 'Guest@Innkeep.test'), 'guest@innkeep.test')).toBe(true);
    expect(isOwnEmail(user(['GUEST'], [], 'guest@innkeep.test'), 'other@innkeep.test')).toBe(false);
    expect(isOwnEmail(user(['FRONT_DESK'], [A], 'guest@innkeep.test'), 'guest@innkeep.test')).toBe(false);
    expect(isOwnEmail(user(['GUEST'], []), 'guest@innkeep.test')).toBe(false);
    expect(isOwnEmail({ ...key([], []), email: 'guest@innkeep.test' }, 'guest@innkeep.test')).toBe(false);
  });
});

describe('definePermissions', () => {
  const typeDefs = parse(`
    type Query { open: String  staffOnly: String  broken: String  thing: Thing }
    type Thing @key(fields: "id") { id: ID!  secret: String }
  `);
  let secretCalls = 0;
  const resolvers = {
    Query: { open: () => 'open', staffOnly: () => 'staff', broken: () => 'never', thing: () => ({ id: '1', secret: 's' }) },
    Thing: { secret: () => (secretCalls++, 's') },
  };
  const schemaWith = (tree: Record<string, unknown>) => applyMiddleware(buildSubgraphSchema([{ typeDefs, resolvers }]), definePermissions(tree, { service: 'test' }));
  const TREE = {
    Query: {
      open: allow,
      staffOnly: capability('staffOnly', { roles: STAFF }),
      broken: authRule('broken', 'no_cache', () => {
        throw Object.assign(new Error('database down'), { code: 'P1001' });
      }),
      thing: allow,
      _service: allow,
      _entities: allow,
    },
    Thing: { id: allow, secret: deny },
    _Service: allow,
  };
  const run = (source: string, principal: Principal) => graphql({ schema: schemaWith(TREE), source, contextValue: { principal } });

  it('refuses at start-up a schema with an object field the tree does not name', () => {
    expect(() => schemaWith({ ...TREE, Thing: { id: allow } })).toThrow(/test permissions: no rule for Thing\.secret/);
    expect(() => schemaWith({ Query: TREE.Query, _Service: allow })).toThrow(/no rule for Thing\.id, Thing\.secret/);
  });

  it('answers a refused capability UNAUTHENTICATED to anonymous callers and FORBIDDEN to everyone else', async () => {
    const anonymous = await run('{ staffOnly }', ANONYMOUS);
    expect(anonymous.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    const guest = await run('{ staffOnly }', user(['GUEST'], [], 'g@x.test'));
    expect(guest.errors?.map((e) => [e.extensions.code, e.message])).toEqual([['FORBIDDEN', 'Not allowed to access Query.staffOnly']]);
    expect((await run('{ staffOnly }', user(['FRONT_DESK'], [A]))).data).toEqual({ staffOnly: 'staff' });
  });

  it('denies a field on a type, without calling its resolver, and serves the rest', async () => {
    secretCalls = 0;
    const result = await run('{ open thing { id secret } }', user(['PLATFORM_ADMIN'], []));
    expect(result.data).toEqual({ open: 'open', thing: { id: '1', secret: null } });
    expect(result.errors?.map((e) => [e.extensions.code, e.path?.join('.')])).toEqual([['FORBIDDEN', 'thing.secret']]);
    expect(secretCalls).toBe(0);
  });

  it('an error inside a rule surfaces as that error, never as a silent FORBIDDEN', async () => {
    const result = await run('{ broken }', user(['PLATFORM_ADMIN'], []));
    expect(result.errors?.[0]?.message).toBe('database down');
    expect(result.errors?.[0]?.extensions.code).toBeUndefined();
  });

  it('leaves `allow` fields unwrapped (no middleware hop)', () => {
    const plain = buildSubgraphSchema([{ typeDefs, resolvers }]);
    const guarded = schemaWith(TREE);
    expect(guarded.getQueryType()!.getFields().open!.resolve).toBe(plain.getQueryType()!.getFields().open!.resolve);
    expect(guarded.getQueryType()!.getFields().staffOnly!.resolve).not.toBe(plain.getQueryType()!.getFields().staffOnly!.resolve);
  });
});

describe('the subgraph bootstrap', () => {
  it('refuses SUBGRAPH_ALLOW_DIRECT=true with NODE_ENV=production, before it opens anything', async () => {
    const never = () => {
      throw new Error('must not be reached');
    };
    await expect(
      startSubgraph(
        { name: 'hotel', schemaFile: projectPath('subgraphs/hotel/schema.graphql'), resolvers: {}, permissions: definePermissions({}, { service: 'hotel' }), createContext: never },
        {
          config: { port: 0, HOST: '127.0.0.1', production: true, INTERNAL_TOKEN_SECRET: 'x'.repeat(40), SUBGRAPH_ALLOW_DIRECT: true },
          logger: { info: never, warn: never } as never,
          db: { ping: never, close: never } as never,
        },
      ),
    ).rejects.toThrow(/SUBGRAPH_ALLOW_DIRECT=true is for local debugging only; refusing to start with NODE_ENV=production/);
  });
});
