import type http from 'node:http';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { correlationIdFrom } from './correlation.js';
import { createFormatError, ErrorCode } from './errors.js';
import { ANONYMOUS, type Principal } from './identity.js';
import { InternalTokenError, InternalTokenVerifier, verifyBearer } from './internal-token.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { SubgraphContext } from './subgraph.js';

/**
 * The subgraph side of live subscriptions: graphql-ws (`graphql-transport-ws`) on the subgraph's own HTTP
 * server, path `/graphql`. Only the gateway talks to it (docs/architecture.md "Events and subscriptions"):
 *
 *  - `connection_init` payload `{ authorization: 'Bearer <internal token>' }` — the gateway's own
 *    identity (principal `service:gateway`, audience this subgraph). Anything else: close 4401.
 *  - every `subscribe` carries the SUBSCRIBER's internal token in `payload.extensions.authorization`; that
 *    principal (not the connection's) is the context for subscribe and for every event, and its
 *    correlation ID goes on the context and the log. Missing / invalid: one `error` message UNAUTHENTICATED.
 *  - subscriptions only (queries and mutations: `error` BAD_USER_INPUT — they are served over HTTP).
 *  - a refusal (token, validation, the field's subscribe-time authorization) is ONE `error` message with
 *    GraphQL errors in the contract shape, before any event; nothing else is sent for that operation.
 *  - each event is executed with a fresh context (fresh DataLoaders and rule cache), so a long-lived
 *    subscription neither serves stale rows nor grows per-request caches without bound.
 *
 * It bypasses Apollo Server (GUIDE §5), so the error shape, masking and logging are applied here.
 */
export interface SubscriptionServerOptions<TContext extends SubgraphContext> {
  service: string;
  httpServer: http.Server;
  schema: GraphQLSchema;
  secret: string;
  /** SUBGRAPH_ALLOW_DIRECT (development): a MISSING token passes as anonymous, as over HTTP. */
  allowDirect: boolean;
  production: boolean;
  logger: Logger;
  metrics: Metrics;
  createContext(base: SubgraphContext): TContext;
  /** Largest accepted WebSocket message (bytes). */
  maxPayloadBytes?: number;
}

export interface SubscriptionServer {
  /** Closes every connection with 1001 (going away) and stops accepting new ones. */
  dispose(): Promise<void>;
}

/** The close code for a connection without the gateway's valid internal token. */
export const CLOSE_UNAUTHORIZED = 4401;
/** Who may open the WebSocket: the gateway only. */
const GATEWAY = { kind: 'service', id: 'gateway' } as const;

interface Active {
  correlationId: string;
  log: Logger;
}

export function serveSubscriptions<TContext extends SubgraphContext>(options: SubscriptionServerOptions<TContext>): SubscriptionServer {
  const { schema, service } = options;
  const verifier = new InternalTokenVerifier(options.secret, service);
  const format = createFormatError({ service, maskInternalErrors: options.production });
  const log = options.logger.child({ component: 'subscriptions' });
  const activeGauge = options.metrics.gauge('innkeep_subscriptions_active', 'Live subscriptions served by this subgraph, by root field', ['field'] as const);
  const refusals = options.metrics.counter('innkeep_subscription_refusals_total', 'Subscriptions refused before any event, by error code', ['code'] as const);
  for (const field of Object.keys(schema.getSubscriptionType()?.getFields() ?? {})) activeGauge.set({ field }, 0);

  /** Per connection: the subscriptions that got as far as a stream (for their errors' correlation ID). */
  const activeByConnection = new WeakMap<Context, Map<string, Active>>();
  /** The ready stream of each accepted operation, handed from onSubscribe to graphql-ws's `subscribe`. */
  const streams = new WeakMap<ExecutionArgs, AsyncIterableIterator<ExecutionResult>>();

  const shape = (error: GraphQLError, correlationId: string, errorLog: Logger): GraphQLFormattedError => {
    const formatted = format(error.toJSON(), error);
    const code = formatted.extensions?.code;
    if (code === ErrorCode.INTERNAL_SERVER_ERROR) errorLog.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error in a subscription');
    return { ...formatted, extensions: { ...formatted.extensions, correlationId: formatted.extensions?.correlationId ?? correlationId } };
  };
  const refuse = (errors: readonly GraphQLError[], correlationId: string): GraphQLError[] => {
    refusals.inc({ code: String(errors[0]?.extensions?.code ?? ErrorCode.BAD_USER_INPUT) });
    return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, path: e.path, originalError: e.originalError ?? e, extensions: { ...e.extensions, correlationId } }));
  };
  const coded = (code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) => new GraphQLError(message, { extensions: { code, ...extensions } });

  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: options.maxPayloadBytes ?? 1024 * 1024 });
  const server = useServer<Record<string, unknown>>(
    {
      schema,
      // The gateway's own identity, once per connection.
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        if (authorization === undefined && options.allowDirect) return true;
        try {
          const claims = await verifyBearer(verifier, authorization);
          if (claims.principal.kind === GATEWAY.kind && claims.principal.id === GATEWAY.id) return true;
          log.info({ principal: `${claims.principal.kind}:${claims.principal.id}` }, 'subscription connection refused: not the gateway');
        } catch (error) {
          log.info({ reason: error instanceof InternalTokenError ? error.message : 'internal token invalid' }, 'subscription connection refused');
        }
        ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
        return false;
      },
      onSubscribe: async (ctx, id, payload) => {
        // 1. Who subscribes: nothing else is looked at without a valid subscriber token.
        const authorization = (payload.extensions as Record<string, unknown> | undefined | null)?.authorization;
        let principal: Principal = ANONYMOUS;
        let correlationId = correlationIdFrom(undefined);
        let clientIp: string | undefined;
        if (authorization !== undefined || !options.allowDirect) {
          try {
            const claims = await verifyBearer(verifier, authorization);
            principal = claims.principal;
            clientIp = claims.clientIp;
            if (claims.correlationId && correlationIdFrom(claims.correlationId) === claims.correlationId) correlationId = claims.correlationId;
          } catch (error) {
            const reason = error instanceof InternalTokenError ? error.message : 'internal token invalid';
            log.info({ correlationId, reason }, 'subscription refused: subscriber token');
            return refuse([coded(ErrorCode.UNAUTHENTICATED, `A subscriber token is required in payload.extensions.authorization (${reason})`)], correlationId);
          }
        }
        const subLog = log.child({ correlationId, subscriptionId: id });

        // 2. The operation: parsed, valid, and a subscription.
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: 3000 });
        } catch (error) {
          return refuse([coded(ErrorCode.BAD_USER_INPUT, (error as Error).message, { reason: 'GRAPHQL_PARSE_FAILED' })], correlationId);
        }
        const invalid = validate(schema, document);
        if (invalid.length) return refuse(invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })), correlationId);
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (!operation) return refuse([coded(ErrorCode.BAD_USER_INPUT, 'Unable to identify the operation: give operationName')], correlationId);
        if (operation.operation !== 'subscription') {
          return refuse([coded(ErrorCode.BAD_USER_INPUT, `This WebSocket serves subscriptions only: send ${operation.operation} operations over HTTP POST /graphql`)], correlationId);
        }
        const field = operation.selectionSet.selections[0]?.kind === 'Field' ? operation.selectionSet.selections[0].name.value : 'unknown';

        // 3. Subscribe-time authorization happens inside the field's `subscribe` (it throws a coded error).
        const base: SubgraphContext = { correlationId, log: subLog, principal, ...(clientIp ? { clientIp } : {}) };
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          rootValue: undefined,
          contextValue: options.createContext(base),
        };
        let source: AsyncIterable<unknown> | ExecutionResult;
        try {
          source = await createSourceEventStream(args);
        } catch (error) {
          return refuse([error instanceof GraphQLError ? error : coded(ErrorCode.INTERNAL_SERVER_ERROR, (error as Error)?.message ?? String(error))], correlationId);
        }
        if (!isAsyncIterable(source)) return refuse(source.errors?.length ? source.errors : [coded(ErrorCode.INTERNAL_SERVER_ERROR, 'subscription did not start')], correlationId);

        activeGauge.inc({ field });
        let active = activeByConnection.get(ctx);
        if (!active) activeByConnection.set(ctx, (active = new Map()));
        active.set(id, { correlationId, log: subLog });
        subLog.debug({ field, principal: `${principal.kind}:${principal.id}` }, 'subscription started');
        streams.set(
          args,
          eventResults(
            source[Symbol.asyncIterator](),
            // A fresh context per event: fresh DataLoaders (no stale rows) and a fresh rule cache.
            (event) => execute({ ...args, rootValue: event, contextValue: options.createContext(base) }),
            () => {
              activeGauge.dec({ field });
              subLog.debug({ field }, 'subscription ended');
            },
          ),
        );
        return args;
      },
      // The stream prepared (and authorized) in onSubscribe.
      subscribe: (args) => streams.get(args) ?? { errors: [coded(ErrorCode.INTERNAL_SERVER_ERROR, 'subscription stream missing')] },
      execute: () => ({ errors: [coded(ErrorCode.BAD_USER_INPUT, 'This WebSocket serves subscriptions only')] }),
      onNext: (ctx, id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        const active = activeByConnection.get(ctx)?.get(id);
        const correlationId = active?.correlationId ?? correlationIdFrom(undefined);
        const formatted: FormattedExecutionResult = { ...result, errors: result.errors.map((e) => shape(e, correlationId, active?.log ?? log)) };
        return formatted;
      },
      onError: (ctx, id, _payload, errors) => {
        const active = activeByConnection.get(ctx)?.get(id);
        const fallback = errors.map((e) => e.extensions?.correlationId).find((c): c is string => typeof c === 'string');
        const correlationId = active?.correlationId ?? fallback ?? correlationIdFrom(undefined);
        return errors.map((e) => shape(e, correlationId, active?.log ?? log));
      },
      onComplete: (ctx, id) => {
        activeByConnection.get(ctx)?.delete(id);
      },
    },
    wss,
  );
  // A broken socket or a bad frame closes that connection; it must never reach the process.
  wss.on('error', (error) => log.error({ err: error }, 'WebSocket server error'));
  wss.on('connection', (socket) => socket.on('error', (error) => log.warn({ err: error }, 'WebSocket connection error')));
  return {
    async dispose() {
      await server.dispose();
    },
  };
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

/**
 * Source events → execution results, without an `async function*` (whose `return()` would wait for the
 * next event): `return()` reaches the source at once, and `onEnd` runs exactly once however it ends.
 */
function eventResults(
  source: AsyncIterator<unknown>,
  run: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
  onEnd: () => void,
): AsyncIterableIterator<ExecutionResult> {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  return {
    async next() {
      if (ended) return DONE;
      let step: IteratorResult<unknown>;
      try {
        step = await source.next();
      } catch (error) {
        end();
        // graphql-ws wraps it in a GraphQLError (keeping its extensions, e.g. SLOW_CONSUMER) and ends the operation.
        throw error;
      }
      if (step.done || ended) {
        end();
        return DONE;
      }
      try {
        return { value: await run(step.value), done: false };
      } catch (error) {
        // execute() reports resolver errors in the result; anything thrown here is ours: report, go on.
        return { value: { errors: [new GraphQLError((error as Error)?.message ?? String(error), { originalError: error as Error })] }, done: false };
      }
    },
    async return() {
      end();
      await source.return?.();
      return DONE;
    },
    async throw() {
      end();
      await source.return?.();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
