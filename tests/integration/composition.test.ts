/**
 * The gateway starts from the committed schema/supergraph.graphql, so it must be exactly what the four
 * subgraph schemas compose to today; and subgraph schemas that cannot be composed must be refused with
 * errors a person can act on.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { composeSupergraph, readSupergraphConfig } from '../../lib/src/composition.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const COMPOSE_SCRIPT = join(ROOT, 'scripts/compose.ts');

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'innkeep-composition-'));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Writes a supergraph.yaml and one SDL file per subgraph into a fresh directory; returns the yaml path. */
function writeSupergraph(name: string, subgraphs: Record<string, string>): string {
  const dir = join(workDir, name);
  mkdirSync(join(dir, 'schemas'), { recursive: true });
  const entries = Object.entries(subgraphs).map(([subgraph, sdl], i) => {
    writeFileSync(join(dir, 'schemas', `${subgraph}.graphql`), sdl);
    return `  ${subgraph}:\n    routing_url: http://127.0.0.1:${5001 + i}/graphql\n    schema:\n      file: ./schemas/${subgraph}.graphql\n`;
  });
  const configFile = join(dir, 'supergraph.yaml');
  writeFileSync(configFile, `federation_version: =2.7.0\nsubgraphs:\n${entries.join('')}`);
  return configFile;
}

async function runCompose(cwd: string, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [COMPOSE_SCRIPT, ...args], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the committed supergraph', () => {
  it('is exactly what supergraph.yaml composes to now (not stale)', () => {
    const outcome = composeSupergraph(join(ROOT, 'supergraph.yaml'));
    if (!outcome.ok) throw new Error(`the subgraph schemas do not compose:\n${outcome.errors.join('\n')}`);
    const committed = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8');
    expect(committed).toBe(outcome.supergraphSdl);
  });

  it('routes to the four subgraphs and the gateway’s in-process identity subgraph', () => {
    expect(readSupergraphConfig(join(ROOT, 'supergraph.yaml')).map((s) => s.name).sort()).toEqual(['audit', 'booking', 'hotel', 'identity', 'pms']);
    const committed = readFileSync(join(ROOT, 'schema/supergraph.graphql'), 'utf8');
    for (const name of ['HOTEL', 'BOOKING', 'PMS', 'AUDIT', 'IDENTITY']) expect(committed).toMatch(new RegExp(`${name} @join__graph\\(name: "\\w+", url: "http`));
  });

  it('`npx tsx scripts/compose.ts --check` exits 0', async () => {
    const result = await promisify(execFile)('npx', ['tsx', 'scripts/compose.ts', '--check'], { cwd: ROOT, timeout: 60_000 });
    expect(result.stdout).toContain('schema/supergraph.graphql is current');
  });

  it('`compose.ts --check` exits 1 when the committed file is stale, and leaves it alone', async () => {
    const configFile = writeSupergraph('stale', {
      hotel: `${FEDERATION}\ntype Query { hotel(id: ID!): Hotel }\ntype Hotel @key(fields: "id") { id: ID! name: String! }\n`,
    });
    const dir = dirname(configFile);
    mkdirSync(join(dir, 'schema'));
    writeFileSync(join(dir, 'schema/supergraph.graphql'), 'type Query { outdated: String }\n');

    const check = await runCompose(dir, ['--check']);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('is stale');
    expect(readFileSync(join(dir, 'schema/supergraph.graphql'), 'utf8')).toBe('type Query { outdated: String }\n');

    // Without --check it writes the fresh composition, after which --check passes.
    expect((await runCompose(dir, [])).code).toBe(0);
    expect(await runCompose(dir, ['--check'])).toMatchObject({ code: 0 });
  });
});

describe('composeSupergraph', () => {
  it('composes subgraphs that agree', () => {
    const configFile = writeSupergraph('compatible', {
      rooms: `${FEDERATION}\ntype Query { room(id: ID!): Room }\ntype Room @key(fields: "id") { id: ID! number: String! }\n`,
      stays: `${FEDERATION}\ntype Query { stays: [Stay!]! }\ntype Stay { id: ID! room: Room! }\ntype Room @key(fields: "id") { id: ID! nights: Int! }\n`,
    });
    const outcome = composeSupergraph(configFile);
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.supergraphSdl).toMatch(/type Room[\s\S]*number: String![\s\S]*nights: Int!/);
  });

  it('refuses a shareable field typed String in one subgraph and Int in the other, naming it', () => {
    const configFile = writeSupergraph('type-mismatch', {
      hotel: `${FEDERATION}\ntype Query { rate: Rate }\ntype Rate @shareable { currency: String! amount: String! }\n`,
      booking: `${FEDERATION}\ntype Query { quote: Rate }\ntype Rate @shareable { currency: String! amount: Int! }\n`,
    });
    const outcome = composeSupergraph(configFile);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.errors.length).toBeGreaterThan(0);
    for (const error of outcome.errors) expect(typeof error).toBe('string');
    const mismatch = outcome.errors.find((e) => e.startsWith('FIELD_TYPE_MISMATCH: '));
    expect(mismatch).toBeDefined();
    expect(mismatch).toContain('Rate.amount');
    expect(mismatch).toMatch(/hotel/);
    expect(mismatch).toMatch(/booking/);
  });

  it('refuses a field two subgraphs both resolve without marking it shareable', () => {
    const configFile = writeSupergraph('not-shareable', {
      hotel: `${FEDERATION}\ntype Query { hotel(id: ID!): Hotel }\ntype Hotel @key(fields: "id") { id: ID! name: String! }\n`,
      pms: `${FEDERATION}\ntype Query { syncedHotel(id: ID!): Hotel }\ntype Hotel @key(fields: "id") { id: ID! name: String! }\n`,
    });
    const outcome = composeSupergraph(configFile);
    expect(outcome).toEqual({ ok: false, errors: [expect.stringMatching(/^INVALID_FIELD_SHARING: .*"Hotel\.name"/)] });
  });

  it('`compose.ts` exits 1 and prints every error when the subgraphs do not compose', async () => {
    const configFile = writeSupergraph('broken-cli', {
      hotel: `${FEDERATION}\ntype Query { rate: Rate }\ntype Rate @shareable { amount: String! }\n`,
      booking: `${FEDERATION}\ntype Query { quote: Rate }\ntype Rate @shareable { amount: Int! }\n`,
    });
    const result = await runCompose(dirname(configFile), []);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Composition failed with \d+ error\(s\)/);
    expect(result.stderr).toContain('FIELD_TYPE_MISMATCH');
  });
});
