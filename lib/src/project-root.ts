import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The project's root folder (the checkout, or /app in the image): the nearest folder above this module
 * that holds `supergraph.yaml` and `package.json`. Files the services read at run time (schema files,
 * migrations, the dashboard build) are found from here rather than from `import.meta.url`, because that
 * URL is a source file under tsx but the bundle under dist/services once built (scripts/lib/build.ts).
 */
export function projectRoot(): string {
  if (root) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'supergraph.yaml')) && existsSync(path.join(dir, 'package.json'))) return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`The project root (a folder with supergraph.yaml and package.json) is not above ${start}`);
  }
}

/** A path inside the project, e.g. `projectPath('subgraphs/hotel/schema.graphql')`. */
export const projectPath = (...segments: string[]): string => path.join(projectRoot(), ...segments);
