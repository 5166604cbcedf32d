import { createHash } from 'node:crypto';
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, isObjectType, type GraphQLFieldConfig, type GraphQLSchema } from 'graphql';
import { RateLimitedError } from '../errors.js';
import { actorOf, ANONYMOUS, type Principal } from '../identity.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { describeLimit, fieldLimitFor, tierOf, type Limit, type RateLimitSettings } from './settings.js';
import { rateLimitRefusals, type CounterStore } from './store.js';
import { callerKey } from './tiers.js';
import { formatWindow, parseWindow, WINDOW_HINT } from './window.js';

/**
 * `@rateLimit` — graphql-rate-limit's argument shape (max, window, identityArgs, message), enforced with
 * atomic Redis counters (store.ts) instead of graphql-rate-limit's read-modify-write store. Two
 * additions: `perCaller: false` counts every caller together (e.g. "10 syncs per hotel, whoever
 * asks"), and `when: "<arg> > <n>"` limits only calls whose argument passes the threshold (e.g. large
 * audit pages). Each subgraph SDL that uses it declares it exactly like this:
 */
export const RATE_LIMIT_DIRECTIVE_SDL =
  'directive @rateLimit(max: Int!, window: String!, identityArgs: [String!], message: String, perCaller: Boolean = true, when: String) on FIELD_DEFINITION';
const DIRECTIVE = 'rateLimit';

interface DirectiveArgs {
  max: number;
  window: string;
  identityArgs?: string[] | null;
  message?: string | null;
  perCaller?: boolean | null;
  when?: string | null;
}

/** What a limited resolver needs from the request context (subgraph and gateway contexts both have it). */
export interface RateLimitContext {
  principal?: Principal;
  /** The end client's IP (anonymous callers are counted by it). */
  clientIp?: string;
  correlationId?: string;
  log?: Logger;
}

/** One field's compiled `@rateLimit` (built once, at start-up). */
export interface FieldRule {
  /** `Type.field`, as in the limits file and metrics. */
  field: string;
  sdl: Limit;
  identityArgs: string[][];
  perCaller: boolean;
  message?: string;
  when?: { arg: string; describe: string; test(args: Record<string, unknown>): boolean };
}

export interface FieldRateLimitOptions {
  counters: CounterStore;
  /** The limits in force (re-read on SIGHUP, so read per call). */
  settings(): RateLimitSettings;
  metrics: Metrics;
  /** Used when the context has no request logger. */
  logger: Logger;
}

/** True when some field of `schema` carries `@rateLimit` (nothing to set up otherwise). */
export function usesRateLimit(schema: GraphQLSchema): boolean {
  return Object.values(schema.getTypeMap()).some(
    (type) => isObjectType(type) && Object.values(type.getFields()).some((field) => getDirective(schema, field, DIRECTIVE)?.length),
  );
}

/**
 * The schema transformer: every field carrying `@rateLimit` gets its resolver wrapped (mapSchema +
 * getDirective, once, at start-up). Directive arguments are validated here, so a bad SDL stops the
 * service at start-up naming the field. Per call: a tier lookup, a key, one Redis round trip.
 */
export function rateLimitDirectiveTransformer(options: FieldRateLimitOptions): { transform(schema: GraphQLSchema): GraphQLSchema; rules: FieldRule[] } {
  const refusals = rateLimitRefusals(options.metrics);
  const rules: FieldRule[] = [];
  const transform = (schema: GraphQLSchema) => {
    const definition = schema.getDirective(DIRECTIVE);
    if (definition) {
      const declared = new Set(definition.args.map((a) => a.name));
      const missing = ['max', 'window', 'identityArgs', 'message', 'perCaller', 'when'].filter((a) => !declared.has(a));
      if (missing.length) throw new Error(`@rateLimit is declared without ${missing.join(', ')}: declare it as\n  ${RATE_LIMIT_DIRECTIVE_SDL}`);
    }
    return mapSchema(schema, {
      [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
        const args = getDirective(schema, fieldConfig, DIRECTIVE)?.[0] as DirectiveArgs | undefined;
        if (!args) return fieldConfig;
        const rule = compileRule(`${typeName}.${fieldName}`, args, fieldConfig);
        rules.push(rule);
        return limitField(fieldConfig, rule, options, refusals);
      },
    });
  };
  return { transform, rules };
}

function compileRule(field: string, args: DirectiveArgs, fieldConfig: GraphQLFieldConfig<unknown, unknown>): FieldRule {
  const problem = (message: string) => new Error(`@rateLimit on ${field}: ${message}`);
  if (!Number.isInteger(args.max) || args.max < 1) throw problem(`max must be a whole number of at least 1 (got ${args.max})`);
  const windowSeconds = parseWindow(args.window);
  if (windowSeconds === undefined) throw problem(`window "${args.window}" is not a window: ${WINDOW_HINT}`);
  const argNames = new Set(Object.keys(fieldConfig.args ?? {}));
  const identityArgs = (args.identityArgs ?? []).map((p) => {
    const path = p.split('.');
    if (!argNames.has(path[0]!)) throw problem(`identityArgs names "${p}", but the field has no argument "${path[0]}"`);
    return path;
  });
  let when: FieldRule['when'];
  if (args.when) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|>)\s*(\d+)\s*$/.exec(args.when);
    if (!match) throw problem(`when "${args.when}" must read "<argument> > <number>" or "<argument> >= <number>"`);
    const [, arg, op, n] = match as unknown as [string, string, string, string];
    if (!argNames.has(arg)) throw problem(`when names "${arg}", but the field has no argument "${arg}"`);
    const threshold = Number(n);
    when = {
      arg,
      describe: `${arg} ${op} ${threshold}`,
      test: (values) => {
        const v = values[arg];
        return typeof v === 'number' && (op === '>' ? v > threshold : v >= threshold);
      },
    };
  }
  return {
    field,
    sdl: { max: args.max, windowSeconds },
    identityArgs,
    perCaller: args.perCaller !== false,
    ...(args.message ? { message: args.message } : {}),
    ...(when ? { when } : {}),
  };
}

function limitField(
  fieldConfig: GraphQLFieldConfig<unknown, unknown>,
  rule: FieldRule,
  options: FieldRateLimitOptions,
  refusals: ReturnType<Metrics['counter']>,
): GraphQLFieldConfig<unknown, unknown> {
  const resolve = fieldConfig.resolve ?? defaultFieldResolver;
  const counterName = `field:${rule.field}`;
  return {
    ...fieldConfig,
    resolve: async (source, args: Record<string, unknown>, context, info) => {
      const ctx = (context ?? {}) as RateLimitContext;
      if (rule.when && !rule.when.test(args)) return resolve(source, args, context, info);
      const settings = options.settings();
      const principal = ctx.principal ?? ANONYMOUS;
      const tier = tierOf(settings, principal);
      const limit = fieldLimitFor(settings, rule.field, principal, tier, rule.sdl);
      if (limit === 'off') return resolve(source, args, context, info);

      const key = keyFor(rule, principal, ctx.clientIp, args);
      const log = ctx.log ?? options.logger;
      let count;
      try {
        count = await options.counters.counter(counterName, limit.max, limit.windowSeconds).hit(key);
      } catch (error) {
        // Both Redis and the in-memory fallback failed (should not happen): serve rather than refuse.
        log.error({ err: error, field: rule.field }, 'rate limit could not be counted; call allowed');
        return resolve(source, args, context, info);
      }
      if (!count.allowed) {
        const retryAfter = Math.max(1, Math.ceil(count.msBeforeReset / 1000));
        refusals.inc({ field: rule.field, tier });
        log.info({ field: rule.field, tier, caller: actorOf(principal), limit: describeLimit(limit), retryAfter }, 'rate limit refused');
        const message =
          rule.message ?? `Too many calls to ${rule.field.split('.')[1]}: at most ${limit.max} per ${formatWindow(limit.windowSeconds)}. Retry in ${retryAfter} s.`;
        throw new RateLimitedError(message, retryAfter, { limit: limit.max, window: formatWindow(limit.windowSeconds) });
      }
      return resolve(source, args, context, info);
    },
  };
}

/** caller (or `*`) + identity argument values; long values are hashed so keys stay short. */
function keyFor(rule: FieldRule, principal: Principal, clientIp: string | undefined, args: Record<string, unknown>): string {
  const parts = [rule.perCaller ? callerKey(principal, clientIp) : '*'];
  for (const path of rule.identityArgs) {
    let value: unknown = args;
    for (const segment of path) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
    const text = value === undefined || value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    parts.push(text.length > 64 || text.includes(':') ? createHash('sha256').update(text).digest('base64url').slice(0, 22) : text);
  }
  return parts.join(':');
}
