/**
 * The live operations dashboard, in a real browser (Debian's Chromium driven by playwright-core) against
 * the real gateway and subgraphs started by the global setup: staff log in, pick their hotel, see the
 * snapshot, and see bookings and housekeeping changes made elsewhere within a second.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO_PASSWORD, gatewayUrl, gql, ids, type DemoUser } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
/** The promise to staff: a change shows on every open dashboard within a second. */
const LIVE_WITHIN_MS = 1000;
const STAFF: DemoUser = 'frontdesk@grand-harbor.test';
const GRAND_HARBOR = 'Grand Harbor Hotel';
/** Its own room: tests/e2e/subscriptions.test.ts toggles the hotel's first room. */
const STATUS_ROOM = '303';

let browser: Browser;
let context: BrowserContext;
const problems: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No browser at ${CHROMIUM}: the dashboard tests need Debian's Chromium. Install it with\n` +
      '  apt-get install -y --no-install-recommends chromium\n(.ci/run does this before the tests).');
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps dialling Google's hosts, which this network refuses.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
});

const dashboardUrl = () => new URL('/dashboard/', gatewayUrl()).toString();

/** A page that records CSP violations, script errors and failed requests: none is acceptable. */
async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  await page.goto(dashboardUrl());
  return page;
}

async function logIn(page: Page, user: DemoUser, password = DEMO_PASSWORD): Promise<void> {
  await page.locator('#email').fill(user);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Polls the page until `read` returns `expected` (a locator's text, an attribute…); fails after `timeoutMs`. */
async function eventuallyEquals(read: () => Promise<string | null>, expected: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await read();
    if (last === expected) return;
    if (Date.now() > deadline) throw new Error(`expected ${JSON.stringify(expected)} within ${timeoutMs} ms, the page shows ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The tile's computed background colour (the page is the only place that knows it). */
const backgroundOf = (locator: Locator) =>
  locator.evaluate((element) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(element).backgroundColor);

const percent = (occupied: number, rooms: number) => `${Math.round((occupied / rooms) * 100)}%`;

interface HotelFacts {
  rooms: Array<{ id: string; number: string; status: string }>;
  days: Array<{ date: string; occupiedRooms: number; arrivals: number; departures: number }>;
}
async function hotelFacts(): Promise<HotelFacts> {
  const { data, errors } = await gql<any>(
    `query($h: ID!) { hotel(id: $h) { rooms { id number status } } occupancy(hotelId: $h) { days { date occupiedRooms arrivals departures } } }`,
    { h: ids.grandHarbor },
    { as: STAFF },
  );
  expect(errors).toEqual([]);
  return { rooms: data.hotel.rooms, days: data.occupancy.days };
}

describe('the live operations dashboard', () => {
  it('is served by the gateway with its own CSP, and shows the demo logins in development', async () => {
    const response = await fetch(dashboardUrl());
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`ws://${new URL(gatewayUrl()).host}`);
    expect(csp).not.toContain('unsafe-inline');

    const page = await openPage();
    await page.locator('#demo-hint').waitFor();
    expect(await page.locator('#demo-hint').textContent()).toContain('innkeep-demo');
    await page.close();
  });

  it('refuses a wrong password with a readable message and stays on the login form', async () => {
    const page = await openPage();
    await logIn(page, STAFF, 'not-the-password');
    await page.locator('#login-problem:not([hidden])').waitFor();
    expect(await page.locator('#login-problem').textContent()).toMatch(/\S/);
    expect(await page.locator('#hotel-picker').count()).toBe(0);
    await page.close();
  });

  it('front desk logs in, picks their hotel and sees occupancy, arrivals, departures and every room; then live bookings and room changes appear within a second', async () => {
    const page = await openPage();
    await logIn(page, STAFF);
    await page.locator('#hotel-picker').waitFor();
    await page.locator('#hotel-picker').selectOption({ label: GRAND_HARBOR });
    await eventuallyEquals(() => page.locator('#hotel-name').textContent(), GRAND_HARBOR, 10_000);

    // The snapshot: what the API says, drawn.
    const facts = await hotelFacts();
    const today = facts.days[0]!;
    await eventuallyEquals(() => page.locator('#room-board .room').count().then(String), String(facts.rooms.length), 10_000);
    await eventuallyEquals(() => page.locator('#occupancy-today').textContent(), percent(today.occupiedRooms, facts.rooms.length), 5000);
    expect(await page.locator('#arrivals-today').textContent()).toBe(String(today.arrivals));
    expect(await page.locator('#departures-today').textContent()).toBe(String(today.departures));
    expect(await page.locator('#occupancy-chart li').count()).toBe(15);
    expect(await page.locator('#occupancy-chart li').first().getAttribute('data-date')).toBe(today.date);
    const room = facts.rooms.find((r) => r.number === STATUS_ROOM)!;
    expect(await page.locator(`#room-board [data-room="${STATUS_ROOM}"]`).getAttribute('data-status')).toBe(room.status);
    const colourBefore = await backgroundOf(page.locator(`#room-board [data-room="${STATUS_ROOM}"]`));

    // Live: the page says so once the gateway's graphql-ws socket is up.
    await eventuallyEquals(() => page.locator('#connection').getAttribute('data-state'), 'live', 15_000);
    expect(await page.locator('#connection').textContent()).toBe('Live');

    // A booking for tonight, made by someone else through the API.
    const tomorrow = facts.days[1]!.date;
    const free = await gql<any>(`query($h: ID!, $in: Date!, $out: Date!) { availableRooms(hotelId: $h, checkIn: $in, checkOut: $out) { id number } }`,
      { h: ids.grandHarbor, in: today.date, out: tomorrow }, { as: STAFF });
    expect(free.errors).toEqual([]);
    const bookable = (free.data.availableRooms as Array<{ id: string; number: string }>).filter((r) => r.number !== STATUS_ROOM && r.number !== '101'); // 101: bookings.test.ts asserts nothing is written for it
    expect(bookable.length).toBeGreaterThan(0);
    const created = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id reference } }`, {
      input: { hotelId: ids.grandHarbor, roomId: bookable[0]!.id, checkIn: today.date, checkOut: tomorrow, guest: { name: 'Dana Dashboard', email: 'dana.dashboard@example.test' } },
    }, { as: STAFF });
    expect(created.errors).toEqual([]);
    const { id: bookingId, reference } = created.data.createBooking as { id: string; reference: string };
    try {
      const entry = page.locator(`#feed li[data-reference="${reference}"]`);
      await entry.first().waitFor({ timeout: LIVE_WITHIN_MS });
      expect(await entry.first().textContent()).toContain('Dana Dashboard');
      const after = (await hotelFacts()).days[0]!;
      expect(after.occupiedRooms).toBeGreaterThan(today.occupiedRooms);
      await eventuallyEquals(() => page.locator('#occupancy-today').textContent(), percent(after.occupiedRooms, facts.rooms.length), LIVE_WITHIN_MS);
      await eventuallyEquals(() => page.locator('#arrivals-today').textContent(), String(after.arrivals), LIVE_WITHIN_MS);
      await page.locator(`#arrivals-list li[data-reference="${reference}"]`).waitFor({ timeout: LIVE_WITHIN_MS });

      // Housekeeping changes a room elsewhere: the tile changes colour and words.
      const next = room.status === 'OUT_OF_ORDER' ? 'CLEAN' : 'OUT_OF_ORDER';
      const set = await gql<any>(`mutation($id: ID!, $s: RoomStatus!) { setRoomStatus(roomId: $id, status: $s) { status } }`, { id: room.id, s: next }, { as: STAFF });
      expect(set.errors).toEqual([]);
      const tile = page.locator(`#room-board [data-room="${STATUS_ROOM}"]`);
      await eventuallyEquals(() => tile.getAttribute('data-status'), next, LIVE_WITHIN_MS);
      expect(await tile.textContent()).toContain(next === 'CLEAN' ? 'Clean' : 'Out of order');
      expect(await backgroundOf(tile)).not.toBe(colourBefore);

      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/dashboard.png', fullPage: true });
      await gql(`mutation($id: ID!, $s: RoomStatus!) { setRoomStatus(roomId: $id, status: $s) { status } }`, { id: room.id, s: room.status }, { as: STAFF });
    } finally {
      // Leave tonight as it was for the other test files.
      await gql(`mutation($id: ID!) { cancelBooking(id: $id, reason: "dashboard test") { status } }`, { id: bookingId }, { as: STAFF });
    }
    await page.locator(`#feed li[data-reference="${reference}"][data-type="CANCELLED"]`).waitFor({ timeout: LIVE_WITHIN_MS });
    expect(await page.locator(`#arrivals-list li[data-reference="${reference}"]`).count()).toBe(0);

    // Log out: back to the login form, the socket closed.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#email').waitFor();
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('offline');
    await page.close();
  });

  it('loaded its page without a CSP violation, script error or failed request', () => {
    expect(problems.filter((p) => !/401|Unauthorized/.test(p))).toEqual([]);
  });
});
