import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { notifyCritical } from './alerts.js';
import { auditIngestUrl, deliverToAudit } from './audit-client.js';
import type { AuditEventInput } from './audit-event.js';
import { AuditOutbox } from './audit-outbox.js';
import { InternalTokenSigner } from './internal-token.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { OutboxMessage } from './outbox.js';
import { createRedis } from './redis.js';
import type pg from 'pg';

/**
 * The audit trail's transport: producers' outbox relays append events to one Redis Stream; the audit
 * subgraph reads it as a consumer group, stores each event (idempotent by event ID) and only then
 * acknowledges it. Redis down → the relay fails and outbox rows wait in PostgreSQL; the audit subgraph
 * down → entries wait in the stream (unacknowledged entries are read again). Either way nothing is lost
 * and nothing is stored twice.
 *
 * Each entry carries `producer` and an HMAC-SHA256 (`sig`) of producer + event JSON, keyed from the
 * internal-token secret: a client with access to Redis alone cannot forge audit events.
 */
export const AUDIT_CONSUMER_GROUP = 'audit-writers';

const signingKey = (secret: string) => createHmac('sha256', secret).update('innkeep audit stream v1').digest();

export function signEntry(secret: string, producer: string, json: string): string {
  return createHmac('sha256', signingKey(secret)).update(producer).update('\n').update(json).digest('base64url');
}

export function entrySignatureValid(secret: string, producer: string, json: string, sig: string): boolean {
  const expected = Buffer.from(signEntry(secret, producer, json));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Appends a batch to the stream in one MULTI (all or nothing). A relay that crashes after XADD but before
 * marking its rows delivered sends them again: the consumer skips event IDs it has stored.
 */
export async function appendToAuditStream(redis: Redis, key: string, producer: string, secret: string, messages: OutboxMessage[]): Promise<void> {
  const multi = redis.multi();
  for (const message of messages) {
    const json = JSON.stringify(message.payload);
    multi.xadd(key, '*', 'producer', producer, 'event', json, 'sig', signEntry(secret, producer, json));
  }
  const results = await multi.exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw new Error(`audit stream append failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
}

export interface ServiceAuditConfig {
  REDIS_URL?: string | undefined;
  REDIS_CONNECT_TIMEOUT_MS: number;
  REDIS_COMMAND_TIMEOUT_MS: number;
  AUDIT_STREAM_KEY: string;
  INTERNAL_TOKEN_SECRET: string;
  INTERNAL_TOKEN_TTL_SECONDS: number;
}

/**
 * A service's audit producer on its outbox table. With REDIS_URL the relay appends to the audit stream;
 * without (single-machine development) it posts to the audit subgraph's ingestion route instead.
 */
export function createServiceAuditOutbox(options: {
  config: ServiceAuditConfig;
  /** The producing service, e.g. `pms`: the event's transport identity. */
  producer: string;
  table: string;
  pool: pg.Pool;
  /** The audit subgraph's GraphQL URL (the development HTTP path only). */
  auditUrl: string;
  logger: Logger;
  metrics?: Metrics;
}): AuditOutbox {
  const { config, producer, logger } = options;
  let deliver: (messages: OutboxMessage[]) => Promise<void>;
  let redis: Redis | undefined;
  if (config.REDIS_URL) {
    redis = createRedis(config.REDIS_URL, `${producer}-audit-relay`, { connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS, commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, ...(options.metrics ? { metrics: options.metrics } : {}) });
    redis.on('error', (error) => logger.debug({ err: error, component: 'audit-relay' }, 'audit relay: redis connection error'));
    const client = redis;
    deliver = (messages) => appendToAuditStream(client, config.AUDIT_STREAM_KEY, producer, config.INTERNAL_TOKEN_SECRET, messages);
  } else {
    const signer = new InternalTokenSigner(config.INTERNAL_TOKEN_SECRET, producer, config.INTERNAL_TOKEN_TTL_SECONDS);
    const url = auditIngestUrl(options.auditUrl);
    deliver = (messages) => deliverToAudit(url, messages, { name: producer, signer });
  }
  return new AuditOutbox({ pool: options.pool, table: options.table, logger, deliver, ...(options.metrics ? { metrics: options.metrics } : {}), close: () => redis?.disconnect() });
}

/** What the consumer hands to the trail: validated, signed events, in stream order. */
export interface AuditStreamSink {
  append(events: AuditEventInput[]): Promise<unknown>;
}

export interface AuditStreamConsumerOptions {
  url: string;
  key: string;
  secret: string;
  sink: AuditStreamSink;
  /** Validates one event (the ingestion schema); a throw sends the entry to the dead-letter stream. */
  parse(event: unknown): AuditEventInput;
  logger: Logger;
  connectTimeoutMs?: number;
  batchSize?: number;
  /** How long one XREADGROUP waits for new entries (ms). */
  blockMs?: number;
  /** Lease of the single active consumer (ms); another replica takes over once it lapses. */
  leaseMs?: number;
  /** innkeep_audit_stream_* (stored, dead-lettered, leader, consume failures). */
  metrics?: Metrics;
}

type StreamEntry = [id: string, fields: string[]];
const LEASE_RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;

/**
 * The audit subgraph's reader of the audit stream. One replica at a time consumes (a lease in Redis), so
 * events are stored in stream order and each chain grows in the order producers shipped. The consumer
 * name is fixed: a new leader first re-reads what the previous one read but never acknowledged (its
 * pending entries) before new ones. An entry is acknowledged — and deleted — only after the trail stored
 * it; a forged or malformed entry goes to `<key>:dead` with the reason, never into the trail.
 */
export class AuditStreamConsumer {
  private readonly redis: Redis;
  private readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readPending = true;
  private groupReady = false;
  private failures = 0;
  private readonly counters;

  constructor(private readonly options: AuditStreamConsumerOptions) {
    const metrics = options.metrics;
    this.counters = metrics && {
      stored: metrics.counter('innkeep_audit_stream_entries_total', 'Audit stream entries handled by this consumer, by outcome (stored / dead_lettered)', ['outcome']),
      failures: metrics.counter('innkeep_audit_stream_failures_total', 'Failed consume turns (Redis or the database unavailable); entries are read again', []),
      leader: metrics.gauge('innkeep_audit_stream_leader', '1 while this replica holds the consumer lease (exactly one replica should)', []),
    };
    const blockMs = options.blockMs ?? 1000;
    // Blocking reads need their own connection and a command timeout longer than the block.
    this.redis = createRedis(options.url, 'audit-stream-consumer', { connectTimeoutMs: options.connectTimeoutMs ?? 2000, commandTimeoutMs: blockMs + 3000, ...(options.metrics ? { metrics: options.metrics } : {}) });
    this.redis.on('error', (error) => options.logger.debug({ err: error, component: 'audit-stream' }, 'audit stream: redis connection error'));
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.redis.eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`, 1, this.leaseKey, this.id).catch(() => undefined);
    this.redis.disconnect();
  }

  /** Entries in the stream not yet stored and acknowledged (for health and metrics). */
  async backlog(): Promise<number> {
    return Number(await this.redis.xlen(this.options.key));
  }

  private get leaseKey() {
    return `${this.options.key}:consumer-lease`;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const worked = await this.step();
        this.failures = 0;
        if (!worked) await sleep(200);
      } catch (error) {
        this.failures += 1;
        this.counters?.failures.inc();
        this.readPending = true;
        this.groupReady = false;
        const backoff = Math.min(10_000, 100 * 2 ** Math.min(this.failures, 7));
        this.options.logger.warn({ err: error, failures: this.failures, retryInMs: backoff, component: 'audit-stream' }, 'audit stream: consuming failed; will retry');
        await sleep(backoff);
      }
    }
  }

  /** One read-store-acknowledge turn; false when there was nothing to do. */
  private async step(): Promise<boolean> {
    const leaseMs = this.options.leaseMs ?? 10_000;
    const leader = Number(await this.redis.eval(LEASE_RENEW, 1, this.leaseKey, this.id, String(leaseMs)));
    this.counters?.leader.set(leader ? 1 : 0);
    if (!leader) {
      await sleep(Math.min(1000, leaseMs / 2));
      this.readPending = true;
      return true;
    }
    if (!this.groupReady) {
      // From the stream's start ('0'): entries appended while no group existed are read too.
      await this.redis.xgroup('CREATE', this.options.key, AUDIT_CONSUMER_GROUP, '0', 'MKSTREAM').catch((error: Error) => {
        if (!/BUSYGROUP/.test(error.message)) throw error;
      });
      this.groupReady = true;
    }
    const count = this.options.batchSize ?? 200;
    let entries = this.readPending ? await this.read('0', count) : [];
    if (entries.length === 0) {
      this.readPending = false;
      entries = await this.read('>', count, this.options.blockMs ?? 1000);
    }
    if (entries.length === 0) return false;
    await this.store(entries);
    return true;
  }

  private async read(from: '0' | '>', count: number, blockMs?: number): Promise<StreamEntry[]> {
    const args: (string | number)[] = ['GROUP', AUDIT_CONSUMER_GROUP, 'writer', 'COUNT', count];
    if (blockMs) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.options.key, from);
    const reply = (await (this.redis as unknown as { xreadgroup(...a: (string | number)[]): Promise<unknown> }).xreadgroup(...args)) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async store(entries: StreamEntry[]): Promise<void> {
    const good: AuditEventInput[] = [];
    const dead: { id: string; fields: string[]; reason: string }[] = [];
    for (const [id, fields] of entries) {
      const field = (name: string) => {
        const at = fields.indexOf(name);
        return at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
      };
      const producer = field('producer');
      const json = field('event');
      const sig = field('sig');
      if (!producer || !json || !sig || !entrySignatureValid(this.options.secret, producer, json, sig)) {
        dead.push({ id, fields, reason: 'signature missing or invalid' });
        continue;
      }
      try {
        good.push(this.options.parse(JSON.parse(json)));
      } catch (error) {
        dead.push({ id, fields, reason: `invalid event: ${(error as Error).message.slice(0, 300)}` });
      }
    }
    if (good.length) await this.options.sink.append(good);
    const ids = entries.map(([id]) => id);
    const multi = this.redis.multi();
    for (const entry of dead) multi.xadd(`${this.options.key}:dead`, 'MAXLEN', '~', '10000', '*', 'entry', entry.id, 'reason', entry.reason, ...entry.fields);
    multi.xack(this.options.key, AUDIT_CONSUMER_GROUP, ...ids);
    multi.xdel(this.options.key, ...ids);
    await multi.exec();
    for (const entry of dead) this.options.logger.error({ entry: entry.id, reason: entry.reason, component: 'audit-stream' }, 'audit stream: entry refused (dead-lettered)');
    if (dead.length) notifyCritical({ kind: 'audit_entry_forged', summary: `${dead.length} audit stream entr(y/ies) refused: forged or malformed (see ${this.options.key}:dead)`, details: { count: dead.length } });
    this.counters?.stored.inc({ outcome: 'stored' }, good.length);
    if (dead.length) this.counters?.stored.inc({ outcome: 'dead_lettered' }, dead.length);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
