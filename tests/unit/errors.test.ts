/**
 * The one error boundary (GUIDE §3): every error any service returns carries a known code, `service`,
 * an ISO `timestamp` and the request's `correlationId`; unexpected errors are masked in production; a
 * request that failed as a whole gets the HTTP status of its code at the edge.
 */
import { describe, expect, it } from '@jest/globals';
import { ApolloServer } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  AppError,
  BadUserInputError,
  ErrorCode,
  createFormatError,
  errorShapePlugin,
  type CorrelatedContext,
} from '../../lib/src/errors.js';
import { DateScalar } from '../../lib/src/scalars.js';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const production = createFormatError({ service: 'booking', maskInternalErrors: true });
const development = createFormatError({ service: 'booking', maskInternalErrors: false });

const formatted = (message: string, extensions?: Record<string, unknown>): GraphQLFormattedError =>
  extensions === undefined ? { message } : { message, extensions };

describe('createFormatError', () => {
  const expectedCodes = Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR);
  it.each(expectedCodes)('keeps the known code %s and its message, even in production', (code) => {
    const out = production(formatted('Room 101 is already booked', { code }), undefined);
    expect(out.message).toBe('Room 101 is already booked');
    expect(out.extensions?.code).toBe(code);
  });

  it('keeps the other extensions a known error carries', () => {
    const out = production(formatted('slow down', { code: 'RATE_LIMITED', retryAfter: 7 }), undefined);
    expect(out.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 7 });
  });

  it('turns an error without a code into INTERNAL_SERVER_ERROR and masks its message in production', () => {
    const out = production(formatted('connect ECONNREFUSED 10.0.0.7:5432 (password=hunter2)'), undefined);
    expect(out.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(out.message).toBe('Internal server error');
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  it('masks the message of an INTERNAL_SERVER_ERROR in production (Apollo fills that code into code-less errors)', () => {
    const raw = formatted('duplicate key value violates unique constraint "guests_email_key"', { code: 'INTERNAL_SERVER_ERROR' });
    expect(production(raw, undefined)).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(development(raw, undefined).message).toBe(raw.message);
  });

  it('turns an unknown code into INTERNAL_SERVER_ERROR, keeping the original code as `reason`', () => {
    const out = production(formatted('P2024: timed out fetching a connection', { code: 'P2024' }), undefined);
    expect(out.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', reason: 'P2024' });
    expect(out.message).toBe('Internal server error');
  });

  it('leaves the message of an unexpected error readable when masking is off (development)', () => {
    const out = development(formatted('something odd happened', { code: 'WEIRD' }), undefined);
    expect(out.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(out.message).toBe('something odd happened');
  });

  it('drops stack traces in production', () => {
    const out = production(formatted('boom', { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['Error: boom', '    at secret.ts:1'] }), undefined);
    expect(out.extensions).not.toHaveProperty('stacktrace');
  });

  it.each(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'])('reports %s as BAD_USER_INPUT with the original code as `reason`', (code) => {
    const out = production(formatted('Syntax Error: Expected Name, found <EOF>.', { code }), undefined);
    expect(out.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: code });
    expect(out.message).toBe('Syntax Error: Expected Name, found <EOF>.'); // the client needs to see what is wrong
  });

  it('adds `service` and an ISO 8601 `timestamp`', () => {
    const before = Date.now();
    const out = production(formatted('nope', { code: 'NOT_FOUND' }), undefined);
    expect(out.extensions?.service).toBe('booking');
    const timestamp = out.extensions?.timestamp as string;
    expect(timestamp).toMatch(ISO_INSTANT);
    expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(timestamp)).toBeLessThanOrEqual(Date.now() + 1);
  });

  it('keeps the `service` and `timestamp` an upstream subgraph already set (the gateway passes them on)', () => {
    const gateway = createFormatError({ service: 'gateway', maskInternalErrors: true });
    const upstream = { code: 'CONFLICT', service: 'booking', timestamp: '2026-01-02T03:04:05.678Z' };
    const out = gateway(formatted('Room already booked', upstream), undefined);
    expect(out.extensions).toMatchObject(upstream);
  });

  it('names the offending field of a graphql-js variable-coercion error', () => {
    const message =
      'Variable "$input" got invalid value "x" at "input.checkIn"; Expected type "Date". must be a calendar date in the form YYYY-MM-DD';
    const out = production(formatted(message, { code: 'BAD_USER_INPUT' }), undefined);
    expect(out.extensions?.fields).toEqual([{ field: 'input.checkIn', message }]);
  });

  it('names the variable itself when the whole variable is wrong', () => {
    const message = 'Variable "$hotelId" of required type "ID!" was not provided.';
    const out = production(formatted(message, { code: 'BAD_USER_INPUT' }), undefined);
    expect(out.extensions?.fields).toEqual([{ field: 'hotelId', message }]);
  });

  it('keeps the `fields` a BadUserInputError already listed', () => {
    const fields = [{ field: 'input.guest.email', message: 'must be an email address' }];
    const out = production(formatted('Invalid input', { code: 'BAD_USER_INPUT', fields }), undefined);
    expect(out.extensions?.fields).toEqual(fields);
  });

  it('never throws, whatever it is given', () => {
    const hostile = new Proxy({} as GraphQLFormattedError, {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    });
    const weirdInputs: unknown[] = [
      null,
      undefined,
      42,
      'a string',
      hostile,
      { message: 'numeric code', extensions: { code: 500 } },
      { message: 'null extensions', extensions: null },
      { extensions: { code: 'BAD_USER_INPUT' } }, // no message
      { message: 'x', extensions: { get code(): string { throw new Error('getter'); } } },
    ];
    for (const input of weirdInputs) {
      let out: GraphQLFormattedError | undefined;
      expect(() => {
        out = production(input as GraphQLFormattedError, input);
      }).not.toThrow();
      expect(Object.values(ErrorCode)).toContain(out?.extensions?.code);
      expect(out?.extensions?.service).toBe('booking');
      expect(out?.extensions?.timestamp).toMatch(ISO_INSTANT);
    }
  });
});

// ───────────── through a real Apollo Server ─────────────

const typeDefs = /* GraphQL */ `
  scalar Date
  input StayInput {
    checkIn: Date!
  }
  type Query {
    quote(checkIn: String!): String!
    crash: String!
    booking: String!
    slow: String!
    fine: String
    flaky: String
    stay(input: StayInput!): String
  }
`;

const resolvers = {
  Date: DateScalar,
  Query: {
    quote: () => {
      throw new BadUserInputError([{ field: 'checkIn', message: 'must not be in the past' }]);
    },
    crash: () => {
      throw new Error('relation "booking.bookings" does not exist');
    },
    booking: () => {
      throw new AppError(ErrorCode.NOT_FOUND, 'Booking IK-0000 was not found');
    },
    slow: () => {
      throw new AppError(ErrorCode.UPSTREAM_TIMEOUT, 'hotel did not answer in time');
    },
    fine: () => 'fine',
    flaky: () => {
      throw new Error('flaky');
    },
    stay: () => 'ok',
  },
};

async function serve(setHttpStatus: boolean) {
  const server = new ApolloServer<CorrelatedContext>({
    typeDefs,
    resolvers,
    formatError: createFormatError({ service: 'gateway', maskInternalErrors: true }),
    includeStacktraceInErrorResponses: false,
    plugins: [errorShapePlugin<CorrelatedContext>({ setHttpStatus })],
  });
  await server.start();
  return server;
}

async function run(setHttpStatus: boolean, query: string, variables?: Record<string, unknown>) {
  const server = await serve(setHttpStatus);
  try {
    const response = await server.executeOperation(
      { query, variables },
      { contextValue: { correlationId: 'req-0123456789' } },
    );
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return { status: response.http.status, result: response.body.singleResult };
  } finally {
    await server.stop();
  }
}

describe('errorShapePlugin', () => {
  it('stamps the request correlation ID, service and timestamp on every error', async () => {
    const { result } = await run(false, '{ quote(checkIn: "2020-01-01") }');
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'checkIn', message: 'must not be in the past' }],
      correlationId: 'req-0123456789',
      service: 'gateway',
    });
    expect(result.errors?.[0]?.extensions?.timestamp).toMatch(ISO_INSTANT);
  });

  it('keeps a correlation ID an upstream error already carries', async () => {
    const server = new ApolloServer<CorrelatedContext>({
      typeDefs: 'type Query { upstream: String! }',
      resolvers: {
        Query: {
          upstream: () => {
            throw new GraphQLError('from booking', { extensions: { code: 'CONFLICT', correlationId: 'upstream-id-42' } });
          },
        },
      },
      plugins: [errorShapePlugin<CorrelatedContext>({ setHttpStatus: true })],
    });
    await server.start();
    try {
      const response = await server.executeOperation({ query: '{ upstream }' }, { contextValue: { correlationId: 'req-0123456789' } });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      expect(response.body.singleResult.errors?.[0]?.extensions?.correlationId).toBe('upstream-id-42');
    } finally {
      await server.stop();
    }
  });

  it('at the edge, a request that failed as a whole with BAD_USER_INPUT answers HTTP 400', async () => {
    const { status, result } = await run(true, '{ quote(checkIn: "2020-01-01") }');
    expect(result.data).toBeNull();
    expect(status).toBe(400);
  });

  it('at the edge, a request that crashed as a whole answers HTTP 500 with a masked message', async () => {
    const { status, result } = await run(true, '{ crash }');
    expect(result.data).toBeNull();
    expect(status).toBe(500);
    expect(result.errors?.[0]).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId: 'req-0123456789' },
    });
    expect(JSON.stringify(result)).not.toContain('booking.bookings');
  });

  it('leaves HTTP 200 for codes the contract gives no status (NOT_FOUND, UPSTREAM_TIMEOUT)', async () => {
    for (const query of ['{ booking }', '{ slow }']) {
      const { status, result } = await run(true, query);
      expect(result.data).toBeNull();
      expect(status).toBeUndefined();
    }
  });

  it('leaves HTTP 200 when part of the data could be served', async () => {
    const { status, result } = await run(true, '{ fine flaky }');
    expect(result.data).toEqual({ fine: 'fine', flaky: null });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', correlationId: 'req-0123456789' });
    expect(status).toBeUndefined();
  });

  it('in a subgraph (setHttpStatus false) keeps HTTP 200 so the gateway still sees the error codes', async () => {
    for (const query of ['{ quote(checkIn: "2020-01-01") }', '{ crash }']) {
      const { status, result } = await run(false, query);
      expect(result.data).toBeNull();
      expect(status ?? 200).toBe(200);
    }
    const badVariable = await run(false, 'query Stay($input: StayInput!) { stay(input: $input) }', { input: { checkIn: 'x' } });
    expect(badVariable.result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ field: 'input.checkIn' }] });
    expect(badVariable.status ?? 200).toBe(200);
  });

  it('reports a badly typed variable as BAD_USER_INPUT naming the field, with HTTP 400', async () => {
    const { status, result } = await run(true, 'query Stay($input: StayInput!) { stay(input: $input) }', {
      input: { checkIn: '2026-02-30' },
    });
    expect(status).toBe(400);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'input.checkIn' }],
      correlationId: 'req-0123456789',
    });
  });

  it('reports a query that does not validate as BAD_USER_INPUT (GRAPHQL_VALIDATION_FAILED), with HTTP 400', async () => {
    const { status, result } = await run(true, '{ nope }');
    expect(status).toBe(400);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'GRAPHQL_VALIDATION_FAILED',
      correlationId: 'req-0123456789',
    });
  });
});
