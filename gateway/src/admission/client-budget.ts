import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RateLimitedError } from '../../../lib/src/errors.js';
import { actorOf, ANONYMOUS } from '../../../lib/src/identity.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { budgetFor, tierOf, type Budget, type RateLimitSettings } from '../../../lib/src/rate-limit/settings.js';
import type { Count, CounterStore } from '../../../lib/src/rate-limit/store.js';
import { callerKey } from '../../../lib/src/rate-limit/tiers.js';
import { sendRateLimited, setRateLimitHeaders, type RateLimitState } from './rate-limit-response.js';

export interface ClientBudgetOptions {
  counters: CounterStore;
  /** The limits in force (re-read on SIGHUP). */
  settings(): RateLimitSettings;
  metrics: Metrics;
}

type WindowName = 'minute' | 'hour' | 'day';
interface WindowState extends RateLimitState {
  window: WindowName;
  refused: boolean;
}

/**
 * The per-client request budget (GUIDE §1 step 3), after authentication: per user ID, API key ID, or
 * client IP when anonymous; by tier (lib/src/rate-limit/tiers.ts) or per API key (the limits file).
 * Every request counts once in each window — minute, hour, day — in Redis (atomic across gateway
 * replicas). When the minute is spent, the burst pool (`burst` requests per `burstWindow`) is drawn on
 * before refusing. Every response it lets through carries X-RateLimit-*; a refusal is HTTP 429 with
 * Retry-After and a RATE_LIMITED error. Refused requests count too: hammering does not earn a reset.
 */
export function clientBudget(options: ClientBudgetOptions): RequestHandler {
  const refusals = options.metrics.counter('innkeep_client_budget_refusals_total', 'Requests refused by the per-client budget at the gateway', ['tier', 'window']);
  return async (req: Request, res: Response, next: NextFunction) => {
    const principal = req.principal ?? ANONYMOUS;
    const settings = options.settings();
    const tier = tierOf(settings, principal);
    const budget = budgetFor(settings, principal, tier);
    if (budget === 'off') return next();
    let windows: WindowState[];
    try {
      windows = await spend(options.counters, budget, callerKey(principal, req.ip));
    } catch (error) {
      // Redis and the in-memory fallback both failed (should not happen): serve rather than refuse.
      req.log.error({ err: error }, 'client budget could not be counted; request allowed');
      return next();
    }
    const refused = windows.filter((w) => w.refused);
    // Refused: the window that frees up last decides when to come back. Allowed: the one closest to refusing.
    const binding = refused.length
      ? refused.reduce((a, b) => (b.resetSeconds > a.resetSeconds ? b : a))
      : windows.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetSeconds > a.resetSeconds) ? b : a));
    setRateLimitHeaders(res, binding);
    if (!refused.length) return next();

    const retryAfter = Math.max(1, Math.ceil(binding.resetSeconds));
    refusals.inc({ tier, window: binding.window });
    req.log.info({ tier, window: binding.window, caller: actorOf(principal), limit: binding.limit, retryAfter }, 'client budget refused');
    sendRateLimited(
      req,
      res,
      new RateLimitedError(`Request budget exceeded: at most ${binding.limit} requests per ${binding.window} for this client. Retry in ${retryAfter} s.`, retryAfter, {
        window: binding.window,
        limit: binding.limit,
      }),
    );
  };
}

async function spend(counters: CounterStore, budget: Budget, key: string): Promise<WindowState[]> {
  const minute = counters.counter('budget:minute', budget.perMinute, 60);
  const hour = budget.perHour ? counters.counter('budget:hour', budget.perHour, 3600) : undefined;
  const day = budget.perDay ? counters.counter('budget:day', budget.perDay, 86_400) : undefined;
  const burst = budget.burst > 0 ? counters.counter('budget:burst', budget.burst, budget.burstWindowSeconds) : undefined;
  // One round trip's worth: the three windows counted and the burst pool read, concurrently.
  const [m, h, d, burstBefore] = await Promise.all([minute.hit(key), hour?.hit(key), day?.hit(key), burst?.peek(key)]);
  let minuteAllowed = m.allowed;
  let burstLeft = burst ? burst.limit - (burstBefore?.consumed ?? 0) : 0;
  let burstResetMs = burstBefore?.msBeforeReset ?? 0;
  if (!m.allowed && burst) {
    const b = await burst.hit(key);
    minuteAllowed = b.allowed;
    burstLeft = b.remaining;
    burstResetMs = b.msBeforeReset;
  }
  const windows: WindowState[] = [
    {
      window: 'minute',
      limit: budget.perMinute + budget.burst,
      remaining: m.remaining + Math.max(0, burstLeft),
      // Spent minute and spent burst: whichever frees up first lets the client back in.
      resetSeconds: (minuteAllowed || !burst ? m.msBeforeReset : Math.min(m.msBeforeReset, burstResetMs)) / 1000,
      refused: !minuteAllowed,
    },
  ];
  const add = (window: WindowName, count: Count | undefined) => {
    if (count) windows.push({ window, limit: count.limit, remaining: count.remaining, resetSeconds: count.msBeforeReset / 1000, refused: !count.allowed });
  };
  add('hour', h);
  add('day', d);
  return windows;
}
