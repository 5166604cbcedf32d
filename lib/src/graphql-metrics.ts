import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ErrorCode } from './errors.js';
import type { Metrics } from './metrics.js';

/**
 * Request metrics of a GraphQL server (gateway and subgraphs alike): rate, latency and outcome per
 * operation name, and errors by code. Operation names come from clients, so the label is bounded: a
 * name must look like a GraphQL name, and past `maxOperationNames` distinct ones new names count as
 * `other` — a client inventing names cannot grow the series without bound. Codes outside the error
 * contract count as `OTHER`.
 */
/** Codes that say the service failed the caller (the SLO's "bad" events); OTHER is an unmapped error. */
const SERVER_SIDE = new Set<string>([ErrorCode.INTERNAL_SERVER_ERROR, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.UPSTREAM_TIMEOUT, 'OTHER']);

export function graphqlMetricsPlugin<T extends BaseContext>(metrics: Metrics, options: { maxOperationNames?: number } = {}): ApolloServerPlugin<T> {
  const maxNames = options.maxOperationNames ?? 200;
  const names = new Set<string>();
  const requests = metrics.counter(
    'innkeep_graphql_requests_total',
    'GraphQL operations served, by operation name, type and outcome: ok (no errors), client_error (only errors of the caller: bad input, not found, refused, limited), server_error (at least one INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE or UPSTREAM_TIMEOUT: what the availability SLO counts)',
    [
    'operation',
    'type',
    'outcome',
    ] as const,
  );
  const duration = metrics.histogram(
    'innkeep_graphql_request_duration_seconds',
    'Time from receiving a GraphQL operation to sending its response, by operation name and type',
    ['operation', 'type'] as const,
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const errors = metrics.counter('innkeep_graphql_errors_total', 'GraphQL errors sent, by extensions.code (the error contract, docs/api.md)', ['code'] as const);
  const knownCodes = new Set<string>(Object.values(ErrorCode));

  const labelFor = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name)) return 'invalid';
    if (names.has(name)) return name;
    if (names.size >= maxNames) return 'other';
    names.add(name);
    return name;
  };

  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ response, operationName, operation }) {
          const operationLabel = labelFor(operationName);
          const type = operation?.operation ?? 'unknown';
          const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const sent = result?.errors ?? [];
          let outcome: 'ok' | 'client_error' | 'server_error' = sent.length ? 'client_error' : 'ok';
          for (const error of sent) {
            const raw = String(error.extensions?.code ?? 'OTHER');
            const code = knownCodes.has(raw) ? raw : 'OTHER';
            errors.inc({ code });
            if (SERVER_SIDE.has(code)) outcome = 'server_error';
          }
          requests.inc({ operation: operationLabel, type, outcome });
          duration.observe({ operation: operationLabel, type }, (performance.now() - startedAt) / 1000);
        },
      };
    },
  };
}
