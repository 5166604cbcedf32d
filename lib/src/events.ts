import { Redis } from 'ioredis';
import { ServiceUnavailableError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { createRedis } from './redis.js';

/**
 * Domain events between processes (GUIDE §1 "Events fan out through Redis pub/sub"): a mutation publishes
 * after its transaction committed, and every replica with a live subscription on that topic delivers it.
 *
 *  - Topics are `<kind>:<scope>`, e.g. `booking:<hotelId>`; the kind is the only metrics label (bounded).
 *  - Payloads travel as JSON. Dates come back as Dates (ISO date-time strings are revived), BigInts as
 *    decimal strings; the in-memory bus does the same round trip, so both behave alike.
 *  - `subscribe()` returns a plain iterator whose `return()` unsubscribes at once (an `async function*`
 *    would only run its `finally` at the next event: GUIDE §5 saw it leak).
 *  - Each subscriber has a bounded buffer: a subscriber that cannot keep up is ended with
 *    SERVICE_UNAVAILABLE (reason SLOW_CONSUMER) instead of holding memory without bound.
 *  - `publish()` never throws: the caller's transaction already committed, so a Redis outage costs the
 *    live update (logged and counted), never the mutation.
 */
export type TopicKind = 'booking' | 'occupancy' | 'room-status' | 'audit' | 'pms-sync' | 'hotel-data';

/** `hotel-data:all`: hotel, room type, rate or room rows changed (the gateway's hotel cache drops its answers). */
export const HOTEL_DATA_TOPIC = 'hotel-data:all';

/** `audit:platform` carries every audit event (the feed without a hotel filter). */
export const PLATFORM_SCOPE = 'platform';

export const topic = (kind: TopicKind, scope: string): string => `${kind}:${scope}`;
/** The metrics label of a topic: its kind, never its scope (a hotel ID would be an unbounded label). */
export const kindOf = (topicName: string): string => topicName.slice(0, Math.max(0, topicName.indexOf(':'))) || 'other';

export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** Settles once the subscription is live (Redis acknowledged SUBSCRIBE); events published before may be missed. */
  readonly ready: Promise<void>;
  return(): Promise<IteratorResult<T>>;
}

export interface EventBus {
  /** Never rejects: failures are logged and counted (`innkeep_events_publish_failures_total`). */
  publish(topicName: string, payload: unknown): Promise<void>;
  subscribe<T = unknown>(topicName: string): EventStream<T>;
  /** Ends every local subscription and closes the connections. */
  close(): Promise<void>;
  /** Resolves when the transport answers (Redis PING); absent for the in-memory bus. */
  ping?(): Promise<void>;
  /**
   * Redis only: `listener(false)` when the subscriber connection drops (events are missed from then on),
   * `listener(true)` each time `topicName` is subscribed again after (re)connecting.
   */
  watchFeed?(topicName: string, listener: (up: boolean) => void): void;
}

export interface EventBusOptions {
  /** Channel prefix in Redis (EVENTS_CHANNEL_PREFIX). */
  prefix: string;
  /** Events one subscriber may have waiting (EVENTS_SUBSCRIBER_BUFFER). */
  bufferSize: number;
  logger: Logger;
  metrics: Metrics;
}

export interface EventBusConfig {
  REDIS_URL?: string | undefined;
  REDIS_CONNECT_TIMEOUT_MS?: number;
  REDIS_COMMAND_TIMEOUT_MS?: number;
  EVENTS_CHANNEL_PREFIX: string;
  EVENTS_SUBSCRIBER_BUFFER: number;
}

/** Redis pub/sub when REDIS_URL is set, else in-memory (one process only: development). */
export function createEventBus(config: EventBusConfig, options: { service: string; logger: Logger; metrics: Metrics }): EventBus {
  const common = { prefix: config.EVENTS_CHANNEL_PREFIX, bufferSize: config.EVENTS_SUBSCRIBER_BUFFER, logger: options.logger, metrics: options.metrics };
  if (!config.REDIS_URL) {
    options.logger.info({ component: 'events' }, 'REDIS_URL unset: events stay in this process (in-memory bus)');
    return new MemoryEventBus(common);
  }
  return new RedisEventBus({ ...common, url: config.REDIS_URL, name: options.service, connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
}

// ─── payloads ──────────────────────────────────────────────────────────────────────────────────────

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

export function encodeEvent(payload: unknown): string {
  return JSON.stringify(payload, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Date-times as `Date.toJSON()` writes them become Dates again, so resolvers see the row they published. */
export function decodeEvent(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' && ISO_DATE_TIME.test(value) ? new Date(value) : value));
}

// ─── one local subscriber ──────────────────────────────────────────────────────────────────────────

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

export function slowConsumerError(): ServiceUnavailableError {
  return new ServiceUnavailableError('Events arrived faster than this subscription consumed them, so it was ended; subscribe again and refetch the current state', {
    reason: 'SLOW_CONSUMER',
  });
}

class Subscriber<T> implements EventStream<T> {
  private buffer: T[] = [];
  private readonly waiting: Array<{ resolve(result: IteratorResult<T>): void; reject(error: unknown): void }> = [];
  private failure: Error | undefined;
  private ended = false;

  constructor(
    private readonly capacity: number,
    /** Leaves the topic (refcount, gauges); called exactly once. */
    private readonly release: (reason: 'returned' | 'overflow' | 'closed') => void,
    readonly ready: Promise<void>,
  ) {}

  push(event: T): void {
    if (this.ended) return;
    const waiter = this.waiting.shift();
    if (waiter) return waiter.resolve({ value: event, done: false });
    if (this.buffer.length >= this.capacity) return this.fail(slowConsumerError(), 'overflow');
    this.buffer.push(event);
  }

  /** Ends the stream with an error: the next `next()` rejects with it, then the stream is done. */
  fail(error: Error, reason: 'overflow' | 'closed' = 'closed'): void {
    if (this.ended) return;
    this.end(reason);
    const [first, ...rest] = this.waiting.splice(0);
    for (const waiter of rest) waiter.resolve(DONE);
    if (first) first.reject(error);
    else this.failure = error;
  }

  /** Ends the stream quietly (bus closing): waiting `next()` calls resolve as done. */
  finish(): void {
    if (this.ended) return;
    this.end('closed');
    for (const waiter of this.waiting.splice(0)) waiter.resolve(DONE);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.failure) {
      const error = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Unsubscribes now, not at the next event. */
  return(): Promise<IteratorResult<T>> {
    this.failure = undefined;
    this.finish();
    return Promise.resolve(DONE);
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(reason: 'returned' | 'overflow' | 'closed'): void {
    this.ended = true;
    this.buffer = [];
    this.release(reason);
  }
}

/**
 * A stream with only the events `accept` lets through (e.g. an AUDITOR's own hotels on the platform
 * topic); `return()` still reaches the source at once.
 */
export function filterStream<T>(source: EventStream<T>, accept: (event: T) => boolean): EventStream<T> {
  return {
    ready: source.ready,
    async next() {
      for (;;) {
        const step = await source.next();
        if (step.done || accept(step.value)) return step;
      }
    },
    return: () => source.return(),
    throw: () => source.return(),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

// ─── the local fan-out both buses share ────────────────────────────────────────────────────────────

abstract class LocalFanOut implements EventBus {
  private readonly topics = new Map<string, Set<Subscriber<unknown>>>();
  private closed = false;
  protected readonly log: Logger;
  private readonly published;
  private readonly publishFailures;
  private readonly active;
  private readonly slowConsumers;

  constructor(protected readonly options: EventBusOptions) {
    this.log = options.logger.child({ component: 'events' });
    const m = options.metrics;
    this.published = m.counter('innkeep_events_published_total', 'Domain events published, by topic kind', ['kind'] as const);
    this.publishFailures = m.counter('innkeep_events_publish_failures_total', 'Domain events that could not be published (Redis down); the mutation itself succeeded', ['kind'] as const);
    this.active = m.gauge('innkeep_event_subscriptions_active', 'Local subscribers of domain events in this process, by topic kind', ['kind'] as const);
    this.slowConsumers = m.counter('innkeep_event_slow_consumers_total', 'Subscriptions ended because their buffer of undelivered events was full', ['kind'] as const);
  }

  protected abstract send(topicName: string, text: string): Promise<void>;
  /** The first local subscriber of a topic arrived; resolves when events of it flow. */
  protected abstract opened(topicName: string): Promise<void>;
  /** The last local subscriber of a topic left. */
  protected abstract closedTopic(topicName: string): void;
  protected abstract disconnect(): Promise<void>;

  async publish(topicName: string, payload: unknown): Promise<void> {
    const kind = kindOf(topicName);
    try {
      await this.send(topicName, encodeEvent(payload));
      this.published.inc({ kind });
    } catch (error) {
      this.publishFailures.inc({ kind });
      this.log.warn({ err: error, kind }, 'event not published (the change itself is committed; live subscribers miss it)');
    }
  }

  subscribe<T = unknown>(topicName: string): EventStream<T> {
    const kind = kindOf(topicName);
    if (this.closed) {
      const stream = new Subscriber<T>(1, () => undefined, Promise.resolve());
      stream.finish();
      return stream;
    }
    let members = this.topics.get(topicName);
    const first = !members;
    if (!members) this.topics.set(topicName, (members = new Set()));
    const ready = first ? this.opened(topicName) : this.readyOf(topicName);
    // Never an unhandled rejection: `ready` only tells how soon events flow.
    ready.catch(() => undefined);
    const subscriber: Subscriber<T> = new Subscriber<T>(this.options.bufferSize, (reason) => {
      this.active.dec({ kind });
      if (reason === 'overflow') {
        this.slowConsumers.inc({ kind });
        this.log.warn({ kind }, 'subscriber too slow: its buffer is full, subscription ended (SLOW_CONSUMER)');
      }
      const set = this.topics.get(topicName);
      if (!set?.delete(subscriber as Subscriber<unknown>)) return;
      if (set.size === 0) {
        this.topics.delete(topicName);
        this.closedTopic(topicName);
      }
    }, ready);
    members.add(subscriber as Subscriber<unknown>);
    this.active.inc({ kind });
    return subscriber;
  }

  protected readyOf(_topicName: string): Promise<void> {
    return Promise.resolve();
  }

  /** One decoded payload, shared by every local subscriber of the topic (resolvers never mutate it). */
  protected deliver(topicName: string, text: string): void {
    const members = this.topics.get(topicName);
    if (!members?.size) return;
    let event: unknown;
    try {
      event = decodeEvent(text);
    } catch (error) {
      this.log.warn({ err: error, kind: kindOf(topicName) }, 'event dropped: payload is not JSON');
      return;
    }
    for (const member of [...members]) member.push(event);
  }

  /** Topics with local subscribers (Redis resubscription, tests). */
  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const members of [...this.topics.values()]) for (const member of [...members]) member.finish();
    this.topics.clear();
    await this.disconnect();
  }
}

/** One process only (REDIS_URL unset): development and unit tests. */
export class MemoryEventBus extends LocalFanOut {
  protected async send(topicName: string, text: string): Promise<void> {
    this.deliver(topicName, text);
  }
  protected async opened(): Promise<void> {}
  protected closedTopic(): void {}
  protected async disconnect(): Promise<void> {}
}

interface RedisEventBusOptions extends EventBusOptions {
  url: string;
  /** Connection names: `innkeep-<name>-events-pub` / `-sub`. */
  name: string;
  connectTimeoutMs?: number | undefined;
  commandTimeoutMs?: number | undefined;
}

/**
 * Redis pub/sub: one publisher connection and one subscriber-mode connection per process. A channel is
 * SUBSCRIBEd for its first local subscriber and UNSUBSCRIBEd when its last one leaves, so Redis only
 * sends a process the topics someone there watches. The subscriber connection reconnects forever and
 * ioredis resubscribes its channels (`autoResubscribe`); events published while it is down are missed.
 */
export class RedisEventBus extends LocalFanOut {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly pending = new Map<string, Promise<void>>();
  private readonly channels;
  private warned = { pub: false, sub: false };

  async ping(): Promise<void> {
    await this.publisher.ping();
  }

  constructor(private readonly redisOptions: RedisEventBusOptions) {
    super(redisOptions);
    const timeouts = { connectTimeoutMs: redisOptions.connectTimeoutMs, commandTimeoutMs: redisOptions.commandTimeoutMs, metrics: redisOptions.metrics };
    // Fails fast while Redis is down (no offline queue): a publish never waits for a reconnect.
    this.publisher = createRedis(redisOptions.url, `${redisOptions.name}-events-pub`, timeouts);
    // Subscriber mode: SUBSCRIBE / UNSUBSCRIBE wait in the offline queue until the connection is back,
    // then run in order; channels already subscribed are resubscribed by ioredis itself.
    this.subscriber = new Redis(redisOptions.url, {
      connectionName: `innkeep-${redisOptions.name}-events-sub`,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      autoResubscribe: true,
      connectTimeout: redisOptions.connectTimeoutMs ?? 2000,
      keepAlive: 10_000,
    });
    this.channels = redisOptions.metrics.gauge('innkeep_event_channels', 'Redis pub/sub channels this process is subscribed to', [] as const);
    this.channels.set(0);
    for (const [role, client] of [['pub', this.publisher], ['sub', this.subscriber]] as const) {
      // ioredis reports every failed reconnect attempt: one warning per outage is enough.
      client.on('error', (error) => {
        if (!this.warned[role]) this.log.warn({ err: error, connection: role }, 'redis connection error (events)');
        this.warned[role] = true;
      });
      client.on('ready', () => {
        if (this.warned[role]) this.log.info({ connection: role }, 'redis connection back (events)');
        this.warned[role] = false;
      });
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel.startsWith(this.redisOptions.prefix)) this.deliver(channel.slice(this.redisOptions.prefix.length), message);
    });
  }

  watchFeed(topicName: string, listener: (up: boolean) => void): void {
    this.subscriber.on('close', () => listener(false));
    // SUBSCRIBE is idempotent: its reply is the moment from which no event on the topic is missed.
    const subscribed = () => void this.subscriber.subscribe(this.redisOptions.prefix + topicName).then(() => listener(true), () => undefined);
    this.subscriber.on('ready', subscribed);
    if (this.subscriber.status === 'ready') subscribed();
  }

  protected async send(topicName: string, text: string): Promise<void> {
    await this.publisher.publish(this.redisOptions.prefix + topicName, text);
  }

  protected opened(topicName: string): Promise<void> {
    this.channels.inc();
    const subscribed = this.subscriber.subscribe(this.redisOptions.prefix + topicName).then(
      () => undefined,
      (error: unknown) => {
        this.log.warn({ err: error, kind: kindOf(topicName) }, 'SUBSCRIBE failed; ioredis retries it on reconnect');
        throw error;
      },
    );
    this.pending.set(topicName, subscribed);
    subscribed.finally(() => this.pending.get(topicName) === subscribed && this.pending.delete(topicName)).catch(() => undefined);
    return subscribed;
  }

  protected override readyOf(topicName: string): Promise<void> {
    return this.pending.get(topicName) ?? Promise.resolve();
  }

  protected closedTopic(topicName: string): void {
    this.channels.dec();
    this.pending.delete(topicName);
    this.subscriber.unsubscribe(this.redisOptions.prefix + topicName).catch((error: unknown) => {
      this.log.warn({ err: error, kind: kindOf(topicName) }, 'UNSUBSCRIBE failed (the connection was lost: nothing stays subscribed)');
    });
  }

  protected async disconnect(): Promise<void> {
    this.channels.set(0);
    // quit() lets publishes already sent finish; a dead connection is simply dropped.
    await Promise.all(
      [this.publisher, this.subscriber].map(async (client) => {
        const timer = setTimeout(() => client.disconnect(), 1000);
        try {
          await client.quit();
        } catch {
          client.disconnect();
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
