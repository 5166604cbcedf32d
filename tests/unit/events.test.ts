/**
 * The event bus's promises, on the in-memory bus (the Redis bus shares the same local fan-out; its Redis
 * side is proven in tests/integration/subgraph-subscriptions.test.ts): events reach every subscriber of a
 * topic in publish order, Dates survive the JSON round trip, `return()` unsubscribes at once, and a
 * subscriber that falls behind is ended with SLOW_CONSUMER instead of buffering without bound.
 */
import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { decodeEvent, encodeEvent, filterStream, kindOf, MemoryEventBus, topic } from '../../lib/src/events.js';
import { createMetrics } from '../../lib/src/metrics.js';

const newBus = (bufferSize = 1000) => {
  const metrics = createMetrics('test', { defaultMetrics: false });
  return { bus: new MemoryEventBus({ prefix: 'unit:', bufferSize, logger: pino({ level: 'silent' }), metrics }), metrics };
};
const gauge = async (metrics: ReturnType<typeof createMetrics>, name: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);

describe('the in-memory event bus', () => {
  it('delivers to every subscriber of the topic, in publish order, and nothing of other topics', async () => {
    const { bus } = newBus();
    const a = bus.subscribe<{ n: number }>(topic('booking', 'h1'));
    const b = bus.subscribe<{ n: number }>(topic('booking', 'h1'));
    const other = bus.subscribe(topic('booking', 'h2'));
    for (let n = 1; n <= 3; n++) await bus.publish(topic('booking', 'h1'), { n });
    for (const stream of [a, b]) {
      expect([(await stream.next()).value, (await stream.next()).value, (await stream.next()).value]).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    }
    await other.return();
    expect(await other.next()).toEqual({ value: undefined, done: true });
    await bus.close();
  });

  it('revives Dates and writes BigInts as strings', () => {
    const at = new Date('2026-03-01T10:20:30.456Z');
    const decoded = decodeEvent(encodeEvent({ at, day: '2026-03-01', sequence: 42n, nested: [{ at }] })) as Record<string, any>;
    expect(decoded.at).toBeInstanceOf(Date);
    expect(decoded.at.getTime()).toBe(at.getTime());
    expect(decoded.nested[0].at).toBeInstanceOf(Date);
    expect(decoded.day).toBe('2026-03-01');
    expect(decoded.sequence).toBe('42');
  });

  it('return() unsubscribes at once: a pending next() resolves done and the gauge drops', async () => {
    const { bus, metrics } = newBus();
    const stream = bus.subscribe(topic('room-status', 'h1'));
    expect(await gauge(metrics, 'innkeep_event_subscriptions_active')).toBe(1);
    const pending = stream.next();
    await stream.return();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(await gauge(metrics, 'innkeep_event_subscriptions_active')).toBe(0);
    await bus.publish(topic('room-status', 'h1'), { late: true });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a subscriber that falls behind with SERVICE_UNAVAILABLE / SLOW_CONSUMER; others go on', async () => {
    const { bus, metrics } = newBus(3);
    const slow = bus.subscribe<{ n: number }>(topic('audit', 'platform'));
    const fast = bus.subscribe<{ n: number }>(topic('audit', 'platform'));
    const seen: number[] = [];
    for (let n = 1; n <= 5; n++) {
      await bus.publish(topic('audit', 'platform'), { n });
      seen.push((await fast.next()).value!.n);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    // The slow one had 3 waiting when the 4th arrived: it ended, its buffer was released.
    await expect(slow.next()).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', reason: 'SLOW_CONSUMER', retryable: true } });
    expect(await slow.next()).toEqual({ value: undefined, done: true });
    expect(await gauge(metrics, 'innkeep_event_slow_consumers_total')).toBe(1);
    expect(await gauge(metrics, 'innkeep_event_subscriptions_active')).toBe(1);
    await bus.close();
    expect(await fast.next()).toEqual({ value: undefined, done: true });
  });

  it('counts published events by topic kind, never by scope', async () => {
    const { bus, metrics } = newBus();
    await bus.publish(topic('booking', 'hotel-1'), {});
    await bus.publish(topic('booking', 'hotel-2'), {});
    const values = (await metrics.registry.getSingleMetric('innkeep_events_published_total')!.get()).values;
    expect(values).toEqual([expect.objectContaining({ labels: { kind: 'booking' }, value: 2 })]);
    expect(kindOf('pms-sync:abc')).toBe('pms-sync');
  });

  it('filterStream passes only accepted events and still returns at once', async () => {
    const { bus } = newBus();
    const evens = filterStream(bus.subscribe<{ n: number }>(topic('audit', 'platform')), (e) => e.n % 2 === 0);
    for (let n = 1; n <= 4; n++) await bus.publish(topic('audit', 'platform'), { n });
    expect((await evens.next()).value).toEqual({ n: 2 });
    expect((await evens.next()).value).toEqual({ n: 4 });
    const pending = evens.next();
    await evens.return();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });
});
