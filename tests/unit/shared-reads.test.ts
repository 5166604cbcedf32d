import { describe, expect, it } from '@jest/globals';
import { SharedReads, type Answer } from '../../gateway/src/upstream/shared-reads.js';
import { ANONYMOUS, type Principal } from '../../lib/src/identity.js';
import { createMetrics } from '../../lib/src/metrics.js';

const manager: Principal = { kind: 'user', id: 'u-1', roles: ['HOTEL_MANAGER'], hotelIds: ['h-1'], scopes: [] };
const otherManager: Principal = { ...manager, id: 'u-2' };
const query = { query: '{ hotels { id name } }', variables: {} };

/** A subgraph that answers after `release()` and counts its calls. */
function upstream(answer: () => Answer = () => ({ data: { hotels: [{ id: 'h-1', name: 'Harbor' }] } })) {
  let calls = 0;
  const waiting: Array<() => void> = [];
  return {
    get calls() {
      return calls;
    },
    fetch: () => {
      calls++;
      return new Promise<Answer>((resolve) => waiting.push(() => resolve(answer())));
    },
    release: () => waiting.splice(0).forEach((go) => go()),
  };
}

const reads = (options: Partial<{ dedup: boolean; cacheTtlMs: number; cacheMaxSize: number }> = {}) =>
  new SharedReads({ subgraph: 'hotel', dedup: true, cacheTtlMs: 60_000, cacheMaxSize: 1_000_000, metrics: createMetrics('test', { defaultMetrics: false }), ...options });

describe('SharedReads', () => {
  it('keys by identity: principal, roles, hotels and scopes all count', () => {
    const shared = reads();
    const key = shared.keyOf(manager, query);
    expect(shared.keyOf(manager, { ...query })).toBe(key);
    for (const other of [otherManager, { ...manager, roles: ['FRONT_DESK'] }, { ...manager, hotelIds: ['h-2'] }, { ...manager, scopes: ['hotels:write'] }, ANONYMOUS] as Principal[]) {
      expect(shared.keyOf(other, query)).not.toBe(key);
    }
    expect(shared.keyOf(manager, { ...query, variables: { id: 'x' } })).not.toBe(key);
  });

  it('merges identical reads in flight, and each caller gets its own copy', async () => {
    const shared = reads({ cacheTtlMs: 0 });
    const hotel = upstream();
    const key = shared.keyOf(manager, query);
    const answers = Array.from({ length: 5 }, () => shared.read(key, hotel.fetch));
    hotel.release();
    const all = await Promise.all(answers);
    expect(hotel.calls).toBe(1);
    expect(new Set(all).size).toBe(5); // five objects: the gateway merges into them
    (all[0]!.data as any).hotels[0].name = 'changed by one request';
    expect(all.slice(1).map((a) => (a.data as any).hotels[0].name)).toEqual(Array(4).fill('Harbor'));
  });

  it('never shares an answer with errors: the followers ask for themselves', async () => {
    const shared = reads();
    let calls = 0;
    // Answers (with an error) 5 ms after it is asked.
    const refusing = () => {
      calls++;
      return new Promise<Answer>((resolve) => setTimeout(() => resolve({ data: null, errors: [{ message: 'Forbidden' }] }), 5));
    };
    const key = shared.keyOf(manager, query);
    await Promise.all(Array.from({ length: 3 }, () => shared.read(key, refusing)));
    expect(calls).toBe(3);
    await shared.read(key, refusing);
    expect(calls).toBe(4); // and nothing with errors was cached
  });

  it('caches until invalidated; a read that started before a write does not refill the cache', async () => {
    const shared = reads();
    const hotel = upstream();
    const key = shared.keyOf(manager, query);
    const first = shared.read(key, hotel.fetch);
    hotel.release();
    await first;
    await shared.read(key, hotel.fetch);
    expect(hotel.calls).toBe(1); // second one was a hit

    shared.invalidate();
    const before = shared.read(key, hotel.fetch); // in flight while the write lands
    shared.invalidate();
    hotel.release();
    await before;
    const after = shared.read(key, hotel.fetch);
    hotel.release();
    await after;
    expect(hotel.calls).toBe(3); // the stale read was not kept
  });

  it('keeps nothing while the invalidation feed is down', async () => {
    const shared = reads();
    const hotel = upstream();
    const key = shared.keyOf(manager, query);
    shared.setFeedUp(false);
    for (let i = 0; i < 2; i++) {
      const read = shared.read(key, hotel.fetch);
      hotel.release();
      await read;
    }
    expect(hotel.calls).toBe(2);
    shared.setFeedUp(true);
    const read = shared.read(key, hotel.fetch);
    hotel.release();
    await read;
    await shared.read(key, hotel.fetch);
    expect(hotel.calls).toBe(3);
  });

  it('evicts the least recently used answers past its size bound', async () => {
    const shared = reads({ cacheMaxSize: 200 });
    const hotel = upstream(() => ({ data: { blob: 'x'.repeat(80) } }));
    const keys = ['a', 'b', 'c'].map((id) => shared.keyOf({ ...manager, id }, query));
    for (const key of keys) {
      const read = shared.read(key, hotel.fetch);
      hotel.release();
      await read;
    }
    expect(hotel.calls).toBe(3);
    await shared.read(keys[2]!, hotel.fetch); // newest: still kept
    expect(hotel.calls).toBe(3);
    const oldest = shared.read(keys[0]!, hotel.fetch); // evicted: fetched again
    hotel.release();
    await oldest;
    expect(hotel.calls).toBe(4);
  });
});
