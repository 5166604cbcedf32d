import type { GraphQLFieldResolver } from 'graphql';
import { BadUserInputError } from './errors.js';
import { filterStream, type EventBus, type EventStream } from './events.js';
import type { Principal } from './identity.js';
import { isUuid } from './validation.js';

/** What a live field's resolvers read from the context. */
export interface LiveContext {
  principal: Principal;
  events: EventBus;
}

export interface LiveFieldOptions<A, E, C extends LiveContext> {
  /**
   * Subscribe-time authorization, checked before anything is subscribed: `true`, or the coded error to
   * refuse with. graphql-shield does not wrap `subscribe` when the field has a `resolve` (GUIDE §5), so this
   * check must mirror the field's rule in permissions.ts; shield checks each event's `resolve` as well.
   */
  authorize(principal: Principal, args: A): true | Error;
  /** The topic this subscription listens on (lib/src/events.ts `topic`). */
  topic(args: A): string;
  /** Per-event filter, e.g. an AUDITOR's own hotels on the platform topic. */
  accept?(event: E, principal: Principal, args: A): boolean;
  /** Event → the field's value (default: the event itself). */
  resolve?(event: E, args: A, ctx: C): unknown;
}

/** How long subscribe waits for Redis to confirm the channel before the stream starts anyway. */
const READY_WAIT_MS = 2000;

/**
 * A Subscription field fed by the event bus: `{ subscribe, resolve }` for the resolver map. Refusals
 * throw before the topic is subscribed, so a refused caller never receives an event.
 */
export function liveField<A, E, C extends LiveContext>(options: LiveFieldOptions<A, E, C>): { subscribe: GraphQLFieldResolver<unknown, C, A>; resolve: GraphQLFieldResolver<E, C, A> } {
  return {
    subscribe: async (_root, args, ctx) => {
      const verdict = options.authorize(ctx.principal, args);
      if (verdict !== true) throw verdict;
      const stream: EventStream<E> = ctx.events.subscribe<E>(options.topic(args));
      // Start delivering once Redis confirmed the channel (bounded: during an outage ioredis subscribes
      // when it reconnects, and the subscription starts without waiting for that).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stream.ready.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS)))]);
      clearTimeout(timer);
      const accept = options.accept;
      return accept ? filterStream(stream, (event) => accept(event, ctx.principal, args)) : stream;
    },
    resolve: (event, args, ctx) => (options.resolve ? options.resolve(event, args, ctx) : event),
  };
}

/** A hotel ID argument of a live field: anything but a UUID can never have events. */
export function hotelScope(hotelId: unknown, field = 'hotelId'): string {
  if (typeof hotelId !== 'string' || !isUuid(hotelId)) throw new BadUserInputError([{ field, message: 'must be a valid hotel ID' }]);
  return hotelId;
}
