/**
 * Critical-error notifications (lib/src/alerts.ts) against a real local webhook receiver: each body
 * format, the per-kind interval, no PII from error messages, and the Apollo plugin that fires on an
 * unexpected error with the request's correlation ID. tests/chaos/alerts.test.ts shows a real audit
 * subgraph process paging on a tampered chain.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import pino from 'pino';
import { AlertNotifier, configureAlerts, type AlertConfig } from '../../lib/src/alerts.js';
import { logUnexpectedErrorsPlugin } from '../../lib/src/errors.js';
import { eventually } from '../e2e/support.js';

const logger = pino({ level: 'silent' });
let receiver: http.Server;
let url = '';
let received: Array<{ path: string; body: any }> = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise((resolve) => receiver.close(resolve)));
beforeEach(() => {
  received = [];
});

const config = (overrides: Partial<AlertConfig> = {}): AlertConfig => ({ ALERT_WEBHOOK_URL: url, ALERT_WEBHOOK_FORMAT: 'generic', ALERT_MIN_INTERVAL_SECONDS: 60, ...overrides });

describe('critical alerts', () => {
  it('generic JSON: service, kind, code, correlation ID and facts', async () => {
    new AlertNotifier('booking', config(), logger).critical({ kind: 'unexpected_error', summary: 'Unexpected error', code: 'TypeError', correlationId: 'corr-1', details: { path: 'createBooking' } });
    await eventually(async () => received.length === 1);
    expect(received[0]!.body).toMatchObject({ severity: 'critical', summary: 'Unexpected error', service: 'booking', kind: 'unexpected_error', code: 'TypeError', correlationId: 'corr-1', path: 'createBooking', suppressedSinceLast: 0 });
  });

  it('slack and pagerduty bodies', async () => {
    new AlertNotifier('audit', config({ ALERT_WEBHOOK_FORMAT: 'slack' }), logger).critical({ kind: 'audit_chain_invalid', summary: '1 chain invalid' });
    new AlertNotifier('audit', config({ ALERT_WEBHOOK_FORMAT: 'pagerduty', ALERT_PAGERDUTY_ROUTING_KEY: 'rk-123' }), logger).critical({ kind: 'audit_chain_invalid', summary: '1 chain invalid' });
    await eventually(async () => received.length === 2);
    const slack = received.find((r) => 'text' in r.body)!.body;
    expect(slack.text).toContain('[audit] 1 chain invalid');
    const pd = received.find((r) => 'routing_key' in r.body)!.body;
    expect(pd).toMatchObject({ routing_key: 'rk-123', event_action: 'trigger', dedup_key: 'innkeep:audit:audit_chain_invalid:', payload: { severity: 'critical', source: 'innkeep-audit', class: 'audit_chain_invalid' } });
  });

  it('one per kind and code per interval; the next one says how many were held back', async () => {
    const notifier = new AlertNotifier('hotel', config({ ALERT_MIN_INTERVAL_SECONDS: 1 }), logger);
    for (let i = 0; i < 5; i++) notifier.critical({ kind: 'unexpected_error', summary: 'x', code: 'TypeError' });
    notifier.critical({ kind: 'unexpected_error', summary: 'x', code: 'RangeError' });
    await eventually(async () => received.length === 2);
    await new Promise((r) => setTimeout(r, 1100));
    notifier.critical({ kind: 'unexpected_error', summary: 'x', code: 'TypeError' });
    await eventually(async () => received.length === 3);
    expect(received.map((r) => [r.body.code, r.body.suppressedSinceLast])).toEqual([
      ['TypeError', 0],
      ['RangeError', 0],
      ['TypeError', 4],
    ]);
  });

  it('an unreachable webhook is logged, never thrown', async () => {
    const notifier = new AlertNotifier('hotel', config({ ALERT_WEBHOOK_URL: 'http://127.0.0.1:1/nothing' }), logger);
    expect(() => notifier.critical({ kind: 'unexpected_error', summary: 'x' })).not.toThrow();
  });

  it('an unexpected resolver error pages with the correlation ID and without the error message (it may hold PII)', async () => {
    configureAlerts('booking', config(), logger);
    const server = new ApolloServer<{ log: typeof logger; correlationId: string }>({
      typeDefs: 'type Query { boom: String }',
      resolvers: { Query: { boom: () => { throw new TypeError('cannot read guest jane.doe@example.test'); } } },
      plugins: [logUnexpectedErrorsPlugin()],
    });
    await server.start();
    try {
      await server.executeOperation({ query: '{ boom }' }, { contextValue: { log: logger, correlationId: 'corr-boom-1' } });
    } finally {
      await server.stop();
    }
    await eventually(async () => received.length === 1);
    expect(received[0]!.body).toMatchObject({ kind: 'unexpected_error', code: 'TypeError', correlationId: 'corr-boom-1', service: 'booking', path: 'boom' });
    expect(JSON.stringify(received[0]!.body)).not.toContain('jane.doe');
  });
});
