import type { ApolloServerPlugin, BaseContext } from '@apollo/server';

/**
 * A whole request refused as UNAUTHENTICATED (no credentials on a protected field) answers 401 with the
 * RFC 6750 challenge, like a refused token does at the edge.
 */
export function challengeUnauthenticatedPlugin<T extends BaseContext>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.http.status === 401 && !response.http.headers.has('www-authenticate')) {
            response.http.headers.set('www-authenticate', 'Bearer realm="innkeep"');
          }
        },
      };
    },
  };
}
