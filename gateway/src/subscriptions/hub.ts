import { createHash } from 'node:crypto';
import type { ExecutionResult, FormattedExecutionResult, GraphQLError, GraphQLFormattedError } from 'graphql';
import { newCorrelationId } from '../../../lib/src/correlation.js';
import { ErrorCode } from '../../../lib/src/errors.js';
import type { Principal } from '../../../lib/src/identity.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { GatewayContext } from '../context.js';
import type { FederatedSubscriptionEngine, SubscriptionPlan } from './engine.js';
import { EventQueue } from './queue.js';
import type { SubgraphSubscriptions } from './upstream.js';

export interface HubOptions {
  engine: FederatedSubscriptionEngine;
  upstream: SubgraphSubscriptions;
  logger: Logger;
  /** Shapes one error (codes, masking, correlation ID) — applied once per event, not per subscriber. */
  formatError(error: GraphQLError, correlationId: string): GraphQLFormattedError;
  /** Starts the deadline of one event's execution; returns its cleanup. */
  startDeadline(context: object): () => void;
  bufferEvents: number;
  upstreamBacklog: number;
  /** Per-event execution finished (ms), for metrics. */
  onEventExecuted?(subgraph: string, ms: number, subscribers: number, failed: boolean): void;
  onSharedCount?(delta: number): void;
}

export interface SubscribeRequest {
  query: string;
  plan: SubscriptionPlan;
  variables: Record<string, unknown>;
  context: GatewayContext;
  /** The subscriber is too slow (buffer full): the caller closes its socket. */
  onSlowConsumer(): void;
  /** Once, when this subscriber's subscription ends (it left, or the shared subscription ended). */
  onEnd?(): void;
  /** Bytes still queued on the subscriber's socket (ws `bufferedAmount`). */
  bufferedBytes(): number;
  maxBufferedBytes: number;
}

/**
 * What decides what a subscriber may see: two subscribers with the same scope get the same answer to the
 * same document and variables, so they can share one upstream subscription and one execution per event.
 * Roles, tenancy (hotel IDs) and API-key scopes decide every rule; a GUEST also sees by email (PII of their
 * own bookings), so guests only share with themselves. Never a user ID alone: staff with equal rights share.
 */
export function authorizationScope(principal: Principal): string {
  const sorted = (values: readonly string[]) => [...values].sort().join(',');
  const parts = [principal.kind, sorted(principal.roles), sorted(principal.hotelIds), sorted(principal.scopes)];
  if (principal.kind === 'anonymous') return 'anonymous';
  if (principal.roles.includes('GUEST') || principal.roles.length === 0) parts.push(principal.kind === 'user' ? `email:${principal.email ?? principal.id}` : `id:${principal.id}`);
  return parts.join('|');
}

/**
 * Fan-out at the gateway: subscribers whose document, variables and authorization scope are equal share
 * ONE upstream subscription and ONE federated execution per event (GUIDE §1: one execution per subscriber
 * per event would cost seconds per event at 5,000 dashboards). Each subscriber has its own bounded queue;
 * events are executed one at a time per shared subscription, so a hotel's events reach every subscriber
 * in the order the subgraph sent them. The upstream subscription is closed when the last subscriber leaves.
 */
export class SubscriptionHub {
  private readonly shared = new Map<string, SharedSubscription>();

  constructor(private readonly options: HubOptions) {}

  subscribe(request: SubscribeRequest): AsyncIterableIterator<FormattedExecutionResult> {
    const { principal } = request.context;
    const key = createHash('sha256')
      .update(request.plan.operationName ?? '')
      .update('\0')
      .update(request.query)
      .update('\0')
      .update(stableJson(request.variables))
      .update('\0')
      .update(authorizationScope(principal))
      .digest('base64url');
    let entry = this.shared.get(key);
    if (!entry || entry.finished) {
      entry = new SharedSubscription(key, request, this.options, () => {
        if (this.shared.get(key) === entry) this.shared.delete(key);
      });
      this.shared.set(key, entry);
      this.options.onSharedCount?.(+1);
    }
    return entry.add(request);
  }

  /** Shared subscriptions (= upstream subscriptions) now. */
  get sharedCount(): number {
    return this.shared.size;
  }

  /** Ends every subscription (shutdown): clients get `complete` and re-subscribe elsewhere. */
  closeAll(): void {
    for (const entry of [...this.shared.values()]) entry.finish();
  }
}

class SharedSubscription {
  finished = false;
  /** Each subscriber's queue, with how an event is handed to it (slow-consumer check included). */
  private readonly subscribers = new Map<EventQueue<FormattedExecutionResult>, (result: FormattedExecutionResult) => void>();
  /** Upstream events waiting for their execution, then (once) the end: an error result for everyone, or nothing. */
  private readonly backlog: Array<{ event: ExecutionResult } | { end: FormattedExecutionResult | null }> = [];
  private draining = false;
  private unsubscribeUpstream: (() => void) | null = null;
  private readonly log: Logger;
  /** The identity every per-event execution runs with: any subscriber's (they share one scope). */
  private readonly representative: GatewayContext;

  constructor(
    private readonly key: string,
    private readonly first: SubscribeRequest,
    private readonly options: HubOptions,
    private readonly onFinished: () => void,
  ) {
    this.representative = first.context;
    this.log = options.logger.child({ subscription: key.slice(0, 12), subgraph: first.plan.subgraph });
  }

  add(request: SubscribeRequest): EventQueue<FormattedExecutionResult> {
    const queue = new EventQueue<FormattedExecutionResult>({
      capacity: this.options.bufferEvents,
      onReturn: () => this.remove(queue),
      ...(request.onEnd ? { onEnd: request.onEnd } : {}),
    });
    const slow = () => {
      request.context.log.warn({ subscription: this.key.slice(0, 12) }, 'slow subscriber cut off: too many undelivered events');
      request.onSlowConsumer();
      queue.return();
    };
    this.subscribers.set(queue, (result) => {
      if (request.bufferedBytes() > request.maxBufferedBytes || !queue.push(result)) slow();
    });
    if (!this.unsubscribeUpstream && !this.finished) this.start();
    return queue;
  }

  private start(): void {
    const { plan, variables, context } = this.first;
    this.log.debug('upstream subscription opening');
    this.unsubscribeUpstream = this.options.upstream.subscribe(
      {
        subgraph: plan.subgraph,
        query: plan.primary.operation,
        ...(plan.primary.operationName ? { operationName: plan.primary.operationName } : {}),
        variables: this.options.engine.primaryVariables(plan, variables),
        principal: context.principal,
        correlationId: context.correlationId,
        ...(context.clientIp ? { clientIp: context.clientIp } : {}),
      },
      {
        next: (event) => this.enqueue(event),
        error: (error) => {
          this.log.warn({ err: error instanceof Error ? error : { detail: String((error as { reason?: string })?.reason ?? error) } }, 'upstream subscription lost');
          this.enqueueFinal(this.failure(ErrorCode.SERVICE_UNAVAILABLE, `The ${plan.subgraph} service closed the subscription; subscribe again`, 'UPSTREAM_LOST'));
        },
        complete: () => this.enqueueFinal(null),
      },
    );
  }

  private enqueue(event: ExecutionResult): void {
    if (this.finished) return;
    if (this.backlog.length >= this.options.upstreamBacklog) {
      this.log.warn({ backlog: this.backlog.length }, 'subscription backlog full: ending it');
      this.backlog.length = 0;
      this.enqueueFinal(this.failure(ErrorCode.SERVICE_UNAVAILABLE, 'Events arrive faster than they can be delivered; subscribe again', 'OVERLOADED'));
      return;
    }
    this.backlog.push({ event });
    void this.drain();
  }

  /** The last thing subscribers get (an error result, or nothing), after the events already in the backlog. */
  private enqueueFinal(result: FormattedExecutionResult | null): void {
    this.backlog.push({ end: result });
    void this.drain();
  }

  /** One event at a time: order is kept, and one slow execution holds back only this shared subscription. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.backlog.length > 0 && !this.finished) {
        const next = this.backlog.shift()!;
        if ('end' in next) {
          if (next.end) for (const deliver of [...this.subscribers.values()]) deliver(next.end);
          this.finish();
          return;
        }
        const result = await this.execute(next.event);
        for (const deliver of [...this.subscribers.values()]) deliver(result);
      }
    } finally {
      this.draining = false;
    }
  }

  private async execute(event: ExecutionResult): Promise<FormattedExecutionResult> {
    const correlationId = newCorrelationId();
    const context: GatewayContext = { ...this.representative, correlationId, log: this.options.logger.child({ correlationId, subscription: this.key.slice(0, 12) }) };
    const started = performance.now();
    const stopDeadline = this.options.startDeadline(context);
    let failed = false;
    try {
      const result = await this.options.engine.execute(this.first.plan, event, context, this.first.variables);
      failed = !!result.errors?.length;
      return {
        ...(result.data !== undefined ? { data: result.data } : {}),
        ...(result.errors?.length ? { errors: result.errors.map((e) => this.options.formatError(e as GraphQLError, correlationId)) } : {}),
      };
    } catch (error) {
      failed = true;
      context.log.error({ err: error }, 'subscription event could not be executed');
      return this.failure(ErrorCode.INTERNAL_SERVER_ERROR, 'This event could not be resolved', 'EVENT_EXECUTION_FAILED', correlationId);
    } finally {
      stopDeadline();
      this.options.onEventExecuted?.(this.first.plan.subgraph, performance.now() - started, this.subscribers.size, failed);
    }
  }

  private failure(code: ErrorCode, message: string, reason: string, correlationId: string = newCorrelationId()): FormattedExecutionResult {
    return {
      errors: [
        {
          message,
          extensions: { code, reason, retryable: code === ErrorCode.SERVICE_UNAVAILABLE, service: 'gateway', correlationId, timestamp: new Date().toISOString() },
        },
      ],
    };
  }

  private remove(queue: EventQueue<FormattedExecutionResult>): void {
    this.subscribers.delete(queue);
    if (this.subscribers.size === 0) this.finish();
  }

  /** Closes upstream at once and completes every subscriber still here. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.backlog.length = 0;
    this.unsubscribeUpstream?.();
    this.unsubscribeUpstream = null;
    for (const queue of [...this.subscribers.keys()]) queue.end();
    this.subscribers.clear();
    this.options.onSharedCount?.(-1);
    this.onFinished();
    this.log.debug('shared subscription closed');
  }
}

/** JSON with sorted object keys: equal variables give equal keys whatever the client's key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
