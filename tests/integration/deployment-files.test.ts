/**
 * The deployment files promise what the code needs: docker-compose.yml starts every service in the right
 * order with health checks, its environment passes each service's own config validation, .env.example
 * documents every variable any process reads, and the image runs as a non-root user. Static checks (no
 * Docker engine needed); `docker compose config` runs too where a Compose v2 client is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { baseConfigShape, databaseConfigShape, parseConfig, redisConfigShape } from '../../lib/src/config.js';
import { DEFAULT_PORTS, subgraphUrlVar, type SubgraphName } from '../../lib/src/service-config.js';
import { loadGatewayConfig } from '../../gateway/src/config.js';
import { SERVICE_NODE_ARGS } from '../../scripts/lib/stack.js';
import { builtEntry, SERVICE_ENTRIES } from '../../scripts/lib/build.js';
import { loadHotelConfig } from '../../subgraphs/hotel/src/server.js';
import { loadBookingConfig } from '../../subgraphs/booking/src/server.js';
import { loadPmsConfig } from '../../subgraphs/pms/src/server.js';
import { loadAuditConfig } from '../../subgraphs/audit/src/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string; required?: boolean }> | string[];
  profiles?: string[];
  ports?: string[];
  restart?: string;
}

const composeText = read('docker-compose.yml');
// `merge: true`: the file shares settings through YAML merge keys (`<<: *node-service`), as Compose does.
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;

const SUBGRAPHS: SubgraphName[] = ['hotel', 'booking', 'pms', 'audit'];
/** Services that run our image (each a Node process with its own port and health endpoint). */
const NODE_SERVICES = ['hotel', 'booking', 'pms', 'audit', 'gateway', 'vendor'] as const;
const HEALTH_PATH: Record<(typeof NODE_SERVICES)[number], string> = {
  hotel: '/health/ready',
  booking: '/health/ready',
  pms: '/health/ready',
  audit: '/health/ready',
  gateway: '/health/ready',
  vendor: '/health',
};
const ENTRY: Record<'migrate', string> = {
  migrate: 'scripts/migrate.ts',
};

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOn(service: ComposeService): Record<string, { condition?: string; required?: boolean }> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, { condition: 'service_started' }])) : deps;
}

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`… but not the escaped `$${…}`. */
const INTERPOLATION = /(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}/g;

/** What Compose substitutes when none of the variables is set (no shell variable, no .env file). */
function interpolateWithDefaults(value: string): string {
  return value.replace(INTERPOLATION, (_match, _name: string, operator: string | undefined, operand: string | undefined) =>
    operator === ':-' || operator === '-' ? interpolateWithDefaults(operand ?? '') : '',
  ).replace(/\$\$/g, '$');
}

/** Every string value in the parsed file: what Compose interpolates (comments are not). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Variables .env.example documents: `VAR=…` lines, commented out (`# VAR=…`) or not. */
function documentedVariables(): Set<string> {
  const names = read('.env.example')
    .split('\n')
    .map((line) => /^\s*#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name));
  return new Set(names);
}

/** Every variable the config schemas accept, collected from the shapes and loaders themselves. */
function configSchemaVariables(): Set<string> {
  const upper = (o: object) => Object.keys(o).filter((k) => /^[A-Z][A-Z0-9_]*$/.test(k));
  const databaseUrl = { DATABASE_URL: 'postgresql://x@localhost/db' };
  return new Set([
    ...Object.keys(baseConfigShape),
    ...Object.keys(databaseConfigShape),
    ...Object.keys(redisConfigShape),
    ...upper(loadHotelConfig(databaseUrl)),
    ...upper(loadBookingConfig(databaseUrl)),
    ...upper(loadPmsConfig(databaseUrl)),
    ...upper(loadAuditConfig(databaseUrl)),
    ...upper(loadGatewayConfig({ DATABASE_URL: 'postgresql://x@localhost/db' })),
    ...(Object.keys(DEFAULT_PORTS) as Array<keyof typeof DEFAULT_PORTS>).map((name) => `${name.toUpperCase()}_PORT`),
    ...SUBGRAPHS.map(subgraphUrlVar),
  ]);
}

function sourceFiles(dir: string): string[] {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [dir];
  return readdirSync(full).flatMap((entry) =>
    entry === 'node_modules' ? [] : sourceFiles(path.join(dir, entry)).filter((f) => /\.(ts|mjs|js)$/.test(f)),
  );
}

/**
 * Variables read in the sources, found by pattern: `process.env.X`, `env.X`, `env['X']` and zod config
 * keys (`X: z.…`, `X: envBool(…)`). Catches a process whose config is not importable (the fake vendor
 * parses its config at import time) and a new variable read without a schema.
 */
function variablesReadInSources(): Map<string, string> {
  const dirs = ['lib/src', 'gateway/src', 'pms-vendor/src', 'scripts', 'tests/setup', 'prisma.config.ts', ...SUBGRAPHS.map((s) => `subgraphs/${s}/src`)];
  const patterns = [
    /\bprocess\.env\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\.([A-Z][A-Z0-9_]*)\b/g,
    /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g,
    /^\s*([A-Z][A-Z0-9_]*)\s*:\s*(?:z\.|envBool\()/gm,
  ];
  const found = new Map<string, string>();
  for (const file of dirs.flatMap(sourceFiles)) {
    const text = read(file);
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (!found.has(match[1]!)) found.set(match[1]!, file);
  }
  return found;
}

describe('docker-compose.yml', () => {
  it('defines postgres, redis, the migrate job, the four subgraphs, the gateway and the fake vendor', () => {
    expect(Object.keys(services).sort()).toEqual(
      expect.arrayContaining(['postgres', 'redis', 'migrate', 'hotel', 'booking', 'pms', 'audit', 'gateway', 'vendor']),
    );
  });

  it('gives every Node service a health check on its own port and health path', () => {
    for (const name of NODE_SERVICES) {
      const test = services[name]!.healthcheck?.test;
      expect({ name, test }).toEqual({ name, test: expect.any(Array) });
      const command = (test as string[]).join(' ');
      expect({ name, command }).toEqual({ name, command: expect.stringContaining(`http://127.0.0.1:${DEFAULT_PORTS[name]}${HEALTH_PATH[name]}'`) });
      expect(services[name]!.healthcheck?.disable).not.toBe(true);
    }
  });

  it('gives the data stores health checks', () => {
    expect((services.postgres!.healthcheck?.test as string[]).join(' ')).toContain('pg_isready');
    expect(services.redis!.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('runs each Node service as its built file (npm run build), with the Node flags npm start uses', () => {
    for (const name of NODE_SERVICES) {
      const command = services[name]!.command;
      const text = Array.isArray(command) ? command.join(' ') : String(command);
      const flags = (SERVICE_NODE_ARGS[name as keyof typeof SERVICE_NODE_ARGS] ?? []).map((flag) => `${flag} `).join('');
      expect({ name, text }).toEqual({ name, text: `node ${flags}${builtEntry(name)}` });
      expect(existsSync(path.join(root, SERVICE_ENTRIES[name]))).toBe(true);
      expect(services[name]!.image ?? services[name]!.build).toBeDefined();
    }
  });

  it('runs the migration job through tsx on a script that exists', () => {
    const text = (services.migrate!.command as string[]).join(' ');
    expect(text).toContain(`node --import tsx ${ENTRY.migrate}`);
    expect(existsSync(path.join(root, ENTRY.migrate))).toBe(true);
  });

  it('migrates once the database is healthy, and seeds only when SEED_DEMO_DATA=true', () => {
    expect(dependsOn(services.migrate!)).toEqual({ postgres: { condition: 'service_healthy' } });
    const script = (services.migrate!.command as string[]).join(' ');
    expect(script).toMatch(/node --import tsx scripts\/migrate\.ts[\s\S]*"\$\$SEED_DEMO_DATA" = true[\s\S]*node --import tsx scripts\/seed\.ts/);
    expect(services.migrate!.restart ?? 'no').toBe('no');
  });

  it('starts subgraphs after the migration succeeded and Redis is healthy', () => {
    for (const name of SUBGRAPHS) {
      const deps = dependsOn(services[name]!);
      expect({ name, migrate: deps.migrate?.condition, redis: deps.redis?.condition }).toEqual({
        name,
        migrate: 'service_completed_successfully',
        redis: 'service_healthy',
      });
    }
  });

  it('starts the gateway once all four subgraphs are healthy, and publishes it on 4000', () => {
    const deps = dependsOn(services.gateway!);
    for (const name of SUBGRAPHS) expect({ name, condition: deps[name]?.condition }).toEqual({ name, condition: 'service_healthy' });
    expect(services.gateway!.ports?.some((p) => String(p).endsWith(':4000'))).toBe(true);
  });

  it('depends only on services it defines, and needs the dev-only vendor nowhere', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, options] of Object.entries(dependsOn(service))) {
        expect({ name, dependency, defined: dependency in services }).toEqual({ name, dependency, defined: true });
        // A hard dependency on a profile service would make `docker compose up` (no profile) refuse to start.
        if (services[dependency]?.profiles?.length && !service.profiles?.length) expect({ name, dependency, required: options.required }).toEqual({ name, dependency, required: false });
      }
    }
  });

  it('starts the fake PMS vendor only in the dev profile, and everything else without a profile', () => {
    expect(services.vendor!.profiles).toEqual(['dev']);
    for (const [name, service] of Object.entries(services)) if (name !== 'vendor') expect({ name, profiles: service.profiles }).toEqual({ name, profiles: undefined });
  });

  it('points every service at the others by service name, and listens on all interfaces', () => {
    const gateway = environmentOf(services.gateway!);
    for (const name of SUBGRAPHS) expect(gateway[subgraphUrlVar(name)]).toBe(`http://${name}:${DEFAULT_PORTS[name]}/graphql`);
    expect(environmentOf(services.booking!)).toMatchObject({ HOTEL_URL: 'http://hotel:4001/graphql', AUDIT_URL: 'http://audit:4004/graphql' });
    expect(environmentOf(services.pms!)).toMatchObject({ BOOKING_URL: 'http://booking:4002/graphql' });
    expect(interpolateWithDefaults(environmentOf(services.pms!).PMS_VENDOR_URL!)).toBe('http://vendor:4010');
    for (const name of [...NODE_SERVICES, 'migrate']) {
      const env = environmentOf(services[name]!);
      expect({ name, host: env.HOST, nodeEnv: env.NODE_ENV }).toEqual({ name, host: '0.0.0.0', nodeEnv: '${NODE_ENV:-development}' });
      if (name !== 'vendor' && name !== 'gateway') {
        expect(interpolateWithDefaults(env.DATABASE_URL ?? '')).toMatch(/^postgresql:\/\/[^@]+@postgres:5432\/\w+$/);
        expect(env.REDIS_URL).toBe('redis://redis:6379');
      }
    }
  });

  it("gives each service an environment that passes that service's own config validation", () => {
    const resolved = (name: string) =>
      Object.fromEntries(Object.entries(environmentOf(services[name]!)).map(([k, v]) => [k, interpolateWithDefaults(v)]));
    const loaders = { hotel: loadHotelConfig, booking: loadBookingConfig, pms: loadPmsConfig, audit: loadAuditConfig, migrate: loadHotelConfig };
    for (const [name, load] of Object.entries(loaders)) {
      const config = load(resolved(name));
      expect({ name, port: config.port, production: config.production }).toEqual({ name, port: DEFAULT_PORTS[name === 'migrate' ? 'hotel' : (name as SubgraphName)], production: false });
    }
    const gateway = loadGatewayConfig(resolved('gateway'));
    expect(gateway.port).toBe(DEFAULT_PORTS.gateway);
    expect(gateway.urlOverrides).toEqual({
      hotel: 'http://hotel:4001/graphql',
      booking: 'http://booking:4002/graphql',
      pms: 'http://pms:4003/graphql',
      audit: 'http://audit:4004/graphql',
    });
    expect(() => parseConfig('vendor', baseConfigShape, resolved('vendor'))).not.toThrow();
  });

  it('sets no variable in a Node service that no code reads (catches typos)', () => {
    const known = new Set([...configSchemaVariables(), ...variablesReadInSources().keys()]);
    for (const name of [...NODE_SERVICES, 'migrate']) {
      for (const variable of Object.keys(environmentOf(services[name]!))) expect({ name, variable, read: known.has(variable) }).toEqual({ name, variable, read: true });
    }
  });

  it('uses only variables that .env.example documents', () => {
    const documented = documentedVariables();
    const referenced = new Set(stringsIn(compose).flatMap((value) => [...value.matchAll(INTERPOLATION)].map((m) => m[1]!)));
    for (const name of NODE_SERVICES) for (const variable of Object.keys(environmentOf(services[name]!))) referenced.add(variable);
    for (const variable of Object.keys(environmentOf(services.migrate!))) referenced.add(variable);
    expect([...referenced].filter((v) => !documented.has(v))).toEqual([]);
    expect(referenced.size).toBeGreaterThan(10);
  });

  // A clearly named skip, never a silent pass: the parser check above is ours; Compose's own is stricter.
  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 15_000 });
  const composeAvailable = composeCli.status === 0;
  (composeAvailable ? it : it.skip)(
    composeAvailable ? '`docker compose config -q` accepts the file, with and without the dev profile' : '`docker compose config -q` (SKIPPED: no Docker Compose v2 client on this machine)',
    () => {
      for (const args of [['compose', 'config', '-q'], ['compose', '--profile', 'dev', 'config', '-q']]) {
        const result = spawnSync('docker', args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
        expect({ args: args.join(' '), status: result.status, stderr: result.stderr }).toEqual({ args: args.join(' '), status: 0, stderr: '' });
      }
    },
  );
});

describe('.env.example', () => {
  it('documents every variable the config schemas accept', () => {
    const documented = documentedVariables();
    const accepted = [...configSchemaVariables()];
    expect(accepted).toEqual(expect.arrayContaining(['NODE_ENV', 'DATABASE_URL', 'REDIS_URL', 'PMS_VENDOR_URL', 'BODY_LIMIT', 'VENDOR_PORT', 'AUDIT_URL']));
    expect(accepted.filter((v) => !documented.has(v))).toEqual([]);
  });

  it('documents every variable the sources read (services, scripts, test setup)', () => {
    const documented = documentedVariables();
    const undocumented = [...variablesReadInSources()].filter(([name]) => !documented.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(undocumented).toEqual([]);
  });

  it('explains each variable on the line above it and sets nothing by default', () => {
    const lines = read('.env.example').split('\n');
    lines.forEach((line, i) => {
      if (!/^\s*#?\s*[A-Z][A-Z0-9_]*=/.test(line)) return;
      expect({ line, commented: line.startsWith('# ') }).toEqual({ line, commented: true });
      const above = lines[i - 1] ?? '';
      expect({ line, above, explained: above.startsWith('#') && !/^#\s*[A-Z][A-Z0-9_]*=/.test(above) }).toEqual({ line, above, explained: true });
    });
  });
});

describe('Dockerfile', () => {
  // Instructions only: comments may mention anything.
  const dockerfile = read('Dockerfile').split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');
  const stages = dockerfile.split(/^(?=FROM\s)/m).filter((s) => s.startsWith('FROM'));
  const runtime = stages.at(-1) ?? '';

  it('starts the gateway by default, with the Node flags npm start uses', () => {
    const cmd = JSON.parse(/^CMD\s+(\[.*\])\s*$/m.exec(runtime)?.[1] ?? '[]') as string[];
    expect(cmd).toEqual(['node', ...(SERVICE_NODE_ARGS.gateway ?? []), builtEntry('gateway')]);
  });

  it('builds the services (npm run build) before the dev dependencies are pruned', () => {
    const build = stages[0]!;
    const buildAt = build.search(/^RUN npm run build\b(?!:)/m);
    const pruneAt = build.search(/^RUN npm prune\b/m);
    expect({ buildAt: buildAt >= 0, beforePrune: buildAt < pruneAt }).toEqual({ buildAt: true, beforePrune: true });
  });

  it('builds in one stage and runs from another, on node:20-bookworm-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/node:20-bookworm-slim/);
    expect(runtime).toMatch(/^COPY --from=build\b/m);
  });

  it('runs the services as the non-root user node, in production mode by default', () => {
    expect(runtime).toMatch(/^USER node\s*$/m);
    expect(runtime).toMatch(/^ENV[\s\S]*\bNODE_ENV=production\b/m);
    const exposed = (/^EXPOSE\s+(.+)$/m.exec(runtime)?.[1] ?? '').split(/\s+/).map(Number);
    expect(exposed.sort()).toEqual(Object.values(DEFAULT_PORTS).sort());
  });

  it('installs dev dependencies in the build stage (the Prisma CLI generates the client there)', () => {
    const build = stages[0]!;
    expect(build).not.toMatch(/NODE_ENV=production/);
    expect(build).toMatch(/npm (ci|install)/);
  });

  it('.dockerignore keeps dependencies, local data, secrets and git history out of the build context', () => {
    const ignored = new Set(read('.dockerignore').split('\n').map((l) => l.trim().replace(/^\/|\/$/g, '')).filter((l) => l && !l.startsWith('#')));
    for (const entry of ['node_modules', '.data', '.git', 'generated', 'test-artifacts', 'bench/results', '.env']) {
      expect({ entry, ignored: ignored.has(entry) }).toEqual({ entry, ignored: true });
    }
  });
});
