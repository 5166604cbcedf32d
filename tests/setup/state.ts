import path from 'node:path';
import type { Stack } from '../../scripts/lib/stack.js';

/**
 * Test ports: away from `npm start`'s 4000–4010, so both can run on one machine. INNKEEP_TEST_PORT_BASE
 * moves a whole run (its stack, extra gateways, database name, log folder), so two runs can share a machine.
 */
export const TEST_PORT_BASE = Number(process.env.INNKEEP_TEST_PORT_BASE ?? 14000);
const base = TEST_PORT_BASE;
export const TEST_PORTS = { gateway: base, hotel: base + 1, booking: base + 2, pms: base + 3, audit: base + 4, vendor: base + 10 };
/**
 * Free ports for processes a test starts itself: base + 50 … base + 99 (offset 0–49). Test files run in
 * parallel, so each offset belongs to ONE file — a shared offset lets one file's process answer another
 * file's readiness probe. Taken: 0 federation · 1 batching · 2–5 audit-outbox · 6 audit-actions · 7–8 readiness · 9 alerts ·
 * 10–11 subgraph-outage · 12–16 pms-connectors · 17–18 hotel-cache · 19, 49 webhook-booking-outage ·
 * 20–22 vendor-outage · 23–29 subgraph subscriptions · 30–31 redis-outage · 32–39 subscriptions (gateway) ·
 * 40–43 rate-limits · 44, 46–48 tracing · 45 bulkhead-burst. All 50 are taken: a new file needs a wider range.
 * tests/chaos/support.ts refuses to start a process on a port already taken.
 */
export const extraPort = (offset: number) => base + 50 + offset;
export const TEST_DATABASE = base === 14000 ? 'innkeep_test' : `innkeep_test_${base}`;
export const TEST_LOG_DIR = path.resolve(base === 14000 ? '.data/test-logs' : `.data/test-logs-${base}`);

interface TestState {
  stack?: Stack;
  embeddedPostgres?: { stop(): Promise<void> };
}

/** Global setup and teardown run in the same process: the handles travel through globalThis. */
const holder = globalThis as { __innkeepTestState?: TestState };
export function setTestState(state: Partial<TestState>): void {
  holder.__innkeepTestState = { ...holder.__innkeepTestState, ...state };
}
export function testState(): TestState {
  return holder.__innkeepTestState ?? {};
}
