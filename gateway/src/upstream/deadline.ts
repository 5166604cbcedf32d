import type { ApolloServerPlugin } from '@apollo/server';

/** Options of the whole-request deadline. */
export interface RequestDeadlineOptions {
  /** Time a client request may spend on upstream fetches, from the moment Apollo Server starts it (ms). 0 = none. */
  deadlineMs: number;
}

export interface RequestDeadline {
  /** Apollo Server plugin: starts each request's clock, stops it when the response is sent. */
  plugin: ApolloServerPlugin<object>;
  /**
   * The request's deadline signal (keyed by the request context object the gateway hands each fetch);
   * undefined when there is no deadline. Aborts when the deadline passes: pending fetches are cancelled
   * and answer UPSTREAM_TIMEOUT, fetches not yet started are refused.
   */
  signalFor(context: unknown): AbortSignal | undefined;
  /** Starts a deadline for work that does not go through Apollo Server (a subscription event); returns its cleanup. */
  track(context: object, ms?: number): () => void;
}

/**
 * A deadline for the whole client request. Per-subgraph timeouts bound one attempt; a query plan can chain
 * several fetches (and retries), so without this a request could outlive the client waiting for it.
 * State lives in a WeakMap keyed by the per-request context: nothing survives the request.
 */
export function useRequestDeadline(options: RequestDeadlineOptions): RequestDeadline {
  const deadlines = new WeakMap<object, AbortSignal>();
  const { deadlineMs } = options;
  return {
    plugin: {
      async requestDidStart({ contextValue }) {
        if (!deadlineMs) return;
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), deadlineMs);
        timer.unref();
        deadlines.set(contextValue, controller.signal);
        return {
          async willSendResponse() {
            clearTimeout(timer);
          },
        };
      },
    },
    track(context, ms = deadlineMs) {
      if (!ms) return () => undefined;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), ms);
      timer.unref();
      deadlines.set(context, controller.signal);
      return () => clearTimeout(timer);
    },
    signalFor: (context) => (typeof context === 'object' && context !== null ? deadlines.get(context) : undefined),
  };
}
