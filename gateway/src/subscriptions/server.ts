import type http from 'node:http';
import { getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLFormattedError, type ValidationRule } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { correlationIdFrom, newCorrelationId } from '../../../lib/src/correlation.js';
import { ErrorCode, isAppError } from '../../../lib/src/errors.js';
import { ANONYMOUS, actorOf, type Principal } from '../../../lib/src/identity.js';
import type { Logger } from '../../../lib/src/logger.js';
import type { Metrics } from '../../../lib/src/metrics.js';
import { isAuthenticationError, type AuthService } from '../auth/index.js';
import type { GatewayContext } from '../context.js';
import { bearerToken } from '../edge/authenticate.js';
import type { FederatedSubscriptionEngine, SubscriptionPlan } from './engine.js';
import type { SubscriptionHub } from './hub.js';

/**
 * Close codes (docs/api.md "Subscriptions"). 4400, 4401, 4403, 4408, 4409, 4429 and 4500 are graphql-ws's
 * own; 4430 and 4431 are ours.
 */
export const CloseCodes = {
  /** No, bad, expired or revoked credential: reconnect with a fresh token. */
  Unauthorized: 4401,
  Forbidden: 4403,
  /** Too many connections for this client on this gateway. */
  TooManyConnections: 4430,
  /** The client did not read its events fast enough: its buffer filled up. */
  SlowConsumer: 4431,
  /** The gateway is shutting down: reconnect (to another replica). */
  GoingAway: 1001,
} as const;

export interface SubscriptionServerOptions {
  httpServer: http.Server;
  config: {
    WS_MAX_CONNECTIONS_PER_CLIENT: number;
    WS_MAX_CONNECTIONS: number;
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: number;
    WS_MAX_MESSAGE_BYTES: number;
    WS_CONNECTION_INIT_TIMEOUT_MS: number;
    WS_AUTH_RECHECK_MS: number;
    WS_KEEPALIVE_MS: number;
    SUBSCRIPTION_MAX_BUFFERED_BYTES: number;
  };
  auth: AuthService;
  engine: FederatedSubscriptionEngine;
  hub: SubscriptionHub;
  logger: Logger;
  metrics: Metrics;
  /** The admission limits HTTP uses (depth, cost, aliases, directives; token limit). */
  validationRules: ValidationRule[];
  maxTokens: number;
  /** The WebSocket side's error shape (index.ts): codes, masking, no suggestions, correlation ID. */
  formatError(error: GraphQLError, correlationId: string): GraphQLFormattedError;
}

/** What a connection knows about its caller, from connection_init. */
interface Session {
  principal: Principal;
  clientKey: string;
  correlationId: string;
  log: Logger;
  clientIp?: string;
  /** Re-checks the credential; throws AuthenticationError when it is no longer valid. */
  recheck?(): Promise<void>;
  timers: NodeJS.Timeout[];
}

type WsExtra = Extra & { session?: Session };
type WsContext = Context<Record<string, unknown> | undefined, WsExtra>;

interface OperationContext {
  gateway: GatewayContext;
  plan: SubscriptionPlan;
  query: string;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * graphql-ws (graphql-transport-ws) on the gateway's HTTP server, same path as HTTP (`/graphql`).
 *
 *  - connection_init carries `{ authorization: "Bearer <access token>" }` or `{ apiKey: "<key>" }`
 *    (nothing = anonymous). A bad credential closes 4401; the socket is closed 4401 when the token expires,
 *    and when a re-check (every WS_AUTH_RECHECK_MS) finds the token or API key revoked.
 *  - Limits: connections per client and in all (4430), subscriptions per connection (an error on that
 *    subscription), message size (ws closes 1009), connection_init timeout (4408), and the same
 *    depth / cost / alias / token limits as HTTP.
 *  - Only subscriptions: queries and mutations go over HTTP, where the client budget applies.
 *  - The WebSocket side bypasses Apollo Server (its plugins, formatError): the error shape, masking,
 *    admission limits and plan cache are applied here (GUIDE §5).
 */
export function startSubscriptionServer(options: SubscriptionServerOptions) {
  const { config, auth, engine, hub, logger, metrics } = options;
  const connections = metrics.gauge('innkeep_ws_connections', 'Open graphql-ws connections on this gateway', []);
  const subscriptions = metrics.gauge('innkeep_ws_subscriptions', 'Active client subscriptions on this gateway', []);
  const closed = metrics.counter('innkeep_ws_closed_total', 'WebSocket connections closed by the gateway, by reason', ['reason']);
  const refused = metrics.counter('innkeep_ws_subscriptions_refused_total', 'Subscriptions refused before any event, by code', ['code']);
  const perClient = new Map<string, number>();
  let open = 0;

  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: config.WS_MAX_MESSAGE_BYTES });
  const closeSocket = (socket: WebSocket, code: number, reason: string, metricReason: string) => {
    if (socket.readyState !== socket.OPEN && socket.readyState !== socket.CONNECTING) return;
    closed.inc({ reason: metricReason });
    socket.close(code, reason);
  };

  const authenticate = async (params: Record<string, unknown> | undefined, request: http.IncomingMessage): Promise<Omit<Session, 'log' | 'correlationId' | 'timers'> & { expiresAt?: number }> => {
    const authorization = typeof params?.authorization === 'string' ? params.authorization : undefined;
    const apiKey = typeof params?.apiKey === 'string' ? params.apiKey : undefined;
    const clientIp = request.socket.remoteAddress;
    if (authorization) {
      const token = bearerToken(authorization);
      const verified = await auth.verifyBearer(token);
      return {
        principal: verified.principal,
        clientKey: actorOf(verified.principal),
        expiresAt: verified.expiresAt,
        recheck: async () => void (await auth.verifyBearer(token)),
        ...(clientIp ? { clientIp } : {}),
      };
    }
    if (apiKey) {
      const principal = await auth.authenticateApiKey(apiKey);
      return { principal, clientKey: actorOf(principal), recheck: async () => void (await auth.authenticateApiKey(apiKey)), ...(clientIp ? { clientIp } : {}) };
    }
    return { principal: ANONYMOUS, clientKey: `ip:${clientIp ?? 'unknown'}`, ...(clientIp ? { clientIp } : {}) };
  };

  const release = (session: Session) => {
    for (const t of session.timers) clearTimeout(t);
    session.timers.length = 0;
    const left = (perClient.get(session.clientKey) ?? 1) - 1;
    if (left <= 0) perClient.delete(session.clientKey);
    else perClient.set(session.clientKey, left);
  };

  // graphql-ws hands `subscribe` only the execution args: remember which socket each operation's context
  // belongs to, so a slow subscriber's own socket can be closed.
  const sockets = new WeakMap<GatewayContext, WsExtra>();
  const inputError = (message: string, reason: string) => new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, reason } });

  const server = useServer<Record<string, unknown> | undefined, { session?: Session }>(
    {
      connectionInitWaitTimeout: config.WS_CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx: WsContext) => {
        const { socket, request } = ctx.extra;
        const correlationId = correlationIdFrom(request.headers['x-correlation-id']);
        const log = logger.child({ correlationId, component: 'subscriptions' });
        let identity: Awaited<ReturnType<typeof authenticate>>;
        try {
          identity = await authenticate(ctx.connectionParams, request);
        } catch (error) {
          if (isAuthenticationError(error)) {
            log.info({ reason: (error as { reason?: string }).reason }, 'WebSocket connection refused: bad credential');
            closeSocket(socket, CloseCodes.Unauthorized, `Unauthorized: ${(error as Error).message}`.slice(0, 120), 'unauthorized');
            return false;
          }
          if (isAppError(error, ErrorCode.SERVICE_UNAVAILABLE)) {
            log.warn({ err: error }, 'WebSocket connection refused: authentication dependency unavailable');
            closeSocket(socket, 4503, 'Authentication unavailable; retry shortly', 'auth_unavailable');
            return false;
          }
          throw error;
        }
        if (open >= config.WS_MAX_CONNECTIONS || (perClient.get(identity.clientKey) ?? 0) >= config.WS_MAX_CONNECTIONS_PER_CLIENT) {
          log.warn({ client: identity.clientKey }, 'WebSocket connection refused: too many connections');
          closeSocket(socket, CloseCodes.TooManyConnections, 'Too many connections for this client', 'too_many_connections');
          return false;
        }
        const session: Session = { ...identity, correlationId, log: log.child({ actor: actorOf(identity.principal) }), timers: [] };
        perClient.set(session.clientKey, (perClient.get(session.clientKey) ?? 0) + 1);
        open += 1;
        connections.set(open);
        ctx.extra.session = session;
        if (identity.expiresAt) {
          const ms = Math.min(identity.expiresAt * 1000 - Date.now(), MAX_TIMER_MS);
          session.timers.push(setTimeout(() => closeSocket(socket, CloseCodes.Unauthorized, 'Token expired: reconnect with a fresh token', 'token_expired'), Math.max(ms, 0)));
        }
        if (session.recheck) {
          const recheck = session.recheck;
          const tick = async () => {
            try {
              await recheck();
            } catch (error) {
              if (isAuthenticationError(error)) {
                session.log.info({ reason: error.reason }, 'WebSocket closed: credential no longer valid');
                return closeSocket(socket, CloseCodes.Unauthorized, `Credential no longer valid (${error.reason}): reconnect with a fresh token`, 'credential_revoked');
              }
              // The revocation store is down: keep the connection; the next check decides.
              session.log.warn({ err: error }, 'WebSocket credential re-check failed; keeping the connection until the next check');
            }
            if (socket.readyState === socket.OPEN) session.timers.push(setTimeout(tick, config.WS_AUTH_RECHECK_MS));
          };
          session.timers.push(setTimeout(tick, config.WS_AUTH_RECHECK_MS));
        }
        session.log.info({ client: session.clientKey }, 'WebSocket connection open');
        return true;
      },
      onClose: (ctx: WsContext, code) => {
        const session = ctx.extra.session;
        if (!session) return;
        release(session);
        open -= 1;
        connections.set(open);
        session.log.info({ code }, 'WebSocket connection closed');
      },
      onSubscribe: (ctx: WsContext, id, payload) => {
        const session = ctx.extra.session!;
        const correlationId = newCorrelationId();
        const refuse = (error: GraphQLError) => {
          refused.inc({ code: String(error.extensions.code ?? 'UNKNOWN') });
          return [error];
        };
        if (Object.keys(ctx.subscriptions).length > config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return refuse(new GraphQLError(`At most ${config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; complete one first`, { extensions: { code: ErrorCode.RATE_LIMITED, reason: 'TOO_MANY_SUBSCRIPTIONS' } }));
        }
        if (!engine.ready) return refuse(new GraphQLError('The gateway is starting; retry shortly', { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryable: true } }));
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: options.maxTokens });
        } catch (error) {
          return refuse(inputError((error as Error).message, 'GRAPHQL_PARSE_FAILED'));
        }
        const schema = engine.schema;
        const validationErrors = validate(schema, document, [...specifiedRules, ...options.validationRules]);
        if (validationErrors.length > 0) {
          return refuse(inputError(validationErrors.map((e) => e.message).join('; ').slice(0, 2000), 'GRAPHQL_VALIDATION_FAILED'));
        }
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (!operation) return refuse(inputError('Name the operation to run (operationName)', 'OPERATION_NAME_REQUIRED'));
        if (operation.operation !== 'subscription') {
          return refuse(inputError('Only subscriptions are served over the WebSocket; send queries and mutations over HTTP', 'NOT_A_SUBSCRIPTION'));
        }
        const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (coerced.errors) return refuse(inputError(coerced.errors.map((e) => e.message).join('; '), 'BAD_VARIABLES'));
        let plan: SubscriptionPlan;
        try {
          plan = engine.plan(payload.query, document, payload.operationName ?? undefined);
        } catch (error) {
          if (error instanceof GraphQLError) return refuse(error);
          session.log.error({ err: error }, 'subscription could not be planned');
          return refuse(new GraphQLError('This subscription could not be planned', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }));
        }
        const gateway: GatewayContext = {
          correlationId,
          log: session.log.child({ correlationId, operationName: payload.operationName ?? operation.name?.value }),
          principal: session.principal,
          ...(session.clientIp ? { clientIp: session.clientIp } : {}),
        };
        sockets.set(gateway, ctx.extra);
        gateway.log.info({ subgraph: plan.subgraph }, 'subscription started');
        const contextValue: OperationContext = { gateway, plan, query: payload.query };
        return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? {}, contextValue };
      },
      subscribe: (args) => {
        const { gateway, plan, query } = args.contextValue as OperationContext;
        subscriptions.inc();
        const extra = sockets.get(gateway);
        return hub.subscribe({
          query,
          plan,
          variables: (args.variableValues ?? {}) as Record<string, unknown>,
          context: gateway,
          onSlowConsumer: () => extra && closeSocket(extra.socket, CloseCodes.SlowConsumer, 'Slow consumer: too many undelivered events', 'slow_consumer'),
          onEnd: () => subscriptions.dec(),
          bufferedBytes: () => extra?.socket.bufferedAmount ?? 0,
          maxBufferedBytes: config.SUBSCRIPTION_MAX_BUFFERED_BYTES,
        }) as never;
      },
      // Results are shaped once per event by the hub (shared by every subscriber): send them as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result as never,
      onError: (ctx: WsContext, _id, _payload, errors) => {
        const correlationId = ctx.extra.session?.correlationId ?? newCorrelationId();
        return errors.map((e) => options.formatError(e, correlationId));
      },
    },
    wss,
    config.WS_KEEPALIVE_MS || undefined,
  );

  return {
    wss,
    stats: () => ({ connections: open, upstream: hub.sharedCount }),
    async close(): Promise<void> {
      hub.closeAll();
      for (const client of wss.clients) closeSocket(client, CloseCodes.GoingAway, 'Gateway shutting down', 'shutdown');
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
