import { GraphQLError } from 'graphql';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createErrorMasker } from '../src/api/errors.js';
import { isDatabaseUnavailable } from '../src/db/postgres-errors.js';
import { DomainError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { query } from './helpers/pg-query.js';
import { until } from './helpers/wait.js';

// The shapes a lost database takes on its way up (seen in test/fault-postgres.test.ts: a proxy
// cut, a PostgreSQL stopped and started), and ones that must not be taken for it.

const prismaError = (code: string, cause?: Record<string, unknown>) =>
  Object.assign(new Error('Invalid `prisma.x()` invocation'), {
    name: 'PrismaClientKnownRequestError',
    code,
    meta: cause && {
      driverAdapterError: Object.assign(new Error('DriverAdapterError'), {
        name: 'DriverAdapterError',
        cause,
      }),
    },
  });
const socketError = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), {
    code,
    errno: -111,
    syscall: 'connect',
  });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['P1001 (cannot reach)', prismaError('P1001', { kind: 'DatabaseNotReachable' })],
    ['P1017 (connection closed)', prismaError('P1017', { kind: 'ConnectionClosed' })],
    ['P2024 (no pooled connection in time)', prismaError('P2024')],
    ['P2028 (transaction could not start)', prismaError('P2028')],
    [
      'P2010 with 57P01 (terminated by a shutdown)',
      prismaError('P2010', { kind: 'postgres', code: '57P01', severity: 'FATAL' }),
    ],
    [
      'P2010 with 57P03 (starting up)',
      prismaError('P2010', { kind: 'postgres', code: '57P03', severity: 'FATAL' }),
    ],
    [
      'P2010 with 08006 (connection failure)',
      prismaError('P2010', { kind: 'postgres', code: '08006' }),
    ],
    [
      'node-postgres "Connection terminated unexpectedly"',
      new Error('Connection terminated unexpectedly'),
    ],
    ['ECONNREFUSED', socketError('ECONNREFUSED')],
    ['an AggregateError of ECONNREFUSED', new AggregateError([socketError('ECONNREFUSED')], 'x')],
    ['wrapped as a GraphQL error', new GraphQLError('x', { originalError: prismaError('P1001') })],
  ])('recognises %s', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['P2002 (unique constraint)', prismaError('P2002', { kind: 'UniqueConstraintViolation' })],
    ['P2010 with 23505', prismaError('P2010', { kind: 'postgres', code: '23505' })],
    ['P2010 with 40001 (serialization)', prismaError('P2010', { kind: 'postgres', code: '40001' })],
    ['a domain error', new DomainError('NOT_FOUND', 'no such notification')],
    ['a plain bug', new TypeError('undefined is not a function')],
    ['a GraphQL error', new GraphQLError('Connection terminated')],
    ['not an error', 'Connection terminated'],
  ])('does not take %s for it', (_, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('isDatabaseUnavailable, on a real session that the server ends', () => {
  /** The error of `client`'s next statement after its session was ended, busy or idle. */
  async function errorAfterSessionEnds(busy: boolean) {
    const url = inject('postgresAdminUrl');
    const client = new pg.Client({ connectionString: url });
    const lost: Error[] = [];
    client.on('error', (error) => lost.push(error));
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!
      .pid;
    const statement = busy ? client.query('SELECT pg_sleep(10)').catch((error) => error) : null;
    if (busy)
      await until(
        () =>
          query(url, `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid]),
        (rows) => rows.length > 0,
        5000,
        'the statement running',
      );
    await query(url, 'SELECT pg_terminate_backend($1)', [pid]);
    if (statement) return (await statement) as Error;
    await until(
      async () => lost.length,
      (count) => count > 0,
      5000,
      'the client told of its lost connection',
    );
    return client.query('SELECT 1').then(
      () => undefined,
      (error: Error) => error,
    );
  }

  it('recognises the error of the statement running when the session ends (57P01)', async () => {
    const error = await errorAfterSessionEnds(true);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('recognises the next statement on a session that ended between two (no SQLSTATE)', async () => {
    const error = await errorAfterSessionEnds(false);
    expect(error?.message).toMatch(/not queryable/);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });
});

describe('the error masker', () => {
  const mask = createErrorMasker(createLogger('silent'));
  const asJson = (error: Error) => (error as GraphQLError).toJSON();

  it('answers a lost database with SERVICE_UNAVAILABLE, 503 and Retry-After, nothing about it', () => {
    const masked = mask(
      new GraphQLError('x', { originalError: prismaError('P1001'), path: ['sendNotification'] }),
      'Unexpected error.',
    );
    expect(asJson(masked)).toEqual({
      message: 'the service is temporarily unavailable; try again shortly',
      path: ['sendNotification'],
      extensions: {
        code: 'SERVICE_UNAVAILABLE',
        http: { status: 503, headers: { 'retry-after': '1' } },
      },
    });
  });

  it('gives a code to GraphQL errors that come without one', () => {
    const variable = mask(
      new GraphQLError('Variable "$n" got invalid value "x"'),
      'Unexpected error.',
    );
    expect(asJson(variable).extensions).toEqual({ code: 'BAD_USER_INPUT' });
    const field = mask(
      new GraphQLError('Int cannot represent 1.5', { path: ['a'] }),
      'Unexpected.',
    );
    expect(asJson(field).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    const coded = mask(
      new GraphQLError('too deep', { extensions: { code: 'QUERY_TOO_COMPLEX' } }),
      'Unexpected.',
    );
    expect(asJson(coded).extensions).toEqual({ code: 'QUERY_TOO_COMPLEX' });
  });

  it('answers unreadable JSON in a request (a GET with broken variables) with BAD_REQUEST, 400', () => {
    let syntaxError: unknown;
    try {
      JSON.parse('{');
    } catch (error) {
      syntaxError = error;
    }
    expect(asJson(mask(syntaxError, 'Unexpected error.')).extensions).toEqual({
      code: 'BAD_REQUEST',
      http: { status: 400 },
    });
  });

  it('still masks a bug as INTERNAL_SERVER_ERROR without its message', () => {
    const masked = mask(
      new GraphQLError('x', { originalError: new TypeError('secret detail') }),
      'Unexpected error.',
    );
    expect(asJson(masked).message).toBe('Unexpected error.');
    expect(asJson(masked).extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });
});
