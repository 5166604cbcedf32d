/**
 * The auditors' streamed export through the gateway (GET /audit/export): JSON lines and CSV in trail
 * order, with the chain fields, under the same rules as auditEvents.
 */
import { describe, expect, it } from '@jest/globals';
import { eventually, gatewayUrl, gql, ids, tokenFor, type DemoUser } from './support.js';

const exportOf = async (query: string, as: DemoUser | null) => {
  const headers: Record<string, string> = as ? { authorization: `Bearer ${await tokenFor(as)}` } : {};
  const response = await fetch(`${gatewayUrl().replace(/\/graphql$/, '')}/audit/export?${query}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
};

describe('GET /audit/export', () => {
  it("streams a hotel's events as JSON lines in trail order, with the chain fields", async () => {
    // Make sure the hotel has at least one event of its own (an API key change is audited at once).
    await gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }`, { input: { name: `export-${Date.now()}`, scopes: ['bookings:read'], hotelIds: [ids.grandHarbor] } }, { as: 'manager@grand-harbor.test' });
    // (The gateway's relay delivers it to the audit service within moments.)
    const before = await eventually(async () => {
      const page = await gql<any>(`query($h: ID!) { auditEvents(filter: { hotelId: $h, action: "api_key.created" }, first: 1) { totalCount } }`, { h: ids.grandHarbor }, { as: 'auditor@grand-harbor.test' });
      return page.data.auditEvents.totalCount > 0 && (await gql<any>(`query($h: ID!) { auditEvents(filter: { hotelId: $h }, first: 1) { totalCount } }`, { h: ids.grandHarbor }, { as: 'auditor@grand-harbor.test' }));
    }, 15_000);
    const answer = await exportOf(`hotelId=${ids.grandHarbor}`, 'auditor@grand-harbor.test');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(answer.headers.get('content-disposition')).toBe(`attachment; filename="audit-${ids.grandHarbor}.jsonl"`);
    const rows = answer.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    // Events only ever get added (other test files write concurrently): at least what was counted before.
    expect(rows.length).toBeGreaterThanOrEqual(before.data.auditEvents.totalCount);
    expect(rows.every((r) => r.hotelId === ids.grandHarbor && r.chain === ids.grandHarbor && /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
    const sequences = rows.map((r) => BigInt(r.sequence));
    expect(sequences.every((s, i) => i === 0 || s > sequences[i - 1]!)).toBe(true);
    const chain = rows.map((r) => Number(r.chainSequence));
    expect(chain.every((s, i) => i === 0 || s > chain[i - 1]!)).toBe(true);
  });

  it('streams CSV with a header row and quoted JSON details', async () => {
    const answer = await exportOf(`hotelId=${ids.grandHarbor}&format=csv&action=api_key.created`, 'manager@grand-harbor.test');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = answer.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('sequence,occurredAt,actor,action,resourceType,resourceId,hotelId,correlationId,chain,chainSequence,hash,previousHash,details');
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes(',api_key.created,ApiKey,') && l.endsWith('}"'))).toBe(true);
  });

  it('refuses another hotel (403), the whole trail to non-admins (403), anonymous callers (401) and bad input (400)', async () => {
    expect((await exportOf(`hotelId=${ids.alpineLodge}`, 'auditor@grand-harbor.test')).status).toBe(403);
    expect((await exportOf('', 'auditor@grand-harbor.test')).status).toBe(403);
    const anonymous = await exportOf(`hotelId=${ids.grandHarbor}`, null);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', service: 'audit', correlationId: expect.any(String) });
    expect((await exportOf(`hotelId=${ids.grandHarbor}&format=xml`, 'auditor@grand-harbor.test')).status).toBe(400);
    expect((await exportOf('hotelId=nope', 'auditor@grand-harbor.test')).status).toBe(400);
    // The whole trail for a PLATFORM_ADMIN.
    const all = await exportOf('action=api_key.created', 'admin@innkeep.test');
    expect(all.status).toBe(200);
    expect(all.text.trimEnd().split('\n').length).toBeGreaterThan(0);
  });
});
