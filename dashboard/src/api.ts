import { AuthError, type Session } from './auth.js';

/** The gateway answered with GraphQL errors (already in the contract shape: message + extensions.code). */
export class GraphQLRequestError extends Error {
  constructor(readonly errors: Array<{ message: string; extensions?: { code?: string } }>) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/**
 * One query over HTTP POST /graphql with the session's access token. A 401 (token expired or revoked
 * since we checked) gets one refresh and one retry; a refused refresh ends the session (AuthError).
 */
export async function query<T>(session: Session, document: string, variables: Record<string, unknown> = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const token = attempt === 0 ? await session.token() : await session.refresh();
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: document, variables }),
    });
    if (response.status === 401 && attempt === 0) continue;
    if (response.status === 401) throw new AuthError('Your session has ended: please log in again.');
    const body = (await response.json().catch(() => null)) as { data?: T | null; errors?: GraphQLRequestError['errors'] } | null;
    if (!body) throw new Error(`The gateway answered ${response.status} without a GraphQL body`);
    if (body.errors?.length) throw new GraphQLRequestError(body.errors);
    if (!body.data) throw new Error('The gateway answered without data');
    return body.data;
  }
}
