/**
 * The docs are kept true by this test (no stack needed):
 *  1. every error code of lib/src/errors.ts has a row in docs/api.md's error table and a row in the
 *     "by error code" table of docs/operations.md's troubleshooting section;
 *  2. every root field of Query / Mutation / Subscription (the four subgraphs and the gateway's in-process
 *     identity subgraph) is used at the root of an operation in a ```graphql block of docs/api.md, and every
 *     operation in those blocks validates against the composed supergraph's API schema;
 *  3. every relative link in docs/*.md and README.md points to an existing file, and its #anchor to a
 *     heading of that file;
 *  4. every alert of ops/prometheus/alerts.yml is mapped in docs/operations.md, to an anchor that exists.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Kind,
  parse,
  specifiedRules,
  validate,
  NoUnusedFragmentsRule,
  LoneAnonymousOperationRule,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Supergraph } from '@apollo/federation-internals';
import { parse as parseYaml } from 'yaml';
import { ErrorCode } from '../../lib/src/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Lines outside fenced code blocks (headings and links inside code are not markdown). */
function proseLines(markdown: string): string[] {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1]![0]!;
      else if (m[1]![0] === fence) fence = null;
      out.push('');
      continue;
    }
    out.push(fence === null ? line : '');
  }
  return out;
}

/** The body of each ```<lang> fenced block. */
function fencedBlocks(markdown: string, lang: string): string[] {
  const blocks: string[] = [];
  const re = new RegExp('^```' + lang + '[ \\t]*\\n([\\s\\S]*?)^```[ \\t]*$', 'gm');
  for (const m of markdown.matchAll(re)) blocks.push(m[1]!);
  return blocks;
}

/** A markdown section: from the heading that matches to the next heading of the same or a higher level. */
function section(markdown: string, heading: RegExp): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  if (start < 0) return '';
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** First cells (`CODE`) of the table rows of a markdown text. */
function firstCells(markdown: string): string[] {
  return [...markdown.matchAll(/^\|\s*`([A-Z_]+)`/gm)].map((m) => m[1]!);
}

/** GitHub's heading anchors (github-slugger), with -1, -2 … for repeats, plus explicit <a id="…">. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseLines(markdown)) {
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = h[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links → their text
      .replace(/<[^>]+>/g, ''); // inline HTML
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const MARKDOWN_FILES = [...DOCS, 'README.md'];

describe('error codes are documented', () => {
  const codes = Object.values(ErrorCode);
  const api = read('docs/api.md');
  const operations = read('docs/operations.md');

  it('docs/api.md has a row per error code in its error table, and no row of an unknown code', () => {
    const rows = firstCells(section(api, /^## Errors\b/));
    expect(codes.filter((c) => !rows.includes(c))).toEqual([]);
    expect(rows.filter((c) => !(codes as string[]).includes(c))).toEqual([]);
  });

  it('docs/operations.md has a troubleshooting row per error code', () => {
    const rows = firstCells(section(operations, /^### By error code\b/));
    expect(section(section(operations, /^## Troubleshooting\b/), /^### By error code\b/)).not.toBe('');
    expect(codes.filter((c) => !rows.includes(c))).toEqual([]);
  });
});

describe('docs/api.md has an example for every root field', () => {
  const schemaFiles = [
    ...readdirSync(join(ROOT, 'subgraphs'))
      .map((name) => `subgraphs/${name}/schema.graphql`)
      .filter((p) => existsSync(join(ROOT, p))),
    'gateway/src/identity/schema.graphql',
  ];
  const rootFields: Record<'query' | 'mutation' | 'subscription', Set<string>> = {
    query: new Set(),
    mutation: new Set(),
    subscription: new Set(),
  };
  for (const file of schemaFiles) {
    for (const def of parse(read(file)).definitions) {
      if (
        (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) &&
        ['Query', 'Mutation', 'Subscription'].includes(def.name.value)
      ) {
        const op = def.name.value.toLowerCase() as keyof typeof rootFields;
        for (const field of def.fields ?? []) rootFields[op].add(field.name.value);
      }
    }
  }

  const api = read('docs/api.md');
  const documents: DocumentNode[] = fencedBlocks(api, 'graphql').map((block) => parse(block));
  const documented: Record<keyof typeof rootFields, Set<string>> = {
    query: new Set(),
    mutation: new Set(),
    subscription: new Set(),
  };
  const collect = (op: keyof typeof rootFields, set: SelectionSetNode, doc: DocumentNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) documented[op].add(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) collect(op, sel.selectionSet, doc);
      else {
        const frag = doc.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === sel.name.value);
        if (frag && frag.kind === Kind.FRAGMENT_DEFINITION) collect(op, frag.selectionSet, doc);
      }
    }
  };
  for (const doc of documents) {
    for (const def of doc.definitions) {
      if (def.kind === Kind.OPERATION_DEFINITION) collect(def.operation, def.selectionSet, doc);
    }
  }

  it('finds the root fields (sanity)', () => {
    expect(rootFields.query.has('hotels')).toBe(true);
    expect(rootFields.query.has('me')).toBe(true);
    expect(rootFields.mutation.has('createBooking')).toBe(true);
    expect(rootFields.subscription.has('bookingChanged')).toBe(true);
  });

  for (const op of ['query', 'mutation', 'subscription'] as const) {
    it(`every ${op} root field is used in a \`\`\`graphql block`, () => {
      expect([...rootFields[op]].filter((f) => !documented[op].has(f)).sort()).toEqual([]);
    });
  }

  it('every operation in a ```graphql block is valid against schema/supergraph.graphql', () => {
    const schema = Supergraph.build(read('schema/supergraph.graphql')).apiSchema().toGraphQLJSSchema();
    // Blocks list several short operations side by side: validate each on its own, with the block's fragments.
    const rules = specifiedRules.filter((r) => r !== NoUnusedFragmentsRule && r !== LoneAnonymousOperationRule);
    const problems: string[] = [];
    for (const doc of documents) {
      const fragments = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
      for (const def of doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)) {
        const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [def, ...fragments] };
        for (const e of validate(schema, single, rules)) {
          problems.push(`${e.message} (docs/api.md, operation at line ${def.loc?.startToken.line} of its block)`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('relative links in the docs resolve', () => {
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, 'utf8')));
    return anchorCache.get(file)!;
  };

  it.each(MARKDOWN_FILES)('%s', (file) => {
    const broken: string[] = [];
    const text = proseLines(read(file))
      .join('\n')
      .replace(/`[^`\n]*`/g, ''); // inline code is not a link
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const abs = path === '' ? join(ROOT, file) : resolve(join(ROOT, dirname(file)), decodeURIComponent(path));
      if (!existsSync(abs)) {
        broken.push(`${target} (no file ${relative(ROOT, abs)})`);
        continue;
      }
      if (anchor && abs.endsWith('.md') && statSync(abs).isFile() && !anchors(abs).has(decodeURIComponent(anchor))) {
        broken.push(`${target} (no heading #${anchor} in ${relative(ROOT, abs)})`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('alerts have runbooks', () => {
  const rules = parseYaml(read('ops/prometheus/alerts.yml')) as { groups: { rules: { alert?: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a));
  const operations = read('docs/operations.md');
  const alertsSection = section(operations, /^## Alerts\b/);

  it('reads the alert rules (sanity)', () => {
    expect(alerts).toContain('InnkeepAuditChainInvalid');
  });

  it('every alert is mapped in the "Alerts" section of docs/operations.md', () => {
    expect(alerts.filter((a) => !alertsSection.includes(`\`${a}\``))).toEqual([]);
  });

  it('every alert mapped in docs/operations.md exists', () => {
    const mapped = [...alertsSection.matchAll(/`(Innkeep[A-Za-z]+)`/g)].map((m) => m[1]!);
    expect(mapped.filter((a) => !alerts.includes(a))).toEqual([]);
  });
});
