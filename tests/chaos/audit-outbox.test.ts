/**
 * Chaos: no audit event is lost or doubled while the audit subgraph, or Redis, is down.
 *
 * A federation slice of this test's own — hotel, booking and audit processes on a scratch database, with
 * a redis-server of its own — so the shared stack's relays cannot ship (and hide the loss of) these rows.
 * Booking mutations go straight to the booking subgraph with an internal token, as the gateway sends them:
 * the gateway's own Redis behaviour (bearer tokens fail closed) is tests/chaos/redis-outage.test.ts's.
 *
 * The path under test: booking.outbox (same transaction as the booking) → relay → Redis Stream →
 * the audit subgraph's consumer group → audit.events (hash-chained, idempotent by event ID).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '../../lib/src/migrate.js';
import { createDatabase } from '../../lib/src/db.js';
import { seedDemoData } from '../../scripts/lib/seed.js';
import { scratchDatabase } from '../integration/scratch-database.js';
import { eventually } from '../e2e/support.js';
import { GH, inDays, principals, room, tokenFor } from '../security/support.js';
import { extraPort } from '../setup/state.js';
import { ownRedis, startProcess, type Proc } from './support.js';

const MUTATIONS = 200;
const CREATE = `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`;

describe('chaos: the audit trail loses nothing while the audit subgraph or Redis is down', () => {
  const database = scratchDatabase('innkeep_audit_outbox');
  const redis = ownRedis(extraPort(2));
  const ports = { hotel: extraPort(3), booking: extraPort(4), audit: extraPort(5) };
  let pool: pg.Pool;
  let hotel: Proc;
  let booking: Proc;
  let audit: Proc | undefined;

  const serviceEnv = () => ({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    AUDIT_STREAM_KEY: `innkeep:test:audit-outbox:${Date.now()}`,
    HOTEL_URL: `http://127.0.0.1:${ports.hotel}/graphql`,
    BOOKING_URL: `http://127.0.0.1:${ports.booking}/graphql`,
    AUDIT_URL: `http://127.0.0.1:${ports.audit}/graphql`,
    LOG_LEVEL: 'info',
  });
  let env: Record<string, string>;
  const startAudit = async () => {
    audit = await startProcess('audit', ports.audit, env, 'audit-outbox-audit');
  };

  beforeAll(async () => {
    await database.create();
    await migrate(database.url);
    const db = createDatabase({ url: database.url, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-test-seed' });
    await seedDemoData(db.prisma);
    await db.close();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    await redis.start();
    env = serviceEnv();
    [hotel, booking] = await Promise.all([
      startProcess('hotel', ports.hotel, env, 'audit-outbox-hotel'),
      startProcess('booking', ports.booking, env, 'audit-outbox-booking'),
      startAudit(),
    ]).then(([h, b]) => [h, b] as const);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([hotel?.stop(), booking?.stop(), audit?.stop()]);
    await redis.kill();
    await pool?.end();
    await database.drop().catch(() => undefined);
  });

  /** `count` one-night bookings of one room, one after another, straight at the booking subgraph. */
  async function book(roomNumber: string, firstDay: number, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${booking.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(principals.admin, 'booking')}` },
        body: JSON.stringify({
          query: CREATE,
          variables: { input: { hotelId: GH, roomId: room('grand-harbor', roomNumber), checkIn: inDays(firstDay + i), checkOut: inDays(firstDay + i + 1), guests: 1, guest: { name: `Outbox Guest ${i}`, email: `outbox${i}@example.test` } } },
        }),
      });
      const body = (await response.json()) as { data?: { createBooking?: { id: string } }; errors?: unknown[] };
      if (!body.data?.createBooking) throw new Error(`booking ${i} failed (${response.status}): ${JSON.stringify(body.errors)}`);
      ids.push(body.data.createBooking.id);
    }
    return ids;
  }

  const storedFor = async (bookingIds: string[]) => {
    const { rows } = await pool.query<{ resource_id: string; n: string }>(
      `SELECT resource_id, count(*) AS n FROM audit.events WHERE action = 'booking.created' AND resource_id = ANY($1) GROUP BY resource_id`,
      [bookingIds],
    );
    return rows;
  };
  const undelivered = async (bookingIds: string[]) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM booking.outbox WHERE delivered_at IS NULL AND payload->>'resourceId' = ANY($1)`, [bookingIds])).rows[0]!.n);

  /** Every event arrived exactly once, in the order booking wrote them, and the hotel's chain verifies. */
  async function expectAllOnceInOrder(bookingIds: string[]) {
    const rows = await eventually(async () => {
      const stored = await storedFor(bookingIds);
      return stored.length === bookingIds.length ? stored : undefined;
    }, 60_000);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    const { rows: order } = await pool.query<{ resource_id: string }>(
      `SELECT resource_id FROM audit.events WHERE action = 'booking.created' AND resource_id = ANY($1) ORDER BY chain_sequence`,
      [bookingIds],
    );
    expect(order.map((r) => r.resource_id)).toEqual(bookingIds);
    const { rows: verified } = await pool.query<{ checked_count: string; first_invalid_sequence: string | null }>(`SELECT * FROM audit.verify_chain($1)`, [GH]);
    expect(verified[0]!.first_invalid_sequence).toBeNull();
    expect(Number(verified[0]!.checked_count)).toBeGreaterThanOrEqual(bookingIds.length);
  }

  it(`audit subgraph stopped: ${MUTATIONS} bookings succeed, their events wait in the stream and arrive once after the restart`, async () => {
    await audit!.stop();
    const bookingIds = await book('101', 30, MUTATIONS);
    // Shipped by the relay into the stream (nothing left in the outbox), but not stored: nobody consumes.
    await eventually(async () => (await undelivered(bookingIds)) === 0, 30_000);
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await probe.xlen(env.AUDIT_STREAM_KEY!)).toBeGreaterThanOrEqual(MUTATIONS);
    } finally {
      probe.disconnect();
    }
    expect(await storedFor(bookingIds)).toEqual([]);

    const restarted = Date.now();
    await startAudit();
    await expectAllOnceInOrder(bookingIds);
    console.log(`[chaos figures] audit subgraph down: ${MUTATIONS} bookings succeeded; all ${MUTATIONS} events stored once, in order, ${Date.now() - restarted} ms after audit was started`);
  }, 240_000);

  it(`Redis killed: ${MUTATIONS} bookings succeed, their events wait in the outbox and arrive once after Redis is back`, async () => {
    await redis.kill();
    const bookingIds = await book('102', 30, MUTATIONS);
    // Nothing can leave PostgreSQL while Redis is down.
    expect(await undelivered(bookingIds)).toBe(MUTATIONS);
    expect(await storedFor(bookingIds)).toEqual([]);

    // Redis restarts EMPTY (no persistence here): the consumer recreates its group, the relay re-sends.
    const restarted = Date.now();
    await redis.start();
    await expectAllOnceInOrder(bookingIds);
    expect(await undelivered(bookingIds)).toBe(0);
    console.log(`[chaos figures] Redis down: ${MUTATIONS} bookings succeeded; all ${MUTATIONS} events stored once, in order, ${Date.now() - restarted} ms after redis-server was started`);
  }, 240_000);
});
