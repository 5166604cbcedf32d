/**
 * The limits file: what ships parses, a bad entry stops start-up with a message naming it, and the
 * lookups resolve API key → field tier → field default → SDL, and API key → tier budgets.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse as parseGraphQL } from 'graphql';
import { describe, expect, it } from '@jest/globals';
import { ANONYMOUS } from '../../lib/src/identity.js';
import { createLogger } from '../../lib/src/logger.js';
import { createMetrics } from '../../lib/src/metrics.js';
import { rateLimitDirectiveTransformer } from '../../lib/src/rate-limit/directive.js';
import { createCounterStore } from '../../lib/src/rate-limit/store.js';
import {
  budgetFor,
  DEFAULT_BUDGETS,
  fieldLimitFor,
  loadRateLimitSettings,
  RateLimitConfigError,
  rateLimitSettingsFrom,
  tierOf,
} from '../../lib/src/rate-limit/settings.js';
import { formatWindow, parseWindow } from '../../lib/src/rate-limit/window.js';
import { apiKey, limitsFile, user } from './rate-limit-support.js';

const parse = (yaml: string) => loadRateLimitSettings(limitsFile(yaml));
const problemOf = (yaml: string): string => {
  try {
    parse(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitConfigError);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
};

describe('the limits file', () => {
  it('the shipped config/rate-limits.yaml and the test stack file are valid', () => {
    const shipped = loadRateLimitSettings(path.resolve('config/rate-limits.yaml'));
    expect(shipped.login).toEqual({ max: 5, windowSeconds: 60 });
    expect(shipped.loginPerIp).toEqual({ max: 30, windowSeconds: 60 });
    expect(shipped.webhookPerIp).toEqual({ max: 600, windowSeconds: 60 });
    expect(shipped.budgets.partner).toEqual({ perMinute: 600, perHour: 20_000, perDay: 200_000, burst: 200, burstWindowSeconds: 600 });
    expect(shipped.budgets.internal).toBe('off');
    expect(loadRateLimitSettings(path.resolve('tests/setup/rate-limits.yaml')).login.max).toBeGreaterThan(1000);
  });

  it('an empty file means the SDL defaults and the built-in budgets', () => {
    const settings = parse('');
    expect(settings.budgets).toEqual(DEFAULT_BUDGETS);
    expect(settings.fields.size).toBe(0);
    expect(fieldLimitFor(settings, 'Mutation.createBooking', user('u'), 'user', { max: 20, windowSeconds: 60 })).toEqual({ max: 20, windowSeconds: 60 });
  });

  it.each([
    ['a window that is not one', 'fields:\n  Mutation.createBooking: { partner: { max: 5, window: 5 fortnights } }', /fields\["Mutation\.createBooking"\]\.partner(\.window)?: .*"5 fortnights" is not a window/],
    ['a max that is not a number', 'fields:\n  Mutation.createBooking: { user: { max: lots, window: 1m } }', /fields\["Mutation\.createBooking"\]\.user/],
    ['an unknown tier', 'fields:\n  Mutation.createBooking: { gold: { max: 5, window: 1m } }', /fields\["Mutation\.createBooking"\].*gold/],
    ['a field name without its type', 'fields:\n  createBooking: { user: { max: 5, window: 1m } }', /fields.*createBooking.*Type\.field/],
    ['a misspelt budget key', 'budgets:\n  user: { perMinutes: 10 }', /budgets\.user.*perMinutes/],
    ['a budget without perMinute', 'budgets:\n  partner: { perHour: 10 }', /budgets\.partner/],
    ['an unknown top-level entry', 'limits: {}', /limits/],
    ['an API key moved to an unknown tier', 'apiKeys:\n  k1: { tier: platinum }', /apiKeys\.k1\.tier: must be one of anonymous, user, partner, internal/],
    ['a login limit of zero', 'login: { max: 0, window: 1m }', /login\.max: must be at least 1/],
    ['a sub-second window', 'login: { max: 5, window: 0s }', /login\.window: "0s" is not a window/],
  ])('refuses %s, naming the entry', (_label, yaml, message) => {
    const problem = problemOf(yaml);
    expect(problem).toMatch(/^Invalid rate-limit configuration in .*rate-limits\.yaml:/);
    expect(problem).toMatch(message);
  });

  it('refuses a file that is not YAML, or is missing, saying so', () => {
    expect(problemOf('fields: [unclosed')).toMatch(/not valid YAML/);
    expect(() => loadRateLimitSettings('/nonexistent/rate-limits.yaml')).toThrow(/cannot read the file \(ENOENT\): check RATE_LIMITS_FILE/);
  });

  it('reads JSON too', () => {
    const settings = rateLimitSettingsFrom(JSON.parse('{"login":{"max":9,"window":"2m"}}'), 'inline.json');
    expect(settings.login).toEqual({ max: 9, windowSeconds: 120 });
  });
});

describe('tiers and lookups', () => {
  const settings = parse(`
fields:
  Mutation.createBooking:
    default: { max: 40, window: 1m }
    partner: { max: 100, window: 1m }
    internal: off
budgets:
  partner: { perMinute: 1000, burst: 50 }
apiKeys:
  trusted:
    tier: internal
  special:
    budget: { perMinute: 7 }
    fields:
      Mutation.createBooking: { max: 3, window: 1h }
`);
  const sdl = { max: 20, windowSeconds: 60 };

  it('maps principals to tiers: anonymous, user, partner (API keys), internal (services); the file may move a key', () => {
    expect(tierOf(settings, ANONYMOUS)).toBe('anonymous');
    expect(tierOf(settings, user('u'))).toBe('user');
    expect(tierOf(settings, apiKey('k'))).toBe('partner');
    expect(tierOf(settings, { kind: 'service', id: 'pms', roles: [], hotelIds: [], scopes: [] })).toBe('internal');
    expect(tierOf(settings, apiKey('trusted'))).toBe('internal');
  });

  it('field limit: API key entry, then the tier entry, then `default`, then the SDL', () => {
    expect(fieldLimitFor(settings, 'Mutation.createBooking', apiKey('special'), 'partner', sdl)).toEqual({ max: 3, windowSeconds: 3600 });
    expect(fieldLimitFor(settings, 'Mutation.createBooking', apiKey('k'), 'partner', sdl)).toEqual({ max: 100, windowSeconds: 60 });
    expect(fieldLimitFor(settings, 'Mutation.createBooking', user('u'), 'user', sdl)).toEqual({ max: 40, windowSeconds: 60 });
    expect(fieldLimitFor(settings, 'Mutation.createBooking', apiKey('trusted'), 'internal', sdl)).toBe('off');
    expect(fieldLimitFor(settings, 'Mutation.cancelBooking', user('u'), 'user', { max: 10, windowSeconds: 60 })).toEqual({ max: 10, windowSeconds: 60 });
  });

  it('budget: the API key entry, else its tier; tiers the file does not name keep the built-in budget', () => {
    expect(budgetFor(settings, apiKey('special'), 'partner')).toEqual({ perMinute: 7, burst: 0, burstWindowSeconds: 600 });
    expect(budgetFor(settings, apiKey('k'), 'partner')).toEqual({ perMinute: 1000, burst: 50, burstWindowSeconds: 600 });
    expect(budgetFor(settings, user('u'), 'user')).toEqual(DEFAULT_BUDGETS.user);
  });

  it('windows read like graphql-rate-limit writes them', () => {
    expect(['30s', '1m', '15 minutes', '1h', '2d'].map(parseWindow)).toEqual([30, 60, 900, 3600, 172_800]);
    expect(['', '1', '1w', '0m', '1.5m', 'one minute'].map(parseWindow)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect([59, 60, 3600, 86_400].map(formatWindow)).toEqual(['59s', '1m', '1h', '1d']);
  });
});

describe('the defaults the SDL declares (docs/rate-limits.md has the same table)', () => {
  it('each limited field, its limit, window and keying', () => {
    const logger = createLogger('test', 'silent');
    const metrics = createMetrics('test', { defaultMetrics: false });
    const directive = rateLimitDirectiveTransformer({ counters: createCounterStore({ redis: null, keyPrefix: 'x:', logger, metrics }), settings: () => parse(''), metrics, logger });
    for (const file of ['subgraphs/hotel/schema.graphql', 'subgraphs/booking/schema.graphql', 'subgraphs/pms/schema.graphql', 'subgraphs/audit/schema.graphql', 'gateway/src/identity/schema.graphql']) {
      directive.transform(buildSubgraphSchema([{ typeDefs: parseGraphQL(readFileSync(file, 'utf8')) }]));
    }
    const table = Object.fromEntries(
      directive.rules.map((r) => [r.field, `${r.sdl.max}/${formatWindow(r.sdl.windowSeconds)} per ${[r.perCaller ? 'caller' : '', ...r.identityArgs.map((a) => a.join('.'))].filter(Boolean).join(' + ')}${r.when ? ` when ${r.when.describe}` : ''}`]),
    );
    expect(table).toEqual({
      'Query.availableRooms': '60/1m per caller',
      'Mutation.createBooking': '20/1m per caller',
      'Mutation.cancelBooking': '10/1m per caller',
      'Mutation.syncReservations': '10/1m per hotelId',
      'Query.auditEvents': '5/1m per caller when first > 50',
      'Mutation.createApiKey': '3/1h per caller',
    });
  });
});
