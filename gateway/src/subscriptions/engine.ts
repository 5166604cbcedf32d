import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import { inSpan } from '../../../lib/src/tracing.js';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Logger } from '../../../lib/src/logger.js';
import type { GatewayContext } from '../context.js';

/**
 * Federated subscriptions on `@apollo/gateway` (GUIDE §5): `@apollo/gateway` refuses to execute a
 * subscription plan, but its query planner plans one — a `Subscription` node whose `primary` is a ready
 * subscription operation for the owning subgraph and whose `rest` fetches every other field. So:
 *
 *   1. plan the client's document with our own QueryPlanner over the same supergraph;
 *   2. subscribe upstream with `primary.operation` (gateway/src/subscriptions/upstream.ts);
 *   3. per event, run `executeQueryPlan` on `Sequence[primary, rest]`, with the owning subgraph's data
 *      source answering the primary fetch with the event itself and every other fetch going through the
 *      normal data sources (signed with the subscriber's identity, under each subgraph's policy).
 *
 * The planner and schemas are rebuilt from the gateway's public `onSchemaLoadOrUpdate` hook; the
 * internals used (`Supergraph`, `QueryPlanner`, `executeQueryPlan`, `buildOperationContext`) are pinned
 * to the gateway's exact version in package.json, and tests/e2e/subscriptions.test.ts is their contract test.
 */

export interface SubscriptionPlan {
  /** The subgraph that owns the root field: the upstream subscription goes there. */
  subgraph: string;
  /** The subgraph subscription operation (with its variable usages). */
  primary: FetchNode;
  /** What each event needs from the other subgraphs (absent when the owning subgraph serves everything). */
  rest?: PlanNode;
  /** `Sequence[primary, rest]`: what runs per event. */
  perEvent: QueryPlan;
  document: DocumentNode;
  operationName?: string;
}

interface SchemaState {
  supergraphSchema: GraphQLSchema;
  apiSchema: Schema;
  /** graphql-js API schema for validation and result shaping: our own copy (Apollo Server wraps the gateway's in place). */
  apiGraphQLSchema: GraphQLSchema;
  planner: QueryPlanner;
  plans: Map<string, SubscriptionPlan>;
  /** Subgraph URLs as the supergraph declares them. */
  urls: Map<string, string>;
}

const PLAN_CACHE_SIZE = 500;

export class FederatedSubscriptionEngine {
  private state: SchemaState | null = null;

  constructor(
    /** The same data sources the gateway uses (one per subgraph, with its policy). */
    private readonly dataSources: (name: string) => GraphQLDataSource<GatewayContext> | undefined,
    private readonly logger: Logger,
  ) {}

  /** Called with the supergraph SDL whenever the gateway loads or updates its schema. */
  update(coreSupergraphSdl: string): void {
    const supergraph = Supergraph.build(coreSupergraphSdl);
    const apiSchema = supergraph.apiSchema();
    this.state = {
      supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
      apiSchema,
      apiGraphQLSchema: apiSchema.toGraphQLJSSchema(),
      planner: new QueryPlanner(supergraph),
      plans: new Map(),
      urls: new Map([...supergraph.subgraphs().values()].map((s) => [s.name, s.url])),
    };
    this.logger.debug('subscription planner rebuilt for the supergraph');
  }

  get ready(): boolean {
    return this.state !== null;
  }

  /** The API schema (graphql-js) subscriptions are validated against. */
  get schema(): GraphQLSchema {
    return this.current().apiGraphQLSchema;
  }

  /** A subgraph's URL as the supergraph declares it. */
  subgraphUrl(name: string): string | undefined {
    return this.state?.urls.get(name);
  }

  /** Plans a validated subscription document; plans are cached by query text + operation name. */
  plan(query: string, document: DocumentNode, operationName: string | undefined): SubscriptionPlan {
    const state = this.current();
    const key = `${operationName ?? ''}\n${query}`;
    const cached = state.plans.get(key);
    if (cached) {
      // LRU: most recently used last.
      state.plans.delete(key);
      state.plans.set(key, cached);
      return cached;
    }
    const operation = operationFromDocument(state.apiSchema, document, operationName ? { operationName } : {});
    const queryPlan = state.planner.buildQueryPlan(operation);
    const node = queryPlan.node;
    if (node?.kind !== 'Subscription') {
      throw new GraphQLError('Only subscription operations are served over the WebSocket; send queries and mutations over HTTP', {
        extensions: { code: 'BAD_USER_INPUT', reason: 'NOT_A_SUBSCRIPTION' },
      });
    }
    const plan: SubscriptionPlan = {
      subgraph: node.primary.serviceName,
      primary: node.primary,
      ...(node.rest ? { rest: node.rest } : {}),
      perEvent: { kind: 'QueryPlan', node: node.rest ? { kind: 'Sequence', nodes: [node.primary, node.rest] } : node.primary },
      document,
      ...(operationName ? { operationName } : {}),
    };
    if (state.plans.size >= PLAN_CACHE_SIZE) state.plans.delete(state.plans.keys().next().value!);
    state.plans.set(key, plan);
    return plan;
  }

  /** The variables the primary (upstream) operation uses. */
  primaryVariables(plan: SubscriptionPlan, variables: Record<string, unknown>): Record<string, unknown> {
    const used: Record<string, unknown> = {};
    for (const name of plan.primary.variableUsages ?? []) if (variables[name] !== undefined) used[name] = variables[name];
    return used;
  }

  /**
   * One event → the client's full result: the primary fetch is answered with the event, the rest of the
   * plan runs as a normal federated query with `context` (the subscriber's identity).
   */
  async execute(plan: SubscriptionPlan, event: ExecutionResult, context: GatewayContext, variables: Record<string, unknown>): Promise<ExecutionResult> {
    const state = this.current();
    const owner = this.dataSources(plan.subgraph);
    const primaryQuery = plan.primary.operation;
    const serviceMap = new Proxy({} as ServiceMap, {
      get: (_, name: string) => {
        if (name !== plan.subgraph) return this.dataSources(name);
        // The owning subgraph: its first fetch IS the event; any later fetch (e.g. Booking → Hotel → Booking)
        // goes to it for real.
        const source: GraphQLDataSource<GatewayContext> = {
          process: async (options) =>
            options.request.query === primaryQuery ? { data: event.data ?? null, ...(event.errors ? { errors: event.errors as never } : {}) } : owner!.process(options),
        };
        return source;
      },
    });
    const requestContext = {
      request: { query: primaryQuery, variables, ...(plan.operationName ? { operationName: plan.operationName } : {}) },
      context,
      logger: context.log,
      metrics: {},
      document: plan.document,
      operationName: plan.operationName ?? null,
      cache: undefined,
      schema: state.apiGraphQLSchema,
      queryHash: '',
    };
    const operationContext = buildOperationContext({ schema: state.apiGraphQLSchema, operationDocument: plan.document, ...(plan.operationName ? { operationName: plan.operationName } : {}) });
    // One trace per event execution (its entity fetches are child spans); tracing off: no cost.
    const result = await inSpan(`subscription event ${plan.operationName ?? 'anonymous'}`, { 'graphql.operation.type': 'subscription' }, () =>
      executeQueryPlan(plan.perEvent, serviceMap, requestContext as never, operationContext, state.supergraphSchema, state.apiSchema),
    );
    return { data: (result.data ?? null) as ExecutionResult['data'], ...(result.errors?.length ? { errors: result.errors as GraphQLError[] } : {}) };
  }

  private current(): SchemaState {
    if (!this.state) throw new GraphQLError('The gateway has not loaded its supergraph yet; retry shortly', { extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true } });
    return this.state;
  }
}
