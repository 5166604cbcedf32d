/**
 * SUBGRAPH_ALLOW_DIRECT=true (local debugging only): a request WITHOUT a token is served as an anonymous
 * caller — public data only — while a bad token is still refused. A hotel subgraph is started in-process
 * with its real start() against the test database, on a free port.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RunningService } from '../../lib/src/subgraph.js';
import { loadHotelConfig, start } from '../../subgraphs/hotel/src/server.js';
import { craftToken, post, principals, room, tokenFor } from './support.js';

let hotel: RunningService;
beforeAll(async () => {
  const env = { DATABASE_URL: process.env.INNKEEP_DATABASE_URL, HOTEL_PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test', SUBGRAPH_ALLOW_DIRECT: 'true', DB_POOL_SIZE: '2' };
  hotel = await start(loadHotelConfig(env));
});
afterAll(async () => {
  await hotel?.stop();
});

describe('a subgraph started with SUBGRAPH_ALLOW_DIRECT=true', () => {
  it('serves public data to a token-less request, as an anonymous caller', async () => {
    const answer = await post(hotel.url, { query: '{ hotels { slug } }' });
    expect(answer.status).toBe(200);
    expect(answer.body.data.hotels.length).toBeGreaterThan(0);
  });

  it('still applies the rules: staff data is UNAUTHENTICATED for that anonymous caller', async () => {
    const answer = await post(hotel.url, { query: `{ room(id: "${room('grand-harbor', '101')}") { status } }` });
    expect(answer.body.errors.map((e: any) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('still refuses a bad token (only the absence of one is tolerated)', async () => {
    const forged = await craftToken({ audience: 'hotel', principal: principals.admin, secret: 'y'.repeat(48) });
    const answer = await post(hotel.url, { query: '{ hotels { slug } }' }, { authorization: `Bearer ${forged}` });
    expect(answer.status).toBe(401);
  });

  it('honours a valid token as usual', async () => {
    const answer = await post(hotel.url, { query: `{ room(id: "${room('grand-harbor', '101')}") { status } }` }, { authorization: `Bearer ${await tokenFor(principals.frontDeskGH, 'hotel')}` });
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.room.status).toEqual(expect.any(String));
  });
});
