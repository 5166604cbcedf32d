import type { PrismaClient } from '../../../lib/src/db.js';
import type { Logger } from '../../../lib/src/logger.js';

/**
 * API key usage (`usage_count`, `last_used_at`) without a write per request: uses are counted in memory
 * and flushed every few seconds as ONE UPDATE for all keys used since the last flush. A crash loses at
 * most one interval of counts — acceptable for statistics, never for authorization (which reads the row).
 * Several replicas add up correctly: the UPDATE increments, it does not overwrite.
 */
export interface UsageCounter {
  record(apiKeyId: string, at?: number): void;
  /** Uses of this process not yet written, so a listing can include them. */
  pending(apiKeyId: string): { count: number; lastUsedAt: Date } | undefined;
  flush(): Promise<void>;
  /** Stops the timer and writes what is pending. */
  close(): Promise<void>;
}

export function createUsageCounter(options: { prisma: PrismaClient; logger: Logger; flushIntervalMs?: number }): UsageCounter {
  const { prisma, logger } = options;
  let pending = new Map<string, { count: number; lastUsedAt: number }>();
  let flushing: Promise<void> = Promise.resolve();

  async function write(batch: Map<string, { count: number; lastUsedAt: number }>): Promise<void> {
    const ids = [...batch.keys()];
    const counts = ids.map((id) => batch.get(id)!.count);
    const times = ids.map((id) => new Date(batch.get(id)!.lastUsedAt));
    await prisma.$executeRaw`
      UPDATE "identity"."api_keys" AS k
         SET usage_count = k.usage_count + u.n,
             last_used_at = GREATEST(k.last_used_at, u.t)
        FROM unnest(${ids}::uuid[], ${counts}::bigint[], ${times}::timestamptz[]) AS u(id, n, t)
       WHERE k.id = u.id`;
  }

  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await write(batch);
      } catch (error) {
        logger.warn({ err: error, keys: batch.size }, 'could not write API key usage; retrying at the next flush');
        for (const [id, use] of batch) merge(id, use.count, use.lastUsedAt);
      }
    });
    return flushing;
  }

  function merge(id: string, count: number, at: number): void {
    const current = pending.get(id);
    if (current) {
      current.count += count;
      current.lastUsedAt = Math.max(current.lastUsedAt, at);
    } else {
      pending.set(id, { count, lastUsedAt: at });
    }
  }

  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 5000);
  timer.unref();

  return {
    record: (id, at = Date.now()) => merge(id, 1, at),
    pending(id) {
      const use = pending.get(id);
      return use && { count: use.count, lastUsedAt: new Date(use.lastUsedAt) };
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
