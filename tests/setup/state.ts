import path from 'node:path';
import type { Stack } from '../../scripts/lib/stack.js';

/** Test ports: away from `npm start`'s 4000–4010, so both can run on one machine. */
export const TEST_PORTS = { gateway: 14000, hotel: 14001, booking: 14002, pms: 14003, audit: 14004, vendor: 14010 };
export const TEST_LOG_DIR = path.resolve('.data/test-logs');

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
