/**
 * The PMS write queue's `enqueue` inside the caller's transaction (subgraphs/pms/src/sync-queue.ts), on the
 * real test database: the vendor-outage path of `syncReservations` marks the connection ERROR, queues the
 * sync and audits it in ONE transaction. Two requests queueing the same hotel at once must join one job
 * without aborting either transaction, and a transaction that rolls back must leave no job behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createDatabase } from '../../lib/src/db.js';
import { SyncQueue } from '../../subgraphs/pms/src/sync-queue.js';
import { env, sql } from '../e2e/support.js';

const db = createDatabase({ url: env('INNKEEP_DATABASE_URL'), poolSize: 4, acquireTimeoutMs: 5000, applicationName: 'pms-sync-queue-test' });
const queue = new SyncQueue(db.prisma, { initialDelayMs: 60_000, maxDelayMs: 600_000 });
const pendingRows = async (hotelId: string) => sql(`SELECT id, last_error FROM pms.sync_jobs WHERE hotel_id = $1 AND status = 'PENDING'`, [hotelId]);

afterAll(async () => {
  await db.close();
});

describe('SyncQueue.enqueue in a transaction', () => {
  it('two transactions queueing the same hotel at once share one pending job; neither fails', async () => {
    const hotelId = randomUUID();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstQueued!: () => void;
    const queued = new Promise<void>((resolve) => (firstQueued = resolve));
    // The first transaction queues the job and keeps it uncommitted until released.
    const first = db.prisma.$transaction(
      async (tx) => {
        const job = await queue.enqueue(hotelId, 'mews', 'first', 'vendor down (first)', tx);
        firstQueued();
        await held;
        return job;
      },
      { timeout: 10_000 },
    );
    await queued;
    // The second sees no committed job yet: its insert meets the first one's row on the one-pending-per-hotel
    // index and waits for that transaction instead of failing.
    const second = db.prisma.$transaction((tx) => queue.enqueue(hotelId, 'mews', 'second', 'vendor down (second)', tx), { timeout: 10_000 });
    const secondEarly = await Promise.race([second.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 300))]);
    expect(secondEarly).toBe('waiting');
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(b.id).toBe(a.id);
    expect(await pendingRows(hotelId)).toEqual([{ id: a.id, last_error: 'vendor down (first)' }]);
    // A later outage joins the same waiting job and records its reason.
    const again = await queue.enqueue(hotelId, 'mews', 'third', 'vendor down (third)');
    expect(again.id).toBe(a.id);
    expect(await pendingRows(hotelId)).toEqual([{ id: a.id, last_error: 'vendor down (third)' }]);
  });

  it('a transaction that rolls back (its ERROR update failed) leaves no job behind', async () => {
    const hotelId = randomUUID();
    await expect(
      db.prisma.$transaction(async (tx) => {
        await queue.enqueue(hotelId, 'mews', 'rolled-back', 'vendor down', tx);
        throw new Error('the connection update failed');
      }),
    ).rejects.toThrow('the connection update failed');
    expect(await pendingRows(hotelId)).toEqual([]);
    expect(await queue.pending(hotelId)).toBeNull();
  });
});
