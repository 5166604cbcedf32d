import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { gql } from './support.js';
import { TEST_PORT_BASE } from '../setup/state.js';

/**
 * The README's run command on a machine without PostgreSQL or Redis configured: `npm start` must bring
 * up an embedded PostgreSQL, migrate, seed, and serve the federation — and Ctrl-C must stop it all.
 */
const dataDir = mkdtempSync(path.join(tmpdir(), 'innkeep-start-'));
// As root, PostgreSQL runs as the `postgres` user, which must be able to enter the folder.
chmodSync(dataDir, 0o755);
const b = TEST_PORT_BASE + 10_000;
const ports = { GATEWAY_PORT: `${b}`, HOTEL_PORT: `${b + 1}`, BOOKING_PORT: `${b + 2}`, PMS_PORT: `${b + 3}`, AUDIT_PORT: `${b + 4}`, VENDOR_PORT: `${b + 10}` };
const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}/graphql`;
const QUERY = `{ hotels { name rooms { number roomType { name } } bookings(first: 3) { nodes { reference guest { name } room { number } } } pmsConnection { vendor } } }`;

function npmStart() {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ports, EMBEDDED_PG_DIR: path.join(dataDir, 'pg'), EMBEDDED_PG_PORT: String(54341 + TEST_PORT_BASE - 14000), LOG_FORMAT: 'json' };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'HOTEL_URL', 'BOOKING_URL', 'PMS_URL', 'AUDIT_URL', 'PMS_VENDOR_URL', 'NODE_ENV']) delete env[name];
  // Own process group, so the test can do what a terminal's Ctrl-C does: SIGINT to the whole group.
  const child = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const up = new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (output.includes('Innkeep is up')) {
        clearInterval(timer);
        resolve(Date.now() - started);
      } else if (Date.now() - started > 90_000 || child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start did not come up within 90 s:\n${output.slice(-3000)}`));
      }
    }, 200);
  });
  /** Ctrl-C, then wait until no process of the group is left (services, embedded PostgreSQL, npm). */
  const stop = async (): Promise<boolean> => {
    process.kill(-child.pid!, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        process.kill(-child.pid!, 0);
      } catch {
        return true; // ESRCH: the whole group is gone
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  };
  return { up, stop, output: () => output };
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe('npm start (no DATABASE_URL, no REDIS_URL)', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('brings up the whole federation with demo data within 90 s, stops everything on Ctrl-C, and reuses the data on a second start', async () => {
    const first = npmStart();
    const firstMs = await first.up;
    const { data, errors } = await gql<any>(QUERY, {}, { url: gateway, as: 'admin@innkeep.test' });
    expect(errors).toEqual([]);
    expect(data.hotels.map((h: any) => h.name).sort()).toEqual(['Alpine Lodge', 'Grand Harbor Hotel']);
    expect(data.hotels[0].bookings.nodes[0].guest.name).toEqual(expect.any(String));
    expect(data.hotels[0].pmsConnection.vendor).toBe('mews');
    expect(first.output()).toContain('Loaded demo data: grand-harbor, alpine-lodge');
    expect(first.output()).toContain(`/graphql`);
    // It says how to log in from Sandbox: the demo users and their password.
    expect(first.output()).toContain('admin@innkeep.test');
    expect(first.output()).toContain('innkeep-demo');

    expect(await first.stop()).toBe(true);
    for (const port of Object.values(ports)) expect(await answers(`http://127.0.0.1:${port}/`)).toBe(false);

    const second = npmStart();
    const secondMs = await second.up;
    expect(second.output()).toContain('Demo data already present.');
    expect((await gql<any>(`{ hotels { slug } }`, {}, { url: gateway })).data.hotels).toHaveLength(2);
    expect(await second.stop()).toBe(true);
    console.log(`npm start: first ${(firstMs / 1000).toFixed(1)} s, second ${(secondMs / 1000).toFixed(1)} s`);
  }, 240_000);
});
