/**
 * A critical alert from a real process: an audit subgraph of this test's own, on a scratch database
 * whose trail is then changed behind the database rules (superuser SQL), pages the webhook receiver of
 * this test (ALERT_WEBHOOK_URL) through its periodic chain check — with the chain named and nothing else.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { migrate } from '../../lib/src/migrate.js';
import { scratchDatabase } from '../integration/scratch-database.js';
import { eventually } from '../e2e/support.js';
import { extraPort } from '../setup/state.js';
import { startProcess, type Proc } from './support.js';

describe('chaos: a tampered audit chain pages the on-call webhook', () => {
  const database = scratchDatabase('innkeep_alerts');
  const received: any[] = [];
  let receiver: http.Server;
  let audit: Proc | undefined;
  let pool: pg.Pool;
  const hotelId = randomUUID();

  beforeAll(async () => {
    await database.create();
    await migrate(database.url);
    pool = new pg.Pool({ connectionString: database.url, max: 1 });
    for (let i = 0; i < 3; i++) {
      await pool.query(
        `INSERT INTO audit.events (id, occurred_at, actor, action, resource_type, resource_id, hotel_id, correlation_id, details) VALUES ($1, now(), 'user:alerts', 'booking.created', 'Booking', $2, $3, $4, $5)`,
        [randomUUID(), `b-${i}`, hotelId, `corr-${i}`, { i }],
      );
    }
    receiver = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        received.push(JSON.parse(text));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  }, 60_000);

  afterAll(async () => {
    await audit?.stop();
    await pool?.end();
    await new Promise((resolve) => receiver?.close(resolve));
    await database.drop().catch(() => undefined);
  });

  it('valid trail: no page; a row rewritten behind the rules: one critical alert naming the chain', async () => {
    const port = (receiver.address() as { port: number }).port;
    audit = await startProcess(
      'audit',
      extraPort(9),
      {
        DATABASE_URL: database.url,
        // A stream of its own: never a consumer of the shared stack's audit stream.
        AUDIT_STREAM_KEY: `innkeep:test:alerts:${randomUUID()}`,
        AUDIT_VERIFY_INTERVAL_SECONDS: '1',
        ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        LOG_LEVEL: 'info',
      },
      'alerts-audit',
    );
    // Its first checks pass: nothing is sent.
    await new Promise((r) => setTimeout(r, 2500));
    expect(received).toEqual([]);

    await pool.query(`BEGIN; SET LOCAL session_replication_role = replica; UPDATE audit.events SET actor = 'user:someone-else' WHERE resource_id = 'b-1'; COMMIT;`);
    const [alert] = await eventually(async () => (received.length ? received : undefined), 15_000);
    expect(alert).toMatchObject({ severity: 'critical', service: 'audit', kind: 'audit_chain_invalid', chains: hotelId, firstInvalidSequence: '2' });
    expect(JSON.stringify(alert)).not.toContain('someone-else');
    // Checked every second, paged once per interval (ALERT_MIN_INTERVAL_SECONDS, 60 s by default).
    await new Promise((r) => setTimeout(r, 2500));
    expect(received).toHaveLength(1);
  }, 60_000);
});
