import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const supergraphConfig = z.object({
  federation_version: z.string(),
  subgraphs: z.record(
    z.string(),
    z.object({ routing_url: z.string().url(), schema: z.object({ file: z.string() }) }),
  ),
});

export interface SubgraphEntry {
  name: string;
  url: string;
  sdlFile: string;
}

/** Reads rover's `supergraph.yaml`: the list of subgraphs, their default URLs and SDL files. */
export function readSupergraphConfig(configFile: string): SubgraphEntry[] {
  const parsed = supergraphConfig.parse(parseYaml(readFileSync(configFile, 'utf8')));
  const base = path.dirname(configFile);
  return Object.entries(parsed.subgraphs).map(([name, s]) => ({
    name,
    url: s.routing_url,
    sdlFile: path.resolve(base, s.schema.file),
  }));
}

export type CompositionOutcome = { ok: true; supergraphSdl: string; hints: string[] } | { ok: false; errors: string[] };

/** Composes the subgraphs' SDL files into a supergraph with @apollo/composition (what rover does). */
export function composeSupergraph(configFile: string): CompositionOutcome {
  const subgraphs = readSupergraphConfig(configFile);
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(readFileSync(s.sdlFile, 'utf8')) })),
  );
  if (result.errors) {
    return { ok: false, errors: result.errors.map((e) => `${(e.extensions?.code as string | undefined) ?? 'ERROR'}: ${e.message}`) };
  }
  return { ok: true, supergraphSdl: result.supergraphSdl, hints: result.hints.map((h) => h.toString()) };
}
