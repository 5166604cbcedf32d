/**
 * The gateway's per-subscriber queue and sharing key (gateway/src/subscriptions): bounded, returns at once,
 * and two principals share only when every rule would answer them alike.
 */
import { describe, expect, it } from '@jest/globals';
import { authorizationScope } from '../../gateway/src/subscriptions/hub.js';
import { EventQueue } from '../../gateway/src/subscriptions/queue.js';
import type { Principal } from '../../lib/src/identity.js';

describe('EventQueue', () => {
  it('hands items in order, refuses beyond its capacity, and ends after what is queued', async () => {
    let released = 0;
    const queue = new EventQueue<number>({ capacity: 2, onReturn: () => released++ });
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(true);
    expect(queue.push(3)).toBe(false); // full: the caller cuts the slow reader off
    expect(await queue.next()).toEqual({ value: 1, done: false });
    queue.end();
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(released).toBe(0);
  });

  it('return() resolves a pending next() at once and releases the source exactly once', async () => {
    let released = 0;
    const queue = new EventQueue<number>({ capacity: 5, onReturn: () => released++ });
    const pending = queue.next();
    await queue.return();
    await queue.return();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(released).toBe(1);
    expect(queue.push(1)).toBe(false);
  });

  it('reports its end once, whether the reader left or the source ended', async () => {
    let ends = 0;
    const left = new EventQueue<number>({ capacity: 1, onReturn: () => undefined, onEnd: () => ends++ });
    await left.return();
    left.end();
    expect(ends).toBe(1);
    const ended = new EventQueue<number>({ capacity: 1, onReturn: () => undefined, onEnd: () => ends++ });
    ended.end();
    await ended.return();
    expect(ends).toBe(2);
  });

  it('a reader waiting gets the item directly (nothing is buffered)', async () => {
    const queue = new EventQueue<string>({ capacity: 1, onReturn: () => undefined });
    const pending = queue.next();
    expect(queue.push('a')).toBe(true);
    expect(queue.size).toBe(0);
    expect(await pending).toEqual({ value: 'a', done: false });
  });
});

describe('authorizationScope', () => {
  const staff = (over: Partial<Principal> = {}): Principal => ({ kind: 'user', id: 'u1', email: 'a@x.test', roles: ['FRONT_DESK'], hotelIds: ['h1'], scopes: [], ...over });

  it('staff with the same roles and hotels share, whoever they are', () => {
    expect(authorizationScope(staff())).toBe(authorizationScope(staff({ id: 'u2', email: 'b@x.test', hotelIds: ['h1'] })));
    expect(authorizationScope(staff({ roles: ['FRONT_DESK', 'HOTEL_MANAGER'] }))).toBe(authorizationScope(staff({ roles: ['HOTEL_MANAGER', 'FRONT_DESK'] })));
  });

  it('differs by role, hotel, kind and scope', () => {
    const base = authorizationScope(staff());
    expect(authorizationScope(staff({ roles: ['HOTEL_MANAGER'] }))).not.toBe(base);
    expect(authorizationScope(staff({ hotelIds: ['h2'] }))).not.toBe(base);
    expect(authorizationScope(staff({ kind: 'apiKey', roles: ['FRONT_DESK'] }))).not.toBe(base);
    expect(authorizationScope(staff({ kind: 'apiKey', roles: [], scopes: ['bookings:read'], id: 'k1' }))).not.toBe(authorizationScope(staff({ kind: 'apiKey', roles: [], scopes: ['bookings:write'], id: 'k1' })));
  });

  it('a GUEST (who sees by email) shares only with themself', () => {
    const guest = (email: string) => staff({ roles: ['GUEST'], hotelIds: [], email, id: email });
    expect(authorizationScope(guest('g1@x.test'))).not.toBe(authorizationScope(guest('g2@x.test')));
    expect(authorizationScope(guest('g1@x.test'))).toBe(authorizationScope(guest('g1@x.test')));
  });
});
