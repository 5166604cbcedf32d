import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_PORTS, servicePort } from '../../lib/src/service-config.js';
import { projectPath } from '../../lib/src/project-root.js';
import { builtEntry, buildServices } from './build.js';

export type ServiceName = keyof typeof DEFAULT_PORTS;

/**
 * Node flags a service always runs with (also in the Dockerfile and docker-compose.yml). The gateway's
 * heap is kept small: left alone, V8 let its old space grow to ~220 MB for ~100 MB of live data under
 * load (RSS ~500 MB); capped (old space 256 MB, semi-spaces 8 MB) it collects sooner, RSS stays ~300 MB,
 * at no throughput cost the benchmark can tell from noise (docs/performance.md "Memory").
 */
export const SERVICE_NODE_ARGS: Partial<Record<ServiceName, string[]>> = { gateway: ['--max-old-space-size=256', '--max-semi-space-size=8'] };
const HEALTH_PATH: Record<ServiceName, string> = {
  vendor: '/health',
  hotel: '/health/ready',
  booking: '/health/ready',
  pms: '/health/ready',
  audit: '/health/ready',
  gateway: '/health/ready',
};

export interface StackOptions {
  /** Environment shared by every process (DATABASE_URL, REDIS_URL, LOG_LEVEL, …). */
  env: Record<string, string | undefined>;
  ports?: Partial<Record<ServiceName, number>>;
  host?: string;
  /** Where each service's output goes: one file per service under this folder, else `onLine`. */
  logDir?: string;
  onLine?(service: ServiceName, line: string): void;
  readyTimeoutMs?: number;
  /** Extra Node flags per service, before the entry (e.g. `--cpu-prof` for the benchmark's profiles). */
  nodeArgs?: Partial<Record<ServiceName, string[]>>;
  /** Another built entry for a service (e.g. the benchmark's clustered gateway), else `dist/services/<name>.mjs`. */
  entries?: Partial<Record<ServiceName, string>>;
}

export interface ServiceProcess {
  name: ServiceName;
  url: string;
  child: ChildProcess;
}

export interface Stack {
  /** Base URL (no path) of every service. */
  urls: Record<ServiceName, string>;
  /** The env each process was started with (for starting extra processes alike). */
  envFor(name: ServiceName): Record<string, string>;
  start(name: ServiceName, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** The running process of a service (its `child.pid` for CPU / memory readings), if started. */
  service(name: ServiceName): ServiceProcess | undefined;
  stopService(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the services (dist/services, scripts/lib/build.ts), then starts the federation as real processes
 * — fake PMS vendor, four subgraphs, then the gateway — each as `node dist/services/<name>.mjs`, and waits
 * until each answers its readiness probe. Used by `npm start`, the end-to-end tests and the benchmark.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const host = options.host ?? '127.0.0.1';
  const envPorts = Object.fromEntries((Object.keys(DEFAULT_PORTS) as ServiceName[]).map((n) => [n, servicePort(n, { ...process.env, ...options.env })]));
  const ports = { ...envPorts, ...options.ports } as Record<ServiceName, number>;
  const base = (name: ServiceName) => `http://${host}:${ports[name]}`;
  const urls = Object.fromEntries((Object.keys(ports) as ServiceName[]).map((n) => [n, base(n)])) as Record<ServiceName, string>;
  const running = new Map<ServiceName, ServiceProcess>();
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });

  const envFor = (name: ServiceName): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
    Object.assign(env, {
      HOST: host,
      GATEWAY_PORT: String(ports.gateway),
      HOTEL_PORT: String(ports.hotel),
      BOOKING_PORT: String(ports.booking),
      PMS_PORT: String(ports.pms),
      AUDIT_PORT: String(ports.audit),
      VENDOR_PORT: String(ports.vendor),
      HOTEL_URL: `${base('hotel')}/graphql`,
      BOOKING_URL: `${base('booking')}/graphql`,
      PMS_URL: `${base('pms')}/graphql`,
      AUDIT_URL: `${base('audit')}/graphql`,
      PMS_VENDOR_URL: base('vendor'),
    });
    void name;
    return env;
  };

  const start = async (name: ServiceName, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> => {
    const args = [...(SERVICE_NODE_ARGS[name] ?? []), ...(options.nodeArgs?.[name] ?? []), projectPath(options.entries?.[name] ?? builtEntry(name))];
    const env = { ...envFor(name), ...extraEnv };
    let child: ChildProcess;
    let recent: () => string[];
    if (options.logDir) {
      // The service writes its log file itself (appending): no process in between reads and copies
      // every line (for the benchmark, that process would be the load generator's).
      const file = path.join(options.logDir, `${name}.log`);
      child = spawnNodeLogged(args, env, file);
      recent = () => readFileSync(file, 'utf8').trimEnd().split('\n').slice(-20);
    } else {
      child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      recent = () => lines;
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          if (lines.length > 20) lines.shift();
          options.onLine?.(name, line);
        });
      }
    }
    const service = { name, url: urls[name], child };
    running.set(name, service);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before it was ready:\n${recent().join('\n')}`))),
    );
    await Promise.race([waitReady(`${urls[name]}${HEALTH_PATH[name]}`, options.readyTimeoutMs ?? 60_000), exited]);
    return service;
  };

  const stopService = async (name: ServiceName): Promise<void> => {
    const service = running.get(name);
    running.delete(name);
    if (!service || service.child.exitCode !== null || service.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => service.child.kill('SIGKILL'), 10_000);
      service.child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      service.child.kill('SIGTERM');
    });
  };

  const stop = async () => {
    await stopService('gateway');
    await Promise.all([...running.keys()].map(stopService));
  };

  // Always from the current sources: the services run as compiled JavaScript (scripts/lib/build.ts).
  await buildServices();
  try {
    await Promise.all((['vendor', 'hotel', 'booking', 'pms', 'audit'] as const).map((n) => start(n)));
    await start('gateway');
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls, envFor, start, service: (name) => running.get(name), stopService, stop };
}

/**
 * `node <args>` with stdout and stderr appended to `logFile` by the child itself (its own file
 * descriptor): no process in between reads and copies every line.
 */
export function spawnNodeLogged(args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(process.execPath, args, { env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

export async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}
