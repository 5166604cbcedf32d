/**
 * `npm run bench` — what Innkeep's gateway costs next to a bare Apollo gateway (issue "Fast").
 *
 * Starts the real stack on its own ports (PostgreSQL database `innkeep_bench_http`, Redis, the four
 * subgraphs, the fake PMS vendor, the gateway; base port BENCH_PORT_BASE = 15100), plus a BARE
 * `@apollo/gateway` process (bench/bare-gateway.ts, port base + 20) on the same supergraph and the same
 * subgraph processes. Then, for each query, BENCH_ROUNDS interleaved rounds (a, b, c, a, b, c, …) of
 * BENCH_DURATION seconds of autocannon load with BENCH_CONNECTIONS connections, against:
 *   a  the Innkeep gateway, every protection on (JWT of a demo user, shield, limits, breakers, info logs);
 *   b  the bare gateway (its only addition: an internal token on every upstream fetch);
 *   c  the owning subgraph directly (single-subgraph operations only), with an internal token.
 * Per target and round: req/s, latency p50/p99, non-2xx / transport errors / GraphQL errors, CPU ms per
 * request of the target process and of the subgraphs + vendor together (/proc/<pid>/stat), peak RSS of
 * the target (/proc/<pid>/status, polled). Printed as tables (medians of rounds; ratios a/b and a/c with
 * their min–max over rounds) and written to bench/results/http-<timestamp>.json.
 * Figures, never pass/fail. The load generator runs in this process, on the same cores as the stack.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { decodeJwt } from 'jose';
import { principalFromClaims } from '../gateway/src/auth/claims.js';
import { DEVELOPMENT_INTERNAL_SECRET, InternalTokenSigner } from '../lib/src/internal-token.js';
import { projectPath } from '../lib/src/project-root.js';
import { buildBundles, builtEntry } from '../scripts/lib/build.js';
import { spawnNodeLogged, type ServiceName, type ServiceProcess, type Stack } from '../scripts/lib/stack.js';
import { BENCH_HOTEL, login, post, prepareDatabase, startBenchStack } from './lib.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
/** Requests per second over all connections; unset = as fast as the target answers (saturation). */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 15100);
/** A folder: the Innkeep and bare gateways run with `--cpu-prof` and write their profiles there on exit. */
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const PROFILE_ARGS = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
/** Extra Node flags for the Innkeep gateway only (e.g. `--max-old-space-size=192` to try another heap cap). */
const GATEWAY_NODE_ARGS = process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
const ONLY = process.env.BENCH_QUERIES?.split(',').map((s) => s.trim()).filter(Boolean);
/** `node:cluster` workers of the Innkeep gateway behind its one port (bench/cluster-gateway.ts); 1 = the gateway alone, as deployed. */
const GATEWAY_WORKERS = Number(process.env.BENCH_GATEWAY_WORKERS ?? 1);
/** Which targets run (`a,b,c` by default): `BENCH_TARGETS=a` measures one gateway alone, e.g. to compare two builds of it. */
const TARGETS = (process.env.BENCH_TARGETS ?? 'a,b,c').split(',').map((s) => s.trim());
const DATABASE = 'innkeep_bench_http';
/** The processes behind a gateway: their CPU is the `subgraphs` column. */
const UPSTREAMS = ['hotel', 'booking', 'pms', 'audit', 'vendor'] as const;
const USER = 'manager@grand-harbor.test';
const HOTEL = BENCH_HOTEL;
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

type TargetName = 'a' | 'b' | 'c';
interface Target {
  name: TargetName;
  label: string;
  url: string;
  pid: number;
  authorization: string;
}
interface QueryCase {
  id: string;
  title: string;
  /** Subgraph that owns every field (target c), if any. */
  owner?: 'hotel' | 'booking';
  query: string;
  variables?: Record<string, unknown>;
  /** A fresh `variables` per request (mutations). */
  nextVariables?: () => Record<string, unknown>;
  /** Only run when BENCH_QUERIES names it. */
  optional?: boolean;
  /**
   * Every request from a new anonymous client: no Authorization on a, and a client IP of its own in
   * `X-Forwarded-For` (the gateway trusts its loopback proxy) on every target: public traffic of many
   * visitors. All anonymous callers are one identity for a's hotel cache and shared reads, whatever their IP.
   */
  newClientEachRequest?: boolean;
}
interface RoundResult {
  query: string;
  target: TargetName;
  round: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  graphqlErrors: number;
  cpuMsPerRequest: number;
  upstreamCpuMsPerRequest: number;
  /** The same, per service (hotel, booking, pms, audit, vendor): which one a target makes work harder. */
  upstreamCpuMsPerRequestByService: Record<string, number>;
  loadGeneratorCpuMsPerRequest: number;
  peakRssMB: number;
}

// ── /proc readings ───────────────────────────────────────────────────────────────────────────────────
/** The process and its descendants (a clustered gateway's workers: BENCH_GATEWAY_WORKERS). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children = children.concat(readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    // gone, or no children file: the process alone
  }
  return [pid, ...children.flatMap(processTree)];
}
/** A /proc file of a process, or '' if it exited between listing and reading. */
function procFile(pid: number, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return '';
  }
}
/** CPU time (utime + stime, fields 14 and 15 of stat) of the process and its descendants, in ms. */
function cpuMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => {
    const stat = procFile(p, 'stat');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return sum + (stat ? ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK : 0);
  }, 0);
}
/** Resident memory of the process and its descendants (a cluster: primary + workers, shared pages counted once per process). */
function rssKB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + Number(/VmRSS:\s+(\d+)/.exec(procFile(p, 'status'))?.[1] ?? 0), 0);
}

/**
 * Waits until the stack is quiet: the processes' CPU over the last 500 ms is under 10 % of one core (or
 * `maxMs` passed). A round can leave work behind — createBooking's audit outbox and PMS sync run after
 * the answer — and without this it would land in the next target's round and slow it down.
 */
async function settle(pids: number[], maxMs = 20_000): Promise<number> {
  const started = Date.now();
  const total = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  let last = total();
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = total();
    if (now - last < 50) break;
    last = now;
  }
  return Date.now() - started;
}

// ── stack and set-up ─────────────────────────────────────────────────────────────────────────────────
/** Like the stack's services, it runs compiled (no tsx hooks: a fair comparison) and writes its log file itself. */
async function startBareGateway(env: Record<string, string>, logFile: string): Promise<ChildProcess> {
  await buildBundles({ 'bare-gateway': 'bench/bare-gateway.ts' });
  return spawnNodeLogged([...PROFILE_ARGS, projectPath(builtEntry('bare-gateway'))], env, logFile);
}

/** Waits until `url` answers `{ __typename }` (the bare gateway has no health route). */
async function waitForGraphQL(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with code ${child.exitCode} (see .data/bench-logs)`);
    try {
      const { status } = await post(url, '', '{ __typename }');
      if (status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ── queries ──────────────────────────────────────────────────────────────────────────────────────────
const isoDay = (daysFromNow: number) => new Date(Date.now() + daysFromNow * 86_400_000).toISOString().slice(0, 10);

/** Unique (room, night) per call: one-night stays far in the future, never two on the same room and night. */
function bookingSlots(rooms: string[], firstDay: number) {
  let n = 0;
  return () => {
    const i = n++;
    const day = firstDay + Math.floor(i / rooms.length);
    return {
      input: {
        hotelId: HOTEL,
        roomId: rooms[i % rooms.length],
        checkIn: isoDay(day),
        checkOut: isoDay(day + 1),
        guest: { name: 'Bench Guest', email: 'bench@example.test' },
      },
    };
  };
}

function queryCases(rooms: string[]): QueryCase[] {
  const nextBooking = bookingSlots(rooms, 1000);
  const all: QueryCase[] = [
    {
      id: 'hotels',
      title: '1 single-subgraph list',
      owner: 'hotel',
      query: `query BenchHotels { hotels { id name slug rooms { id number floor } } }`,
    },
    {
      id: 'dashboard',
      title: '2 cross-subgraph dashboard',
      query: `query BenchDashboard($hotelId: ID!) { hotel(id: $hotelId) { id name bookings(first: 20) { totalCount nodes { id reference status checkIn checkOut guest { name } room { number status } pms { syncStatus } } } } }`,
      variables: { hotelId: HOTEL },
    },
    {
      id: 'page50',
      title: '3 50-booking page, entities',
      query: `query BenchPage($hotelId: ID!) { hotel(id: $hotelId) { bookings(first: 50) { nodes { reference guest { name } room { number roomType { name } } hotel { name } } } } }`,
      variables: { hotelId: HOTEL },
    },
    {
      id: 'createBooking',
      title: '4 createBooking mutation',
      owner: 'booking',
      query: `mutation BenchBook($input: CreateBookingInput!) { createBooking(input: $input) { id reference status } }`,
      nextVariables: nextBooking,
    },
    {
      // Not one of the issue's four: query 1 as public traffic of many visitors would see it, each one new
      // (see newClientEachRequest).
      id: 'hotelsNewClients',
      title: '1b single-subgraph list, a new anonymous client per request',
      owner: 'hotel',
      query: `query BenchHotels { hotels { id name slug rooms { id number floor } } }`,
      newClientEachRequest: true,
      optional: true,
    },
    {
      // Not one of the issue's four: the gateway's fixed cost per request (edge, auth, budget, Apollo
      // pipeline, logs, metrics) with no subgraph call at all — a gateway answers `__typename` itself.
      id: 'overhead',
      title: '0 gateway overhead: { __typename }, no subgraph call',
      query: `query BenchOverhead { __typename }`,
      optional: true,
    },
  ];
  return ONLY ? all.filter((q) => ONLY.includes(q.id)) : all.filter((q) => !q.optional);
}

// ── one load round ───────────────────────────────────────────────────────────────────────────────────
/** Client IPs handed out so far (newClientEachRequest): never reused within a run, or a's cache (60 s) would hit on a round's repeat. */
let newClients = 0;

async function loadRound(target: Target, q: QueryCase, seconds: number, watch: Record<string, number>) {
  const endpoint = new URL(target.url);
  let graphqlErrors = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(target.authorization ? { authorization: target.authorization } : {}) };
  const fixedBody = JSON.stringify({ query: q.query, variables: q.variables ?? {} });
  const next = q.nextVariables;
  let setupRequest: ((request: autocannon.Request) => autocannon.Request) | undefined;
  if (next) setupRequest = (request) => ({ ...request, body: JSON.stringify({ query: q.query, variables: next() }) });
  else if (q.newClientEachRequest) {
    setupRequest = (request) => {
      const n = ++newClients;
      return { ...request, headers: { ...request.headers, 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` } };
    };
  }
  const onResponse = (_status: number, body: string) => {
    if (body.includes('"errors"')) graphqlErrors++;
  };
  const cpuBefore = cpuMs(target.pid);
  const before = Object.fromEntries(Object.entries(watch).map(([name, pid]) => [name, cpuMs(pid)]));
  const selfBefore = process.cpuUsage();
  let peakKB = rssKB(target.pid);
  const poll = setInterval(() => {
    peakKB = Math.max(peakKB, rssKB(target.pid));
  }, 100);
  const result = await autocannon({
    url: endpoint.origin,
    connections: CONNECTIONS,
    duration: seconds,
    ...(RATE ? { overallRate: RATE } : {}),
    requests: [
      {
        method: 'POST',
        path: endpoint.pathname,
        headers,
        body: fixedBody,
        ...(setupRequest ? { setupRequest } : {}),
        onResponse,
      },
    ],
  });
  clearInterval(poll);
  peakKB = Math.max(peakKB, rssKB(target.pid));
  const self = process.cpuUsage(selfBefore);
  const cpu = cpuMs(target.pid) - cpuBefore;
  const requests = result.requests.total;
  const byService = Object.fromEntries(Object.entries(watch).map(([name, pid]) => [name, requests ? (cpuMs(pid) - before[name]!) / requests : NaN]));
  const upstream = Object.values(byService).reduce((sum, ms) => sum + ms, 0);
  return {
    requests,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    graphqlErrors,
    cpuMsPerRequest: requests ? cpu / requests : NaN,
    upstreamCpuMsPerRequest: upstream,
    upstreamCpuMsPerRequestByService: byService,
    loadGeneratorCpuMsPerRequest: requests ? (self.user + self.system) / 1000 / requests : NaN,
    peakRssMB: peakKB / 1024,
  };
}

// ── summaries ────────────────────────────────────────────────────────────────────────────────────────
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const spread = (xs: number[], digits = 2) => `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;

function summarise(results: RoundResult[], cases: QueryCase[]) {
  const perTarget: Array<Record<string, string | number>> = [];
  const ratios: Array<Record<string, string>> = [];
  const ratioJson: Array<Record<string, unknown>> = [];
  for (const q of cases) {
    const of = (t: TargetName) => results.filter((r) => r.query === q.id && r.target === t);
    for (const t of ['a', 'b', 'c'] as const) {
      const rows = of(t);
      if (!rows.length) continue;
      perTarget.push({
        query: q.id,
        target: t,
        'req/s': spread(rows.map((r) => r.rps), 0),
        'p50 ms': fmt(median(rows.map((r) => r.p50))),
        'p99 ms': fmt(median(rows.map((r) => r.p99))),
        'non2xx/err/gqlErr': `${sum(rows, 'non2xx')}/${sum(rows, 'errors')}/${sum(rows, 'graphqlErrors')}`,
        'CPU ms/req': fmt(median(rows.map((r) => r.cpuMsPerRequest)), 2),
        'subgraphs CPU ms/req': fmt(median(rows.map((r) => r.upstreamCpuMsPerRequest)), 2),
        'stack CPU ms/req': fmt(median(rows.map(stackCpu)), 2),
        'peak RSS MB': fmt(Math.max(...rows.map((r) => r.peakRssMB)), 0),
      });
    }
    for (const other of ['b', 'c'] as const) {
      const a = of('a');
      const o = of(other);
      if (!o.length) continue;
      const byRound = a.map((r) => [r, o.find((x) => x.round === r.round)!] as const).filter(([, x]) => x);
      const rps = byRound.map(([x, y]) => x.rps / y.rps);
      const p50 = byRound.map(([x, y]) => x.p50 / y.p50);
      // Whole-stack CPU (target + the other services): c's target is the subgraph that does the work itself.
      const cpu = byRound.map(([x, y]) => stackCpu(x) / stackCpu(y));
      ratios.push({ query: q.id, ratio: `a/${other}`, 'req/s': spread(rps), 'p50 latency': spread(p50), 'stack CPU/req': spread(cpu) });
      ratioJson.push({ query: q.id, ratio: `a/${other}`, rps: stats(rps), p50: stats(p50), cpuPerRequest: stats(cpu) });
    }
  }
  return { perTarget, ratios, ratioJson };
}
const stackCpu = (r: RoundResult) => r.cpuMsPerRequest + r.upstreamCpuMsPerRequest;
const sum = (rows: RoundResult[], key: 'non2xx' | 'errors' | 'graphqlErrors') => rows.reduce((s, r) => s + r[key], 0);
const stats = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs });

function printSummary(results: RoundResult[], cases: QueryCase[], settings: { rounds: number; durationSeconds: number; connections: number }) {
  const summary = summarise(results, cases);
  console.log(`\nPer target (median of ${settings.rounds} rounds of ${settings.durationSeconds} s, ${settings.connections} connections; req/s: median (min–max)):`);
  console.table(summary.perTarget);
  console.log('Ratios (per round, then median (min–max)): req/s > 1 = a is faster; p50 and stack CPU/req < 1 = a is cheaper');
  console.table(summary.ratios);
  return summary;
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────────
async function main() {
  const { url: databaseUrl, rooms } = await prepareDatabase(DATABASE);
  const logDir = path.resolve('.data/bench-logs');
  const secret = process.env.INTERNAL_TOKEN_SECRET ?? DEVELOPMENT_INTERNAL_SECRET;
  console.log(`Starting the stack …${GATEWAY_WORKERS > 1 ? ` (the gateway as ${GATEWAY_WORKERS} cluster workers)` : ''}`);
  if (GATEWAY_WORKERS > 1) await buildBundles({ 'cluster-gateway': 'bench/cluster-gateway.ts' });
  const stack: Stack = await startBenchStack({
    databaseUrl,
    portBase: PORT_BASE,
    runName: 'bench-http',
    env: { INTERNAL_TOKEN_SECRET: secret, ACCESS_TOKEN_TTL_SECONDS: '3600', ...(GATEWAY_WORKERS > 1 ? { GATEWAY_WORKERS: String(GATEWAY_WORKERS) } : {}) },
    nodeArgs: { gateway: [...GATEWAY_NODE_ARGS, ...PROFILE_ARGS] },
    ...(GATEWAY_WORKERS > 1 ? { entries: { gateway: builtEntry('cluster-gateway') } } : {}),
  });
  const services = Object.fromEntries((['gateway', 'hotel', 'booking', 'pms', 'audit', 'vendor'] as const).map((n) => [n, stack.service(n)!])) as Record<ServiceName, ServiceProcess>;
  const bareUrl = `http://127.0.0.1:${PORT_BASE + 20}/graphql`;
  let bare: ChildProcess | undefined;
  const results: RoundResult[] = [];
  let cases: QueryCase[] = [];
  try {
    const jwt = await login(stack.urls.gateway, USER);
    const principal = principalFromClaims(decodeJwt(jwt), { roles: 'roles', hotelIds: 'hotelIds' });
    console.log('Starting the bare gateway …');
    bare = await startBareGateway({ ...stack.envFor('gateway'), BARE_PORT: String(PORT_BASE + 20), BARE_PRINCIPAL: JSON.stringify(principal) }, path.join(logDir, 'bare-gateway.log'));
    await waitForGraphQL(bareUrl, bare, 60_000);

    const gatewayGraphql = `${stack.urls.gateway}/graphql`;
    // 60 more bookings (dates in ~1 year) so the 50-booking page is full.
    const seedBooking = bookingSlots(rooms, 365);
    for (let i = 0; i < 60; i++) {
      const { body } = await post(gatewayGraphql, `Bearer ${jwt}`, `mutation($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, seedBooking());
      if (!body.data?.createBooking?.id) throw new Error(`seeding bookings: ${JSON.stringify(body.errors)}`);
    }

    // Direct calls carry an internal token as the gateway would sign it (long-lived: it outlasts the run).
    const direct = new InternalTokenSigner(secret, 'gateway', 3 * 3600);
    const directAuth = async (audience: string) => `Bearer ${await direct.sign(principal, audience, crypto.randomUUID())}`;
    const targetsFor = async (q: QueryCase): Promise<Target[]> => {
      const all: Target[] = [
        { name: 'a', label: 'Innkeep gateway', url: gatewayGraphql, pid: services.gateway.child.pid!, authorization: q.newClientEachRequest ? '' : `Bearer ${jwt}` },
        { name: 'b', label: 'bare @apollo/gateway', url: bareUrl, pid: bare!.pid!, authorization: '' },
        ...(q.owner
          ? [{ name: 'c' as const, label: `${q.owner} subgraph direct`, url: `${stack.urls[q.owner]}/graphql`, pid: services[q.owner].child.pid!, authorization: await directAuth(q.owner) }]
          : []),
      ];
      return all.filter((t) => TARGETS.includes(t.name));
    };

    cases = queryCases(rooms);
    for (const q of cases) {
      const targets = await targetsFor(q);
      // Sanity: every target answers without errors, and the same data for queries.
      const answers: string[] = [];
      for (const t of targets) {
        const { status, body } = await post(t.url, t.authorization, q.query, q.nextVariables?.() ?? q.variables);
        if (status !== 200 || body.errors?.length) throw new Error(`${q.id} on ${t.name} (${t.label}): HTTP ${status} ${JSON.stringify(body.errors ?? body)}`);
        answers.push(JSON.stringify(body.data));
      }
      if (!q.nextVariables && answers.some((a) => a !== answers[0])) console.warn(`! ${q.id}: the targets answer different data`);

      console.log(`\n${q.title} — targets: ${targets.map((t) => `${t.name} = ${t.label}`).join(', ')}`);
      for (const t of targets) await loadRound(t, q, WARMUP, {}); // warm-up: JIT, plan cache, pools
      const stackPids = [...new Set([...targets.map((t) => t.pid), ...UPSTREAMS.map((name) => services[name].child.pid!)])];
      for (let round = 1; round <= ROUNDS; round++) {
        // The order rotates each round (a b c, b c a, c a b, …) so no target always follows the same one.
        const shift = (round - 1) % targets.length;
        for (const t of [...targets.slice(shift), ...targets.slice(0, shift)]) {
          const waited = await settle(stackPids);
          if (waited > 1000) console.log(`  (waited ${(waited / 1000).toFixed(1)} s for the stack to go quiet)`);
          // CPU of every other process of the stack that serves the request: subgraphs and vendor.
          const watch: Record<string, number> = {};
          for (const name of UPSTREAMS) if (!(t.name === 'c' && name === q.owner)) watch[name] = services[name].child.pid!;
          const r = await loadRound(t, q, DURATION, watch);
          results.push({ query: q.id, target: t.name, round, ...r });
          console.log(
            `  round ${round} ${t.name}: ${fmt(r.rps, 0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non2xx ${r.non2xx}, errors ${r.errors}, graphql errors ${r.graphqlErrors}, CPU ${fmt(r.cpuMsPerRequest, 2)} ms/req (subgraphs ${fmt(r.upstreamCpuMsPerRequest, 2)}: ${Object.entries(r.upstreamCpuMsPerRequestByService).map(([n, ms]) => `${n} ${fmt(ms, 2)}`).join(', ')}), RSS ≤ ${fmt(r.peakRssMB, 0)} MB`,
          );
        }
      }
    }
  } finally {
    if (bare) await stopChild(bare);
    await stack.stop();
  }

  const { ratioJson } = printSummary(results, cases, { rounds: ROUNDS, durationSeconds: DURATION, connections: CONNECTIONS });
  const dir = path.resolve('bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `http-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        when: new Date().toISOString(),
        node: process.version,
        cpus: (await import('node:os')).cpus().length,
        settings: { durationSeconds: DURATION, connections: CONNECTIONS, rounds: ROUNDS, warmupSeconds: WARMUP, portBase: PORT_BASE, ratePerSecond: RATE ?? null },
        targets: { a: 'Innkeep gateway (all protections)', b: 'bare @apollo/gateway (bench/bare-gateway.ts)', c: 'owning subgraph directly' },
        queries: cases.map(({ id, title, owner, query }) => ({ id, title, owner, query })),
        rounds: results,
        ratios: ratioJson,
      },
      null,
      2,
    ),
  );
  console.log(`\nWritten to ${path.relative(process.cwd(), file)}`);
}

/** `npm run bench -- --summary bench/results/http-….json` re-prints the tables of an earlier run. */
const summaryFile = process.argv.indexOf('--summary');
const run =
  summaryFile >= 0
    ? async () => {
        const saved = JSON.parse(readFileSync(process.argv[summaryFile + 1]!, 'utf8')) as { settings: { rounds: number; durationSeconds: number; connections: number }; queries: QueryCase[]; rounds: RoundResult[] };
        printSummary(saved.rounds, saved.queries, saved.settings);
      }
    : main;

run().catch((error) => {
  console.error(error);
  process.exit(1);
});
