import { isIntrospectionType, isObjectType, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { middleware, type IMiddlewareGenerator, type IMiddlewareTypeMap } from 'graphql-middleware';
import { allow, deny, rule, shield, type IRules } from 'graphql-shield';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError, ErrorCode, NotFoundError } from './errors.js';
import { isPlatformAdmin, type Principal, type Role } from './identity.js';

/**
 * Authorization building blocks shared by every subgraph's `src/permissions.ts` (GUIDE §3, §6).
 *
 * Two layers, one vocabulary:
 *  - **capability** — could this principal ever do X (role, API-key scope, service scope)? A "no" does not
 *    depend on the object asked for, so it may be a loud error: UNAUTHENTICATED for anonymous callers,
 *    FORBIDDEN for everyone else.
 *  - **tenancy / ownership** — may it do X to *this* object? A "no" must look exactly like "no such
 *    object" (null, an empty list, or NOT_FOUND), so a caller never learns that another tenant's object
 *    exists.
 * Rule trees go through `definePermissions`, which denies by default, gives shield coded errors and refuses
 * to start when an object type or field has no explicit rule.
 */

declare module 'express-serve-static-core' {
  interface Request {
    /** Who is calling, from the verified internal token (lib/src/subgraph.ts). */
    principal: Principal;
  }
}

/** What the rules read from the request context. */
export interface AuthzContext {
  principal: Principal;
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** The error a refused capability answers with: who you are decides the code, never the object. */
export function deniedError(principal: Principal, what?: string): AppError {
  if (principal.kind === 'anonymous') return new UnauthenticatedError(what ? `Authentication required for ${what}` : undefined);
  return new ForbiddenError(what ? `Not allowed to access ${what}` : undefined);
}

/**
 * The rule that refused, kept on the error object for the audit trail (lib/src/request-audit.ts) — a
 * symbol, so it never reaches the client (formatError sends `extensions` only).
 */
const DENIED_BY = Symbol('deniedBy');
type Tagged = Error & { [DENIED_BY]?: string };
const tagDenial = <E extends Error>(error: E, rule: string): E => {
  (error as Tagged)[DENIED_BY] ??= rule;
  return error;
};
/** The name of the rule that answered with this error; undefined for errors no rule produced. */
export const deniedBy = (error: unknown): string | undefined => (error instanceof Error ? (error as Tagged)[DENIED_BY] : undefined);

/** What a tenancy refusal answers with: the same error as for an object that does not exist. */
export const notFound = (resource: string, id: unknown) => new NotFoundError(resource, typeof id === 'string' ? id : String(id ?? ''));

// ─── grants ────────────────────────────────────────────────────────────────────────────────────────

/**
 * Who holds one permission. PLATFORM_ADMIN always does, for every hotel. Users hold it through one of
 * `roles`, API keys through one of `scopes` — both only for the hotels in their token (`hotelIds`).
 * Service principals (peer subgraphs) hold it through one of `services.scopes`: for the hotels in their
 * token, or for every hotel when `services.anyHotel` (e.g. booking reading room facts for availability).
 */
export interface Grant {
  roles?: readonly Role[];
  scopes?: readonly string[];
  services?: { scopes: readonly string[]; anyHotel?: boolean };
}

/** The hotels a principal holds a grant for: `'all'` or a list (possibly empty). */
export type HotelReach = 'all' | readonly string[];

const some = <T>(held: readonly T[], wanted: readonly T[] | undefined) => !!wanted && held.some((h) => wanted.includes(h));

function holds(p: Principal, grant: Grant): boolean {
  switch (p.kind) {
    case 'user':
      return some(p.roles, grant.roles);
    case 'apiKey':
      return some(p.scopes, grant.scopes);
    case 'service':
      return some(p.scopes, grant.services?.scopes);
    default:
      return false;
  }
}

/** Capability: could the principal hold this grant for some hotel (object not considered)? */
export function hasCapability(p: Principal, grant: Grant): boolean {
  return isPlatformAdmin(p) || holds(p, grant);
}

export function hotelsGranted(p: Principal, grant: Grant): HotelReach {
  if (isPlatformAdmin(p)) return 'all';
  if (!holds(p, grant)) return [];
  if (p.kind === 'service' && grant.services?.anyHotel) return 'all';
  return p.hotelIds;
}

/** Tenancy: does the principal hold this grant for this hotel? (null/unknown hotel: admin only.) */
export function isGranted(p: Principal, grant: Grant, hotelId: string | null | undefined): boolean {
  const reach = hotelsGranted(p, grant);
  return reach === 'all' || (!!hotelId && reach.includes(hotelId));
}

export const STAFF: readonly Role[] = ['FRONT_DESK', 'HOTEL_MANAGER'];

export const isGuestUser = (p: Principal) => p.kind === 'user' && p.roles.includes('GUEST') && !!p.email;

/** GUEST ownership: the booking's guest email is the principal's login email (case-insensitive). */
export function isOwnEmail(p: Principal, email: string | null | undefined): boolean {
  return isGuestUser(p) && !!email && email.trim().toLowerCase() === p.email!.trim().toLowerCase();
}

/** The identity a subgraph uses for its own peer calls: only the scopes the call needs. */
export function servicePrincipal(service: string, scopes: string[], hotelIds: string[] = []): Principal {
  return { kind: 'service', id: service, roles: [], hotelIds, scopes };
}

// ─── rules ─────────────────────────────────────────────────────────────────────────────────────────

export type Decision = boolean | Error;
type Decide<C> = (parent: any, args: any, ctx: C, info: GraphQLResolveInfo) => Decision | Promise<Decision>;
/**
 * - `contextual`: the answer depends on the principal only (cached once per request);
 * - a function: the cache key of what else it depends on (parent ID, argument) — cheaper than shield's
 *   `strict`, which hashes whole parents and arguments;
 * - `no_cache`: mutations (cheap, and evaluated once anyway).
 */
export type RuleCache<C> = 'contextual' | 'no_cache' | ((parent: any, args: any, ctx: C, info: GraphQLResolveInfo) => string);

/**
 * A shield rule. `false` becomes the coded denial (`deniedError`), an `Error` is answered as is. Errors the
 * decision throws (e.g. the database is down while loading the object) are answered as that error instead
 * of shield's silent `false`, so an outage never masquerades as FORBIDDEN.
 */
export function authRule<C extends AuthzContext>(name: string, cache: RuleCache<C>, decide: Decide<C>) {
  return rule(name, { cache })(async (parent, args, ctx: C, info) => {
    try {
      const decision = await decide(parent, args, ctx, info);
      return decision instanceof Error ? tagDenial(decision, name) : decision;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });
}

/** Capability rule (answer depends on the principal only). */
export const capability = <C extends AuthzContext>(name: string, grant: Grant, alsoWhen?: (p: Principal) => boolean) =>
  authRule<C>(name, 'contextual', (_parent, _args, ctx) => hasCapability(ctx.principal, grant) || (alsoWhen?.(ctx.principal) ?? false));

export const isAdmin = authRule<AuthzContext>('isPlatformAdmin', 'contextual', (_p, _a, ctx) => isPlatformAdmin(ctx.principal));

/** Re-exported so permission files import every rule piece from one place. */
export { allow, deny };
export { chain } from 'graphql-shield';

type RuleTree = Record<string, unknown>;

export interface PermissionsOptions {
  /** Subgraph name, for start-up messages. */
  service: string;
}

/**
 * The subgraph's rule tree as a graphql-middleware generator, applied ONCE to the schema at start-up
 * (lib/src/subgraph.ts). Deny by default; coded errors; external (resolver) errors pass through.
 *
 * Start-up refuses a schema with an object type or field the tree does not name (a type rule, a field
 * rule, or a `'*'` default): with `_entities` allowed, a forgotten entity field would otherwise be
 * silently open or silently closed. Fields whose rule is `allow` are left unwrapped (no async hop).
 */
export function definePermissions(tree: RuleTree, options: PermissionsOptions): IMiddlewareGenerator<any, any, any> {
  const guarded = shield(tree as IRules, {
    fallbackRule: deny,
    allowExternalErrors: true,
    debug: false,
    fallbackError: (_error, _parent, _args, ctx, info) =>
      tagDenial(deniedError((ctx as unknown as AuthzContext).principal, `${info.parentType.name}.${info.fieldName}`), ruleNameOf(tree, info.parentType.name, info.fieldName)),
  });
  return middleware((schema: GraphQLSchema) => {
    const open = coverage(schema, tree, options.service);
    const generated = guarded.generate(schema) as IMiddlewareTypeMap;
    const wrapped: IMiddlewareTypeMap = {};
    for (const [typeName, fields] of Object.entries(generated)) {
      const kept = Object.fromEntries(Object.entries(fields as Record<string, unknown>).filter(([field]) => !open.has(`${typeName}.${field}`)));
      if (Object.keys(kept).length) wrapped[typeName] = kept as IMiddlewareTypeMap[string];
    }
    return wrapped;
  });
}

/** Checks every object field has an explicit rule; returns the fields whose rule is `allow`. */
function coverage(schema: GraphQLSchema, tree: RuleTree, service: string): Set<string> {
  const missing: string[] = [];
  const open = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isIntrospectionType(type)) continue;
    for (const field of Object.keys(type.getFields())) {
      const fieldRule = fieldRuleOf(tree, type.name, field);
      if (fieldRule === undefined) missing.push(`${type.name}.${field}`);
      else if (fieldRule === allow) open.add(`${type.name}.${field}`);
    }
  }
  if (missing.length) {
    throw new Error(`${service} permissions: no rule for ${missing.join(', ')}. Every object type and field needs an explicit rule (use deny to close one).`);
  }
  return open;
}

/** A field's rule in the tree: its own, the type's `'*'`, or the type's rule; undefined when none. */
function fieldRuleOf(tree: RuleTree, typeName: string, fieldName: string): unknown {
  const entry = tree[typeName];
  return entry && typeof entry === 'object' && !isShieldRule(entry) ? ((entry as RuleTree)[fieldName] ?? (entry as RuleTree)['*']) : entry;
}

/** The rule tree's entry for a field, named for the audit trail: `chain(a, b)` → `a+b`, `deny` → `deny`. */
function ruleNameOf(tree: RuleTree, typeName: string, fieldName: string): string {
  const fieldRule = fieldRuleOf(tree, typeName, fieldName);
  const nameOf = (r: unknown): string => {
    const { name, rules } = (r ?? {}) as { name?: unknown; rules?: unknown[] };
    if (Array.isArray(rules) && rules.length) return rules.map(nameOf).join('+'); // chain / and / or (`deny` has none)
    return typeof name === 'string' && name ? name : 'deny';
  };
  return fieldRule === undefined ? 'default-deny' : nameOf(fieldRule);
}

const isShieldRule = (x: unknown) => typeof (x as { resolve?: unknown }).resolve === 'function';

// ─── HTTP (non-GraphQL routes) ─────────────────────────────────────────────────────────────────────

/** A GraphQL-shaped error body for refusals outside Apollo (GUIDE §3 error shape). */
export function sendHttpError(req: Request, res: Response, status: number, code: ErrorCode, message: string, service: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({
    errors: [{ message, extensions: { code, ...extra, correlationId: req.correlationId, timestamp: new Date().toISOString(), service } }],
  });
}

/** Guards an internal route: only service principals carrying `scope` (after the internal token check). */
export function requireServiceScope(scope: string, service: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const p = req.principal;
    if (p?.kind === 'service' && p.scopes.includes(scope)) return next();
    sendHttpError(req, res, 403, ErrorCode.FORBIDDEN, `Only services with scope ${scope} may call this route`, service);
  };
}
