/**
 * The audit trail's hash chain (migration 20261123200000_audit_hash_chain): events of a hotel of this
 * file's own, produced by real booking mutations through the outbox relay, chained by the database;
 * `auditIntegrity` and `npm run audit:verify` find a row edited or deleted with superuser SQL (which
 * bypasses the append-only trigger) at its sequence; the app's own UPDATE / DELETE are refused.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { verifyChainsAt } from '../../scripts/audit-verify.js';
import { createOwnHotel, env, eventually, gql, inDays, sql, type DemoUser } from './support.js';

let hotelId = '';
let roomId = '';
const tag = Date.now().toString(36);

const INTEGRITY = `query($h: ID) { auditIntegrity(hotelId: $h) { chain valid checkedCount firstInvalidSequence verifiedAt } }`;
const integrity = async (as: DemoUser | null = 'admin@innkeep.test', h: string | null = hotelId) => gql<any>(INTEGRITY, { h }, { as });
const chainRows = () =>
  sql<{ id: string; sequence: string; chain_sequence: string; prev_hash: string; hash: string; details: unknown }>(
    `SELECT id, sequence::text, chain_sequence::text, prev_hash, hash, details FROM audit.events WHERE hotel_id = $1 ORDER BY chain_sequence`,
    [hotelId],
  );
/** Superuser SQL that bypasses the append-only triggers, as an attacker with database access would. */
const behindTheBack = (statement: string) => sql(`BEGIN; SET LOCAL session_replication_role = replica; ${statement}; COMMIT;`);

async function book(day: number): Promise<string> {
  const answer = await gql<any>(`mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
    input: { hotelId, roomId, checkIn: inDays(day), checkOut: inDays(day + 1), guest: { name: 'Chain Guest', email: 'chain.guest@example.test' } },
  }, { as: 'admin@innkeep.test' });
  expect(answer.errors).toEqual([]);
  return answer.data.createBooking.id;
}

beforeAll(async () => {
  const as = { as: 'admin@innkeep.test' as const };
  ({ hotelId, roomId } = await createOwnHotel(`chain-${tag}`, { capacity: 1, baseRateMinor: 5000 }));
  const first = await book(30);
  await gql(`mutation($id: ID!) { cancelBooking(id: $id, reason: "chain test") { id } }`, { id: first }, as);
  await book(32);
  // All six: hotel, room type and room created, booked, cancelled, booked (the relay may still be shipping some).
  await eventually(async () => (await chainRows()).length >= 6 || undefined, 20_000);
});

describe('the hash chain', () => {
  it('chains every event of the hotel: sequence 1, 2, 3 …, each previousHash the hash before it', async () => {
    const rows = await chainRows();
    expect(rows.map((r) => Number(r.chain_sequence))).toEqual(rows.map((_, i) => i + 1));
    expect(rows[0]!.prev_hash).toBe('0'.repeat(64));
    rows.slice(1).forEach((r, i) => expect(r.prev_hash).toBe(rows[i]!.hash));
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);

    const page = await gql<any>(`query($h: ID!) { auditEvents(filter: { hotelId: $h }, first: 10) { nodes { sequence chain chainSequence hash previousHash } } }`, { h: hotelId }, { as: 'admin@innkeep.test' });
    expect(page.data.auditEvents.nodes.at(-1)).toMatchObject({ chain: hotelId, chainSequence: '1', previousHash: '0'.repeat(64), hash: rows[0]!.hash });

    const answer = await integrity();
    expect(answer.errors).toEqual([]);
    expect(answer.data.auditIntegrity).toMatchObject({ chain: hotelId, valid: true, checkedCount: rows.length, firstInvalidSequence: null });
  });

  it("refuses the app's UPDATE, DELETE and TRUNCATE (append-only in the database)", async () => {
    await expect(sql(`UPDATE audit.events SET actor = 'user:someone-else' WHERE hotel_id = $1`, [hotelId])).rejects.toThrow(/append-only/);
    await expect(sql(`DELETE FROM audit.events WHERE hotel_id = $1`, [hotelId])).rejects.toThrow(/append-only/);
    await expect(sql(`TRUNCATE audit.events`)).rejects.toThrow(/append-only/);
    expect((await integrity()).data.auditIntegrity.valid).toBe(true);
  });

  it('finds an event edited behind the database rules at its sequence (GraphQL and CLI), and a deleted one at the next', async () => {
    const rows = await chainRows();
    const target = rows[1]!;
    const original = JSON.stringify(target.details).replace(/'/g, "''");
    await behindTheBack(`UPDATE audit.events SET details = details || '{"reason":"rewritten"}'::jsonb WHERE id = '${target.id}'`);
    try {
      const answer = await integrity();
      expect(answer.data.auditIntegrity).toMatchObject({ valid: false, firstInvalidSequence: target.sequence, checkedCount: rows.length });
      expect(await verifyChainsAt(env('INNKEEP_DATABASE_URL'), [hotelId])).toEqual([{ chain: hotelId, checkedCount: rows.length, firstInvalidSequence: target.sequence }]);
      const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts', hotelId], { env: { ...process.env, DATABASE_URL: env('INNKEEP_DATABASE_URL') }, encoding: 'utf8' });
      expect(cli.status).toBe(1);
      expect(cli.stdout).toContain(`INVALID  ${hotelId}  first invalid event: sequence ${target.sequence}`);
      // The audit subgraph's background check (AUDIT_VERIFY_INTERVAL_SECONDS, 1 s in the test stack) says so too.
      const auditMetrics = new URL('/metrics', env('INNKEEP_AUDIT_URL')).toString();
      await eventually(async () => {
        const text = await (await fetch(auditMetrics)).text();
        return Number(/^innkeep_audit_chains_invalid(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0) >= 1;
      }, 15_000);
    } finally {
      await behindTheBack(`UPDATE audit.events SET details = '${original}'::jsonb WHERE id = '${target.id}'`);
    }
    expect((await integrity()).data.auditIntegrity.valid).toBe(true);

    // Deleting an event breaks the link of the one after it.
    await behindTheBack(`DELETE FROM audit.events WHERE id = '${target.id}'`);
    const afterDelete = await integrity();
    expect(afterDelete.data.auditIntegrity).toMatchObject({ valid: false, firstInvalidSequence: rows[2]!.sequence, checkedCount: rows.length - 1 });
  });

  it('answers per the audit rules: another hotel, the platform chain, and anonymous callers are refused', async () => {
    const auditor = await integrity('auditor@grand-harbor.test');
    expect(auditor.errors[0]?.extensions.code).toBe('FORBIDDEN');
    const platformAsAuditor = await integrity('auditor@grand-harbor.test', null);
    expect(platformAsAuditor.errors[0]?.extensions.code).toBe('FORBIDDEN');
    const anonymous = await integrity(null);
    expect(anonymous.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const platform = await integrity('admin@innkeep.test', null);
    expect(platform.data.auditIntegrity).toMatchObject({ chain: 'platform', valid: true });
    const bad = await gql<any>(INTEGRITY, { h: 'not-a-uuid' }, { as: 'admin@innkeep.test' });
    expect(bad.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
