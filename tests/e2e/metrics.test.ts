/**
 * /metrics after real traffic: each metric family operators rely on (docs/operations.md, the alert rules
 * and the dashboard in ops/) is there with sane values — requests and latency per operation, errors by
 * code, subgraph fetch durations, breaker state, authorization refusals, DB pool and Redis, event-loop lag,
 * outbox backlog, the audit stream and chain check, and the business counters.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { metric } from '../chaos/support.js';
import { createOwnHotel, env, eventually, gql, inDays } from './support.js';

const tag = Date.now().toString(36);
const scrape = async (service: string) => (await fetch(new URL('/metrics', env(`INNKEEP_${service}_URL`)))).text();
let hotelId = '';

beforeAll(async () => {
  const own = await createOwnHotel(`metrics-${tag}`);
  hotelId = own.hotelId;
  const booked = await gql<any>(`mutation MetricsBooking($input: CreateBookingInput!) { createBooking(input: $input) { id } }`, {
    input: { hotelId, roomId: own.roomId, checkIn: inDays(1), checkOut: inDays(3), guests: 1, guest: { name: 'Metric Guest', email: 'metric.guest@example.test' } },
  }, { as: 'admin@innkeep.test' });
  expect(booked.errors).toEqual([]);
  await gql(`query MetricsHotels { hotels { name } }`, {}, { as: null });
  // A refusal: an auditor may not create hotels (FORBIDDEN).
  await gql(`mutation MetricsRefused { createHotel(input: { name: "x", slug: "x-${tag}", timezone: "UTC", currency: "EUR", address: { line1: "a", city: "b", postalCode: "c", country: "PT" } }) { id } }`, {}, { as: 'auditor@grand-harbor.test' });
}, 60_000);

describe('/metrics after traffic', () => {
  it('gateway: operations by name and outcome, latency histogram, errors by code, fetch durations per subgraph, closed breakers, pool, Redis, event loop', async () => {
    const text = await scrape('GATEWAY');
    expect(metric(text, 'innkeep_graphql_requests_total', { operation: 'MetricsHotels', type: 'query', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'innkeep_graphql_requests_total', { operation: 'MetricsBooking', type: 'mutation', outcome: 'ok' })).toBe(1);
    expect(metric(text, 'innkeep_graphql_request_duration_seconds_count', { operation: 'MetricsBooking' })).toBe(1);
    expect(metric(text, 'innkeep_graphql_request_duration_seconds_sum', { operation: 'MetricsBooking' })).toBeGreaterThan(0);
    expect(metric(text, 'innkeep_graphql_errors_total', { code: 'FORBIDDEN' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'innkeep_policy_call_duration_seconds_count', { target: 'booking', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    for (const target of ['hotel', 'booking', 'pms', 'audit']) expect(metric(text, 'innkeep_circuit_state', { target })).toBe(0);
    expect(metric(text, 'innkeep_db_pool_connections', { state: 'max' })).toBeGreaterThan(0);
    expect(metric(text, 'innkeep_db_pool_connections', { state: 'total' })).toBeLessThanOrEqual(metric(text, 'innkeep_db_pool_connections', { state: 'max' })!);
    expect(metric(text, 'innkeep_redis_connected', { client: 'gateway' })).toBe(1);
    expect(metric(text, 'innkeep_dependency_up', { check: 'database' })).toBe(1);
    expect(metric(text, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'innkeep_outbox_backlog', { table: 'identity.outbox' }) ?? 0).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'innkeep_ws_connections')).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'innkeep_auth_signing_key_age_seconds')).toBeGreaterThan(0);
    // Bounded labels: no user IDs, emails or raw queries anywhere.
    expect(text).not.toMatch(/@innkeep\.test|metric\.guest|\{ hotels/);
  });

  it('booking: business counters per hotel, occupancy, outbox delivered', async () => {
    const text = await eventually(async () => {
      const t = await scrape('BOOKING');
      return (metric(t, 'innkeep_occupancy_rooms', { hotel: hotelId }) ?? -1) >= 0 ? t : undefined;
    });
    expect(metric(text, 'innkeep_bookings_total', { hotel: hotelId, event: 'CREATED' })).toBe(1);
    expect(metric(text, 'innkeep_outbox_delivered_total', { table: 'booking.outbox' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'innkeep_graphql_requests_total', { type: 'mutation' })).toBeGreaterThanOrEqual(1);
  });

  it('audit: the stream consumer holds the lease and stores entries; the chain check has run', async () => {
    const text = await eventually(async () => {
      const t = await scrape('AUDIT');
      return (metric(t, 'innkeep_audit_chain_verified_timestamp_seconds') ?? 0) > 0 ? t : undefined;
    }, 15_000);
    expect(metric(text, 'innkeep_audit_stream_leader')).toBe(1);
    expect(metric(text, 'innkeep_audit_stream_entries_total', { outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'innkeep_audit_chain_events_verified')).toBeGreaterThan(0);
    expect(metric(text, 'innkeep_audit_chains_invalid')).toBeGreaterThanOrEqual(0);
    expect(Date.now() / 1000 - metric(text, 'innkeep_audit_chain_verified_timestamp_seconds')!).toBeLessThan(60);
  });

  it('hotel: authorization refusals counted by code and principal kind', async () => {
    const text = await scrape('HOTEL');
    expect(metric(text, 'innkeep_authz_denials_total', { code: 'FORBIDDEN', principal_kind: 'user' })).toBeGreaterThanOrEqual(1);
  });
});
