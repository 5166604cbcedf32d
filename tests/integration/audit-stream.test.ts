/**
 * The audit stream's protocol against the real Redis: what the relays append (signed entries) and what the
 * audit subgraph's consumer does with them — stores in order, acknowledges only after storing, re-reads
 * what it could not store, refuses forged entries, and lets exactly one replica consume at a time.
 * The sink stands in for the trail (tests/chaos/audit-outbox.test.ts runs the whole path with processes).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import pino from 'pino';
import { AUDIT_CONSUMER_GROUP, appendToAuditStream, AuditStreamConsumer } from '../../lib/src/audit-stream.js';
import { auditEvent, type AuditEventInput } from '../../lib/src/audit-event.js';
import { eventually } from '../e2e/support.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'a-test-secret-of-at-least-32-characters!';
const logger = pino({ level: 'silent' });
const redis = new Redis(redisUrl);
const consumers: AuditStreamConsumer[] = [];
const keys: string[] = [];

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  for (const key of keys.splice(0)) await redis.del(key, `${key}:dead`, `${key}:consumer-lease`);
});
afterAll(() => redis.disconnect());

const newKey = () => {
  const key = `innkeep:test:audit-stream:${randomUUID()}`;
  keys.push(key);
  return key;
};
const events = (n: number) =>
  Array.from({ length: n }, (_, i) => auditEvent({ actor: 'user:t', action: 'booking.created', resourceType: 'Booking', resourceId: `b-${i}`, hotelId: null, correlationId: `c-${i}`, details: { i } }));
const asMessages = (list: AuditEventInput[]) => list.map((e) => ({ id: e.id, topic: 'audit.event', payload: e }));

function consumer(key: string, sink: (events: AuditEventInput[]) => Promise<void>, leaseMs = 10_000) {
  const c = new AuditStreamConsumer({ url: redisUrl, key, secret: SECRET, sink: { append: sink }, parse: (e) => e as AuditEventInput, logger, blockMs: 100, leaseMs });
  consumers.push(c);
  c.start();
  return c;
}

describe('audit stream', () => {
  it('stores entries in append order, then acknowledges and deletes them', async () => {
    const key = newKey();
    const stored: string[] = [];
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages(events(50)));
    consumer(key, async (batch) => void stored.push(...batch.map((e) => e.resourceId)));
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages(events(30)));
    await eventually(async () => stored.length === 80, 10_000);
    expect(stored).toEqual([...Array.from({ length: 50 }, (_, i) => `b-${i}`), ...Array.from({ length: 30 }, (_, i) => `b-${i}`)]);
    await eventually(async () => (await redis.xlen(key)) === 0, 5000);
    const [, , , , , pending] = ((await redis.xinfo('GROUPS', key)) as unknown[][]).flat();
    expect(pending).toBe(0);
  });

  it('refuses forged and malformed entries (dead-lettered with the reason), stores the rest', async () => {
    const key = newKey();
    const [good1, forged, good2] = events(3);
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages([good1!]));
    // Written by someone with Redis access but not the internal secret.
    await appendToAuditStream(redis, key, 'booking', 'someone-elses-secret-of-32-characters!!', asMessages([forged!]));
    await redis.xadd(key, '*', 'producer', 'booking', 'event', '{not json');
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages([good2!]));
    const stored: string[] = [];
    consumer(key, async (batch) => void stored.push(...batch.map((e) => e.id)));
    await eventually(async () => (await redis.xlen(key)) === 0, 10_000);
    expect(stored).toEqual([good1!.id, good2!.id]);
    const dead = await redis.xrange(`${key}:dead`, '-', '+');
    expect(dead.map(([, fields]) => fields[fields.indexOf('reason') + 1])).toEqual(['signature missing or invalid', 'signature missing or invalid']);
  });

  it('keeps what the sink could not store and stores it, in order, once the sink is back', async () => {
    const key = newKey();
    let failing = true;
    const stored: string[] = [];
    consumer(key, async (batch) => {
      if (failing) throw new Error('database unavailable');
      stored.push(...batch.map((e) => e.resourceId));
    });
    const list = events(20);
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages(list));
    // Read (pending in the group) but never acknowledged while the sink fails.
    await eventually(async () => {
      // NOGROUP until the consumer created its group.
      const summary = (await redis.xpending(key, AUDIT_CONSUMER_GROUP).catch(() => [0])) as [number, ...unknown[]];
      return summary[0] === 20;
    }, 5000);
    expect(await redis.xlen(key)).toBe(20);
    failing = false;
    await eventually(async () => stored.length >= 20, 15_000);
    expect(stored).toEqual(list.map((e) => e.resourceId));
  });

  it('lets one replica consume at a time; another takes over when it stops', async () => {
    const key = newKey();
    const byConsumer: Record<string, number> = { first: 0, second: 0 };
    const first = consumer(key, async (batch) => void (byConsumer.first! += batch.length), 600);
    await eventually(async () => (await redis.get(`${key}:consumer-lease`)) !== null, 5000);
    consumer(key, async (batch) => void (byConsumer.second! += batch.length), 600);
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages(events(10)));
    await eventually(async () => byConsumer.first === 10, 5000);
    expect(byConsumer.second).toBe(0);

    await first.stop();
    consumers.splice(consumers.indexOf(first), 1);
    await appendToAuditStream(redis, key, 'booking', SECRET, asMessages(events(5)));
    await eventually(async () => byConsumer.second === 5, 10_000);
    expect(byConsumer.first).toBe(10);
  });
});
