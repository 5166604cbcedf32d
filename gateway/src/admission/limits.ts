import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';

export interface AdmissionLimitOptions {
  MAX_QUERY_DEPTH: number;
  MAX_QUERY_COST: number;
  MAX_QUERY_ALIASES: number;
  MAX_QUERY_TOKENS: number;
  MAX_QUERY_DIRECTIVES: number;
}

/**
 * Depth, cost, alias and directive limits with graphql-armor, and no field suggestions (they map the
 * schema for an attacker). Refusals are GraphQL validation errors: BAD_USER_INPUT with
 * `reason: GRAPHQL_VALIDATION_FAILED` and a message naming the limit.
 *
 * The token limit uses graphql-js's own `parse(…, { maxTokens })` (Apollo's `parseOptions`) instead of
 * armor's max-tokens plugin: that plugin throws from `parsingDidStart`, which Apollo Server answers as a
 * 500 without our error shape; graphql-js's limit is a normal parse failure (400, BAD_USER_INPUT).
 */
export function admissionLimits(options: AdmissionLimitOptions) {
  const armor = new ApolloArmor({
    maxDepth: { n: options.MAX_QUERY_DEPTH, ignoreIntrospection: true },
    costLimit: { maxCost: options.MAX_QUERY_COST, ignoreIntrospection: true },
    maxAliases: { n: options.MAX_QUERY_ALIASES },
    maxTokens: { enabled: false },
    maxDirectives: { n: options.MAX_QUERY_DIRECTIVES },
    blockFieldSuggestion: { enabled: true },
  });
  const { plugins, validationRules } = armor.protect();
  // graphql-armor's types point at Apollo Server's CommonJS declarations; the objects are the same.
  return {
    plugins: plugins as unknown as ApolloServerPlugin<BaseContext>[],
    validationRules: validationRules as ValidationRule[],
    parseOptions: { maxTokens: options.MAX_QUERY_TOKENS },
  };
}
