import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEMO_PASSWORD, env, eventually, gatewayUrl, gql, ids, inDays, tokenFor } from '../e2e/support.js';

/**
 * The logs of every service (debug level in tests) never contain a password, a token, an API key, or a
 * guest's email or phone — whatever the request did. This test runs the flows that handle them, then
 * reads every log line of the run so far.
 */
describe('log hygiene', () => {
  it('no password, token, API key, guest email or phone reaches any log', async () => {
    const secrets: string[] = [DEMO_PASSWORD];
    const post = (p: string, body: object, headers: Record<string, string> = {}) =>
      fetch(new URL(p, gatewayUrl()), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

    // Login (good and bad), refresh, logout.
    const login = (await (await post('/auth/login', { email: 'manager@grand-harbor.test', password: DEMO_PASSWORD })).json()) as { accessToken: string; refreshToken: string };
    secrets.push(login.accessToken, login.refreshToken);
    await post('/auth/login', { email: 'manager@grand-harbor.test', password: 'wrong-password-for-the-log-test' });
    secrets.push('wrong-password-for-the-log-test');
    const refreshed = (await (await post('/auth/refresh', { refreshToken: login.refreshToken })).json()) as { accessToken: string; refreshToken: string };
    secrets.push(refreshed.accessToken, refreshed.refreshToken);
    await post('/auth/logout', { refreshToken: refreshed.refreshToken }, { authorization: `Bearer ${refreshed.accessToken}` });

    // An API key: created, used, used wrongly.
    const created = await gql<any>(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, {
      input: { name: 'log hygiene', scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] },
    }, { as: 'admin@innkeep.test' });
    const apiKey = created.data.createApiKey.secret as string;
    secrets.push(apiKey);
    await gql(`{ hotel(slug: "grand-harbor") { bookings(first: 1) { totalCount } } }`, {}, { as: null, headers: { 'x-api-key': apiKey } });
    await gql(`{ hotels { slug } }`, {}, { as: null, headers: { 'x-api-key': `${apiKey}x` } });

    // Guest PII in a booking (valid and invalid), and staff reading it.
    const email = `pii-${Date.now()}@example.test`;
    const phone = '+351 912 345 678';
    secrets.push(email, phone);
    const booking = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id guest { email phone } } }`, {
      input: { hotelId: ids.grandHarbor, roomId: ids.room('grand-harbor', '204'), checkIn: inDays(700), checkOut: inDays(701), guest: { name: 'Pat Private', email, phone } },
    }, { as: 'admin@innkeep.test' });
    expect(booking.errors).toEqual([]);
    await gql(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
      input: { hotelId: ids.grandHarbor, roomId: ids.room('grand-harbor', '204'), checkIn: inDays(700), checkOut: inDays(701), guest: { name: 'Pat Private', email, phone } },
    }, { as: 'admin@innkeep.test' }); // CONFLICT, with the PII in the variables
    await gql(`query($id: ID!) { booking(id: $id) { guest { email phone } } }`, { id: booking.data.createBooking.id }, { as: 'frontdesk@grand-harbor.test' });
    secrets.push(await tokenFor('admin@innkeep.test'), await tokenFor('frontdesk@grand-harbor.test'));

    const dir = env('INNKEEP_LOG_DIR');
    // Give the services a moment to flush their last lines.
    const logs = await eventually(async () => {
      const text = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
      return text.includes('log hygiene') || text.length > 0 ? text : null;
    });
    for (const secret of secrets) expect(logs.includes(secret)).toBe(false);
    // No bearer token of any kind (user or internal) and no full API key, whatever its value.
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(logs).not.toMatch(/ik_[a-z0-9]{8}_[A-Za-z0-9_-]{20,}/);
    // Seeded guests' contact details never appear either.
    for (const seeded of ['ana.sousa@example.test', '+351 910 000 002', 'guest@innkeep.test']) expect(logs.includes(seeded)).toBe(false);
  });
});
