import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { env } from '../e2e/support.js';

/** Starts a service entry point with `NODE_ENV=production` and returns its exit code and output. */
function startInProduction(entry: string, overrides: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const good: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: env('INNKEEP_DATABASE_URL'),
    REDIS_URL: 'rediss://:a-strong-redis-password@127.0.0.1:6380',
    INTERNAL_TOKEN_SECRET: 'prod-internal-secret-0123456789abcdef0123456789',
    AUTH_KEY_ENCRYPTION_SECRET: 'prod-key-encryption-secret-0123456789abcdef012345',
    CORS_ORIGINS: 'https://app.example.com',
    GATEWAY_PORT: '0',
    HOTEL_PORT: '0',
    LOG_LEVEL: 'error',
  };
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries({ ...good, ...overrides })) if (v !== undefined) childEnv[k] = v;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const GATEWAY = 'gateway/src/main.ts';
const SUBGRAPH = 'subgraphs/hotel/src/main.ts';

describe('production start-up refuses unsafe configuration, naming it', () => {
  const cases: Array<[string, string, Record<string, string | undefined>, RegExp]> = [
    ['gateway', 'Redis without TLS', { REDIS_URL: 'redis://:pw@127.0.0.1:6379' }, /REDIS_URL must use TLS/],
    ['gateway', 'Redis without a password', { REDIS_URL: 'rediss://127.0.0.1:6380' }, /REDIS_URL has no password/],
    ['gateway', 'no Redis at all', { REDIS_URL: undefined }, /REDIS_URL is not set/],
    ['gateway', 'no database URL', { DATABASE_URL: undefined }, /DATABASE_URL/],
    ['gateway', 'the development key-encryption secret', { AUTH_KEY_ENCRYPTION_SECRET: undefined }, /AUTH_KEY_ENCRYPTION_SECRET is the development default/],
    ['gateway', 'the development internal-token secret', { INTERNAL_TOKEN_SECRET: undefined }, /INTERNAL_TOKEN_SECRET is the development default/],
    ['gateway', 'the direct-subgraph flag', { SUBGRAPH_ALLOW_DIRECT: 'true' }, /SUBGRAPH_ALLOW_DIRECT=true .* refused in production/],
    ['gateway', 'no CORS allow-list', { CORS_ORIGINS: undefined }, /CORS_ORIGINS is not set/],
    ['hotel subgraph', 'the development internal-token secret', { INTERNAL_TOKEN_SECRET: undefined }, /INTERNAL_TOKEN_SECRET is the development default/],
    ['hotel subgraph', 'the direct-subgraph flag', { SUBGRAPH_ALLOW_DIRECT: 'true' }, /SUBGRAPH_ALLOW_DIRECT=true .* refused in production/],
    ['hotel subgraph', 'Redis without TLS', { REDIS_URL: 'redis://:pw@127.0.0.1:6379' }, /REDIS_URL must use TLS/],
  ];

  it.each(cases)('%s refuses %s', async (service, _label, overrides, message) => {
    const { code, output } = await startInProduction(service === 'gateway' ? GATEWAY : SUBGRAPH, overrides);
    expect(code).toBe(1);
    expect(output).toMatch(message);
  });

  it('the gateway refuses to sign with development keys (no production signing key in the database)', async () => {
    const { code, output } = await startInProduction(GATEWAY, {});
    expect(code).toBe(1);
    expect(output).toMatch(/signing key/i);
  });
});
