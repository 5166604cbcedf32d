import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Principal } from '../identity.js';
import { defaultTierOf, TIERS, type Tier } from './tiers.js';
import { formatWindow, parseWindow, WINDOW_HINT } from './window.js';

/**
 * The limits file (RATE_LIMITS_FILE, default config/rate-limits.yaml; YAML or JSON). Every entry is
 * optional: SDL `@rateLimit` defaults and the built-in budgets below apply to what the file does not say.
 * Read at start-up (a bad file stops the process, naming the entry) and again on SIGHUP (a bad file
 * is logged and the previous limits stay). docs/rate-limits.md has the format and a tuning guide.
 */
export interface Limit {
  max: number;
  windowSeconds: number;
}
/** `off`: no limit at all for that field / tier / key. */
export type LimitOverride = Limit | 'off';
export interface Budget {
  perMinute: number;
  perHour?: number;
  perDay?: number;
  /** Extra requests a client may spend once its minute is used up; the pool refills every burstWindowSeconds. */
  burst: number;
  burstWindowSeconds: number;
}
export type BudgetOverride = Budget | 'off';
type FieldOverrides = Partial<Record<Tier | 'default', LimitOverride>>;
interface ApiKeyOverrides {
  tier?: Tier;
  budget?: BudgetOverride;
  fields: Map<string, LimitOverride>;
}

export interface RateLimitSettings {
  /** Where these settings came from (a path, or `built-in defaults`). */
  source: string;
  fields: Map<string, FieldOverrides>;
  budgets: Record<Tier, BudgetOverride>;
  /** POST /auth/login per email + client IP (password guessing on one account). */
  login: Limit;
  /** POST /auth/login per client IP, whatever the email (password spraying; each attempt costs a scrypt hash). */
  loginPerIp: Limit;
  /**
   * POST /webhooks/pms/:vendor per client IP, before the signature is checked: every delivery, even a
   * refused one, costs an HMAC check and an audit record, so a flood must stop at the gateway.
   */
  webhookPerIp: Limit;
  apiKeys: Map<string, ApiKeyOverrides>;
}

/** Per-client budgets when the file does not set them (docs/rate-limits.md explains the numbers). */
export const DEFAULT_BUDGETS: Record<Tier, BudgetOverride> = {
  anonymous: { perMinute: 60, perHour: 1_000, perDay: 10_000, burst: 30, burstWindowSeconds: 600 },
  user: { perMinute: 300, perHour: 6_000, perDay: 50_000, burst: 100, burstWindowSeconds: 600 },
  partner: { perMinute: 600, perHour: 20_000, perDay: 200_000, burst: 200, burstWindowSeconds: 600 },
  internal: 'off',
};
/** POST /auth/login: 5 attempts per minute per email + client IP. */
export const DEFAULT_LOGIN_LIMIT: Limit = { max: 5, windowSeconds: 60 };
/** POST /auth/login: 30 attempts per minute per client IP, any email. */
export const DEFAULT_LOGIN_PER_IP_LIMIT: Limit = { max: 30, windowSeconds: 60 };
/** POST /webhooks/pms/:vendor: 600 deliveries per minute per client IP (a vendor's busy minute, with room). */
export const DEFAULT_WEBHOOK_PER_IP_LIMIT: Limit = { max: 600, windowSeconds: 60 };

export class RateLimitConfigError extends Error {
  constructor(source: string, issues: string[]) {
    super(`Invalid rate-limit configuration in ${source}:\n  - ${issues.join('\n  - ')}\nSee docs/rate-limits.md for the format.`);
    this.name = 'RateLimitConfigError';
  }
}

// ───────────── the file's schema ─────────────

const windowText = z.string({ message: `must be a window string: ${WINDOW_HINT}` }).transform((text, ctx) => {
  const seconds = parseWindow(text);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a window: ${WINDOW_HINT}` });
    return z.NEVER;
  }
  return seconds;
});
const positiveInt = z.number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a whole number') }).int('must be a whole number').min(1, 'must be at least 1');
/** `off` (or `false`) lifts a limit; anything else must be a valid `schema` (its own messages kept). */
const orOff = <T extends z.ZodType>(schema: T, shape: string) =>
  z.unknown().transform((value, ctx): z.output<T> | 'off' => {
    if (value === 'off' || value === false) return 'off';
    if (value === null || typeof value !== 'object') {
      ctx.addIssue({ code: 'custom', message: `must be ${shape} or off` });
      return z.NEVER;
    }
    const result = schema.safeParse(value);
    if (result.success) return result.data as z.output<T>;
    for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] });
    return z.NEVER;
  });
const limit = z.strictObject({ max: positiveInt, window: windowText }).transform((l): Limit => ({ max: l.max, windowSeconds: l.window }));
const limitOrOff = orOff(limit, '{ max: <n>, window: "<n>m" }');
const budget = z
  .strictObject({
    perMinute: positiveInt,
    perHour: positiveInt.optional(),
    perDay: positiveInt.optional(),
    burst: z.number().int('must be a whole number').min(0, 'must be 0 or more').default(0),
    burstWindow: windowText.default(600),
  })
  .transform((b): Budget => ({
    perMinute: b.perMinute,
    ...(b.perHour ? { perHour: b.perHour } : {}),
    ...(b.perDay ? { perDay: b.perDay } : {}),
    burst: b.burst,
    burstWindowSeconds: b.burstWindow,
  }));
const budgetOrOff = orOff(budget, '{ perMinute: <n>, perHour?, perDay?, burst?, burstWindow? }');
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
/** A map keyed by `Type.field`; a key written otherwise is named in the error. */
const byField = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      if (!FIELD_NAME.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'field names are written Type.field, e.g. Mutation.createBooking' });
    }
  });
const tierShape = Object.fromEntries(TIERS.map((t) => [t, limitOrOff.optional()])) as Record<Tier, z.ZodOptional<typeof limitOrOff>>;
const fieldEntry = z.strictObject({ default: limitOrOff.optional(), ...tierShape });
const fileSchema = z.strictObject({
  /** Overrides of the SDL `@rateLimit` defaults, per field and tier. */
  fields: byField(fieldEntry).optional(),
  /** Per-client request budgets at the gateway, per tier. */
  budgets: z.strictObject(Object.fromEntries(TIERS.map((t) => [t, budgetOrOff.optional()])) as Record<Tier, z.ZodOptional<typeof budgetOrOff>>).optional(),
  login: limit.optional(),
  loginPerIp: limit.optional(),
  webhookPerIp: limit.optional(),
  /** Per-API-key overrides, by key ID. */
  apiKeys: z
    .record(
      z.string().min(1),
      z.strictObject({
        tier: z.enum(TIERS, { message: `must be one of ${TIERS.join(', ')}` }).optional(),
        budget: budgetOrOff.optional(),
        fields: byField(limitOrOff).optional(),
      }),
    )
    .optional(),
});

/** `fields["Mutation.createBooking"].partner.window` — keys with dots are bracketed so the path is unambiguous. */
function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(s)) ? `${i ? '.' : ''}${String(s)}` : `["${String(s)}"]`))
    .join('') || '(root)';
}

/** Validates already-parsed file content; throws RateLimitConfigError naming every bad entry. */
export function rateLimitSettingsFrom(content: unknown, source: string): RateLimitSettings {
  const result = fileSchema.safeParse(content ?? {});
  if (!result.success) {
    throw new RateLimitConfigError(source, result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
  }
  const file = result.data;
  return {
    source,
    fields: new Map(Object.entries(file.fields ?? {}) as Array<[string, FieldOverrides]>),
    budgets: { ...DEFAULT_BUDGETS, ...stripUndefined(file.budgets ?? {}) },
    login: file.login ?? DEFAULT_LOGIN_LIMIT,
    loginPerIp: file.loginPerIp ?? DEFAULT_LOGIN_PER_IP_LIMIT,
    webhookPerIp: file.webhookPerIp ?? DEFAULT_WEBHOOK_PER_IP_LIMIT,
    apiKeys: new Map(
      Object.entries(file.apiKeys ?? {}).map(([id, k]) => [
        id,
        { ...(k.tier ? { tier: k.tier } : {}), ...(k.budget ? { budget: k.budget } : {}), fields: new Map(Object.entries(k.fields ?? {})) },
      ]),
    ),
  };
}

/** Reads and validates the limits file (YAML, or JSON, which YAML also reads). */
export function loadRateLimitSettings(file: string): RateLimitSettings {
  const source = path.relative(process.cwd(), path.resolve(file)) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RateLimitConfigError(source, [`cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check RATE_LIMITS_FILE`]);
  }
  let content: unknown;
  try {
    content = parseYaml(text);
  } catch (error) {
    throw new RateLimitConfigError(source, [`not valid YAML / JSON: ${(error as Error).message.split('\n')[0]}`]);
  }
  return rateLimitSettingsFrom(content, source);
}

/** Settings with nothing from a file: SDL defaults, built-in budgets and login limit. */
export const builtInRateLimitSettings = (): RateLimitSettings => rateLimitSettingsFrom({}, 'built-in defaults');

// ───────────── lookups (hot path: Map reads only) ─────────────

export function tierOf(settings: RateLimitSettings, principal: Principal): Tier {
  return (principal.kind === 'apiKey' && settings.apiKeys.get(principal.id)?.tier) || defaultTierOf(principal);
}

/** The limit of `field` for this caller: API key entry, then the field's tier entry, its `default`, then the SDL. */
export function fieldLimitFor(settings: RateLimitSettings, field: string, principal: Principal, tier: Tier, sdl: Limit): LimitOverride {
  if (principal.kind === 'apiKey') {
    const own = settings.apiKeys.get(principal.id)?.fields.get(field);
    if (own) return own;
  }
  const entry = settings.fields.get(field);
  return entry?.[tier] ?? entry?.default ?? sdl;
}

export function budgetFor(settings: RateLimitSettings, principal: Principal, tier: Tier): BudgetOverride {
  return (principal.kind === 'apiKey' && settings.apiKeys.get(principal.id)?.budget) || settings.budgets[tier];
}

export const describeLimit = (l: LimitOverride) => (l === 'off' ? 'off' : `${l.max}/${formatWindow(l.windowSeconds)}`);

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
