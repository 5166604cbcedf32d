import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ErrorCode } from '../../../lib/src/errors.js';

/**
 * A request refused as a whole by a field's `@rateLimit` (nothing served, first error RATE_LIMITED; the
 * error shape plugin makes it a 429) also gets `Retry-After`: the longest `retryAfter` among its errors.
 */
export function retryAfterPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { errors, data } = response.body.singleResult;
          if (errors?.[0]?.extensions?.code !== ErrorCode.RATE_LIMITED) return;
          const nothingServed = data == null || Object.values(data).every((v) => v === null);
          if (!nothingServed) return;
          const waits = errors.filter((e) => e.extensions?.code === ErrorCode.RATE_LIMITED).map((e) => Number(e.extensions?.retryAfter) || 1);
          response.http.headers.set('retry-after', String(Math.max(...waits)));
        },
      };
    },
  };
}
