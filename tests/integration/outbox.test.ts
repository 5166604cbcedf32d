/**
 * The transactional outbox relay: every row written to booking.outbox reaches the receiver, in order,
 * exactly once, even while the receiver is down for a while and even with several replicas relaying the
 * same table. Runs against the real local PostgreSQL, in a database of its own.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../../lib/src/logger.js';
import { migrate } from '../../lib/src/migrate.js';
import { OutboxRelay, type OutboxMessage, type OutboxRelayOptions } from '../../lib/src/outbox.js';
import { scratchDatabase } from './scratch-database.js';

const scratch = scratchDatabase('innkeep_outbox_test');
const testUrl = scratch.url;

const TABLE = 'booking.outbox';

const logger = createLogger('booking', 'silent');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


let pool: pg.Pool;
const relays: OutboxRelay[] = [];

function startRelay(options: Pick<OutboxRelayOptions, 'deliver'> & Partial<OutboxRelayOptions>): OutboxRelay {
  const relay = new OutboxRelay({ pool, table: TABLE, logger, pollIntervalMs: 10, maxBackoffMs: 200, ...options });
  relays.push(relay);
  relay.start();
  return relay;
}

/** Inserts messages one by one (so their sequence follows the array) and returns their IDs in that order. */
async function enqueue(count: number, topic = 'booking.created'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    await pool.query(`INSERT INTO ${TABLE} (id, topic, payload) VALUES ($1, $2, $3)`, [id, topic, JSON.stringify({ n: i, reference: `IK-${i}` })]);
    ids.push(id);
  }
  return ids;
}

interface Row {
  id: string;
  delivered_at: Date | null;
  attempts: number;
  last_error: string | null;
}
const rows = async (ids: string[]) =>
  (await pool.query<Row>(`SELECT id, delivered_at, attempts, last_error FROM ${TABLE} WHERE id = ANY($1::uuid[]) ORDER BY sequence`, [ids])).rows;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

beforeAll(async () => {
  await scratch.create();
  await migrate(testUrl);
  pool = new pg.Pool({ connectionString: testUrl, max: 8 });
});

beforeEach(async () => {
  await pool.query(`DELETE FROM ${TABLE}`);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

afterAll(async () => {
  await pool?.end();
  await scratch.drop();
});

describe('OutboxRelay', () => {
  it('delivers every row in sequence order, batch after batch, and marks it delivered', async () => {
    const ids = await enqueue(7);
    const delivered: OutboxMessage[] = [];
    const batchSizes: number[] = [];
    const relay = startRelay({
      batchSize: 3,
      deliver: async (messages) => {
        batchSizes.push(messages.length);
        delivered.push(...messages);
      },
    });

    await waitFor('7 deliveries', () => delivered.length >= 7);
    // deliver() returns before the relay commits `delivered_at`: wait for that commit too.
    await waitFor('an empty backlog', async () => (await relay.backlog()) === 0);
    expect(delivered.map((m) => m.id)).toEqual(ids);
    expect(delivered[0]).toEqual({ id: ids[0], topic: 'booking.created', payload: { n: 0, reference: 'IK-0' } });
    expect(batchSizes.slice(0, 3)).toEqual([3, 3, 1]);

    for (const row of await rows(ids)) {
      expect(row.delivered_at).toBeInstanceOf(Date);
      expect(row.attempts).toBe(1);
      expect(row.last_error).toBeNull();
    }
  });

  it('picks up rows written later, by polling and when kicked', async () => {
    const delivered: string[] = [];
    const relay = startRelay({ pollIntervalMs: 60_000, deliver: async (m) => void delivered.push(...m.map((x) => x.id)) });
    await sleep(50); // the first drain finds nothing; the next poll is a minute away
    const [kicked] = await enqueue(1);
    relay.kick();
    await waitFor('the kicked row', () => delivered.includes(kicked!), 2000);

    const deliveredByPolling: string[] = [];
    const polling = startRelay({ pollIntervalMs: 20, deliver: async (m) => void deliveredByPolling.push(...m.map((x) => x.id)) });
    await sleep(50);
    const [polled] = await enqueue(1); // nobody kicks this time
    await waitFor('the polled row', () => deliveredByPolling.includes(polled!), 2000);
    expect(delivered).toEqual([kicked]);
    await waitFor('an empty backlog', async () => (await polling.backlog()) === 0, 2000);
  });

  it('keeps rows while the receiver is down, backs off, then delivers each exactly once', async () => {
    const ids = await enqueue(3);
    let receiverUp = false;
    const failedCalls: number[] = [];
    const delivered: string[] = [];
    const relay = startRelay({
      pollIntervalMs: 10,
      maxBackoffMs: 600,
      deliver: async (messages) => {
        if (!receiverUp) {
          failedCalls.push(Date.now());
          throw new Error('audit service unavailable');
        }
        delivered.push(...messages.map((m) => m.id));
      },
    });

    await waitFor('3 failed attempts', () => failedCalls.length >= 3);
    // Nothing is lost or marked delivered; every row records the attempt and the reason.
    await waitFor('attempts recorded', async () => (await rows(ids)).every((r) => r.attempts >= 3));
    for (const row of await rows(ids)) {
      expect(row.delivered_at).toBeNull();
      expect(row.last_error).toBe('audit service unavailable');
    }
    expect(await relay.backlog()).toBe(3);

    // Backing off: retries are hundreds of ms apart although the poll interval is 10 ms (first backoff
    // 500 ms, then capped at maxBackoffMs), and writers kicking the relay do not cut the wait short.
    for (let i = 0; i < 20; i++) relay.kick();
    const gaps = failedCalls.slice(1).map((t, i) => t - failedCalls[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(480);
    for (const gap of gaps.slice(1)) {
      expect(gap).toBeGreaterThanOrEqual(580);
      expect(gap).toBeLessThan(1200);
    }
    const callsBeforeKicks = failedCalls.length;
    await sleep(150);
    expect(failedCalls.length).toBe(callsBeforeKicks);

    receiverUp = true;
    await waitFor('delivery after recovery', () => delivered.length >= 3);
    await waitFor('an empty backlog', async () => (await relay.backlog()) === 0);
    await sleep(100); // time for any duplicate to show up
    expect(delivered).toEqual(ids);
    const failures = failedCalls.length;
    for (const row of await rows(ids)) {
      expect(row.delivered_at).toBeInstanceOf(Date);
      expect(row.attempts).toBe(failures + 1);
      expect(row.last_error).toBeNull();
    }

    // Recovered: new rows flow at the normal pace again.
    const [fresh] = await enqueue(1);
    await waitFor('a row written after recovery', () => delivered.includes(fresh!), 500);
  });

  it('never delivers a row twice when two relays share the table', async () => {
    const ids = await enqueue(120);
    const byRelay: string[][] = [[], []];
    const deliverAs = (n: 0 | 1) => async (messages: OutboxMessage[]) => {
      await sleep(5); // a slow receiver, so the two relays overlap
      byRelay[n]!.push(...messages.map((m) => m.id));
    };
    startRelay({ batchSize: 10, pollIntervalMs: 5, deliver: deliverAs(0) });
    startRelay({ batchSize: 10, pollIntervalMs: 5, deliver: deliverAs(1) });

    await waitFor('all 120 rows', () => byRelay[0]!.length + byRelay[1]!.length >= 120);
    await waitFor('an empty backlog', async () => (await relays[0]!.backlog()) === 0);
    await sleep(100); // time for any duplicate to show up
    const all = [...byRelay[0]!, ...byRelay[1]!];
    expect(all).toHaveLength(120);
    expect(new Set(all)).toEqual(new Set(ids));
    expect(byRelay[0]!.length).toBeGreaterThan(0); // both really took part
    expect(byRelay[1]!.length).toBeGreaterThan(0);
    expect((await rows(ids)).every((r) => r.delivered_at !== null && r.attempts === 1)).toBe(true);
  });

  it('ships nothing after stop()', async () => {
    const delivered: string[] = [];
    const relay = startRelay({ deliver: async (m) => void delivered.push(...m.map((x) => x.id)) });
    await relay.stop();
    const [late] = await enqueue(1);
    relay.kick();
    await sleep(100);
    expect(delivered).not.toContain(late);
    expect(await relay.backlog()).toBe(1);
  });

  it('refuses a table name that is not a plain schema.table', () => {
    for (const table of ['outbox', 'booking.outbox; DROP TABLE booking.bookings', 'booking."outbox"']) {
      expect(() => new OutboxRelay({ pool, table, logger, deliver: async () => undefined })).toThrow(/invalid outbox table name/);
    }
  });
});
