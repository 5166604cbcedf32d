import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { principalKey, type Principal } from '../../../lib/src/identity.js';
import type { Metrics } from '../../../lib/src/metrics.js';

/** A subgraph's answer to one fetch (`{ data, errors, extensions }`). */
export type Answer = { data?: unknown; errors?: readonly unknown[] | undefined; extensions?: unknown };

export interface SharedReadsOptions {
  subgraph: string;
  /** Merge identical reads in flight (same identity, query and variables) into one fetch. */
  dedup: boolean;
  /** Keep completed answers this long (ms); 0 = no cache. */
  cacheTtlMs: number;
  /** Bound of the cache: total size of the kept answers (UTF-16 code units of their JSON, ~bytes). */
  cacheMaxSize: number;
  metrics: Metrics;
}

/**
 * Reads one subgraph lets identical callers share (docs/performance.md):
 *  - **in-flight deduplication**: while a read is travelling, the same read for the same identity waits
 *    for it instead of sending its own;
 *  - **a cache** of completed answers (the hotel subgraph's public hotel data), with a TTL, a size bound
 *    (LRU eviction) and `invalidate()` for the writes that change it.
 *
 * Never across identities: the key is the identity the internal token is signed for (`principalKey`:
 * kind, ID, email, roles, hotels, scopes) + query + variables, so two callers share an answer only when
 * the subgraph would have been asked the very same thing for the very same principal. The client IP the
 * token also carries is not part of the key: a subgraph uses it only to count its `@rateLimit` fields
 * per anonymous caller, and what those answer differently (RATE_LIMITED) is an error, never shared or
 * kept. Without it, every anonymous visitor was an identity of their own, and public hotel data read by
 * anonymous callers was never reused (bench query `hotelsNewClients`). Only error-free answers are shared
 * or kept: a follower whose leader failed or answered errors asks for itself (so a refusal is still
 * audited per request by the subgraph), and nothing with errors is cached. Answers are kept as JSON text
 * and parsed per consumer: the gateway merges entity data into the objects it receives, so two requests
 * must never hold the same object.
 */
export class SharedReads {
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly cache: LRUCache<string, string> | undefined;
  private readonly outcomes;
  /** Bumped by invalidate(): a read that started before a write never fills the cache after it. */
  private generation = 0;
  /** Off while the invalidation feed is down (its messages would be missed). */
  private caching: boolean;

  constructor(private readonly options: SharedReadsOptions) {
    this.cache =
      options.cacheTtlMs > 0
        ? new LRUCache<string, string>({ ttl: options.cacheTtlMs, maxSize: options.cacheMaxSize, sizeCalculation: (text) => Math.max(1, text.length), ttlAutopurge: false })
        : undefined;
    this.caching = !!this.cache;
    this.outcomes = options.metrics.counter(
      'innkeep_upstream_shared_reads_total',
      'Reads that could be shared, by outcome: hit (cache), shared (joined a read in flight), refetch (the read it joined failed or had errors), miss (sent)',
      ['subgraph', 'outcome'] as const,
    );
    if (this.cache) {
      const cache = this.cache;
      options.metrics.sampled('innkeep_upstream_cache_entries', 'Answers kept in the gateway cache', ['subgraph'] as const, () => [[{ subgraph: options.subgraph }, cache.size]]);
    }
  }

  get cached(): boolean {
    return !!this.cache;
  }

  /** The sharing key of a read: identity-bound, never shared between two identities (the client IP is not one: see above). */
  keyOf(principal: Principal, request: { query?: string | undefined; variables?: unknown; operationName?: string | undefined }): string {
    return createHash('sha256')
      .update(principalKey(principal))
      .update('\0')
      .update(request.query ?? '')
      .update('\0')
      .update(request.operationName ?? '')
      .update('\0')
      .update(JSON.stringify(request.variables ?? null))
      .digest('base64url');
  }

  /** `fetch` sends the read for real; it runs at most once per call, and only when nothing can be shared. */
  async read<T extends Answer>(key: string, fetch: () => Promise<T>): Promise<T> {
    const hit = this.caching ? this.cache?.get(key) : undefined;
    if (hit !== undefined) return this.count('hit', JSON.parse(hit) as T);
    const pending = this.options.dedup ? this.inflight.get(key) : undefined;
    if (pending) {
      const text = await pending.catch(() => undefined);
      if (text !== undefined) return this.count('shared', JSON.parse(text) as T);
      this.outcomes.inc({ subgraph: this.options.subgraph, outcome: 'refetch' });
      return fetch();
    }
    this.outcomes.inc({ subgraph: this.options.subgraph, outcome: 'miss' });
    if (!this.options.dedup && !this.caching) return fetch();
    const generation = this.generation;
    // Serialized as soon as it arrives, before the gateway gets (and starts merging into) the object.
    const answered = fetch().then((answer) => ({ answer, text: shareable(answer) ? JSON.stringify(answer) : undefined }));
    const shared = answered.then(({ text }) => text ?? Promise.reject(new Error('not shareable')));
    shared.catch(() => undefined);
    if (this.options.dedup) this.inflight.set(key, shared);
    try {
      const { answer, text } = await answered;
      if (text !== undefined && this.caching && generation === this.generation) this.cache?.set(key, text);
      return answer;
    } finally {
      if (this.inflight.get(key) === shared) this.inflight.delete(key);
    }
  }

  /** Hotel data changed: nothing kept or in flight from before the write is served again. */
  invalidate(): void {
    this.generation++;
    this.cache?.clear();
    this.inflight.clear();
  }

  /** The invalidation feed is down (false) or back (true): no cache while writes could go unnoticed. */
  setFeedUp(up: boolean): void {
    this.invalidate();
    this.caching = up && !!this.cache;
  }

  private count<T>(outcome: 'hit' | 'shared', answer: T): T {
    this.outcomes.inc({ subgraph: this.options.subgraph, outcome });
    return answer;
  }
}

const shareable = (answer: Answer): boolean => !answer.errors?.length && answer.data !== undefined && answer.data !== null;
