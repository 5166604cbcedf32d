/**
 * The small building blocks every service leans on: money, dates and instants, correlation IDs, input
 * validation, booking references and "today" in a hotel's own time zone.
 */
import { describe, expect, it } from '@jest/globals';
import { Kind, type ValueNode } from 'graphql';
import { z } from 'zod';
import { isCurrencyCode, money } from '../../lib/src/money.js';
import { DateScalar, DateTimeScalar, fromIsoDate, isIsoDate, toIsoDate } from '../../lib/src/scalars.js';
import { correlationIdFrom } from '../../lib/src/correlation.js';
import { validateInput } from '../../lib/src/validation.js';
import { BadUserInputError } from '../../lib/src/errors.js';
import { newReference } from '../../subgraphs/booking/src/bookings.js';
import { todayIn } from '../../subgraphs/booking/src/inventory.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const stringLiteral = (value: string): ValueNode => ({ kind: Kind.STRING, value });
const intLiteral = (value: string): ValueNode => ({ kind: Kind.INT, value });

describe('money', () => {
  it('shows euros with two decimals', () => {
    expect(money(18900, 'EUR')).toEqual({ amount: '189.00', amountMinor: 18900, currency: 'EUR' });
    expect(money(5, 'EUR').amount).toBe('0.05');
    expect(money(0, 'EUR').amount).toBe('0.00');
    expect(money(-150, 'EUR').amount).toBe('-1.50');
  });

  it('shows yen without decimals (the minor unit is the yen)', () => {
    expect(money(18900, 'JPY')).toEqual({ amount: '18900', amountMinor: 18900, currency: 'JPY' });
  });

  it('shows Bahraini dinars with three decimals', () => {
    expect(money(1234, 'BHD').amount).toBe('1.234');
  });

  it('never loses a cent to floating point', () => {
    for (let minor = 0; minor <= 250_000; minor += 7) {
      const expected = `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
      if (money(minor, 'EUR').amount !== expected) throw new Error(`${minor} cents shown as ${money(minor, 'EUR').amount}`);
    }
  });

  it('recognises ISO 4217 currency codes and refuses anything else', () => {
    for (const code of ['EUR', 'CHF', 'JPY', 'USD', 'GBP']) expect(isCurrencyCode(code)).toBe(true);
    for (const code of ['eur', 'EURO', 'EU', '', 'E1R', ' EUR', 'XYZ', 'ABC']) expect(isCurrencyCode(code)).toBe(false);
  });
});

describe('Date scalar', () => {
  it('accepts real calendar dates, leap days included', () => {
    expect(DateScalar.parseValue('2026-02-28')).toBe('2026-02-28');
    expect(DateScalar.parseValue('2028-02-29')).toBe('2028-02-29');
    expect(DateScalar.parseLiteral(stringLiteral('2026-12-31'), undefined)).toBe('2026-12-31');
  });

  it.each(['2026-02-30', '2027-02-29', '2026-13-01', '2026-00-10', '2026-2-1', '26-02-01', '2026-02-01T00:00:00Z', '', 'tomorrow'])(
    'refuses %p',
    (value) => {
      expect(isIsoDate(value)).toBe(false);
      expect(() => DateScalar.parseValue(value)).toThrow(/YYYY-MM-DD/);
      expect(() => DateScalar.parseLiteral(stringLiteral(value), undefined)).toThrow(/YYYY-MM-DD/);
    },
  );

  it('refuses numbers and other non-strings', () => {
    for (const value of [20260228, null, undefined, {}, true]) expect(() => DateScalar.parseValue(value)).toThrow();
    expect(() => DateScalar.parseLiteral(intLiteral('20260228'), undefined)).toThrow();
  });

  it('serializes a stored DATE column (UTC midnight) as the day it stands for', () => {
    expect(DateScalar.serialize(new Date('2026-03-29T00:00:00Z'))).toBe('2026-03-29');
    expect(DateScalar.serialize('2026-03-29')).toBe('2026-03-29');
    expect(() => DateScalar.serialize('2026-02-30')).toThrow();
    expect(toIsoDate(fromIsoDate('2026-10-25'))).toBe('2026-10-25');
  });
});

describe('DateTime scalar', () => {
  it('accepts ISO 8601 instants in UTC or with an offset', () => {
    expect(DateTimeScalar.parseValue('2026-01-02T03:04:05Z')).toEqual(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(DateTimeScalar.parseValue('2026-01-02T03:04:05.678+02:00')).toEqual(new Date(Date.UTC(2026, 0, 2, 1, 4, 5, 678)));
    expect(DateTimeScalar.parseLiteral(stringLiteral('2026-01-02T03:04:05Z'), undefined)).toEqual(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  });

  it.each(['2026-02-30T10:00:00Z', 'not a date', '', '2026', 'March 7, 2026 10:00', '2026-01-02T03:04:05'])('refuses %p', (value) => {
    expect(() => DateTimeScalar.parseValue(value)).toThrow();
    expect(() => DateTimeScalar.parseLiteral(stringLiteral(value), undefined)).toThrow();
  });

  it('refuses numbers (epoch milliseconds are not ISO 8601)', () => {
    expect(() => DateTimeScalar.parseValue(1767322800000)).toThrow();
    expect(() => DateTimeScalar.parseLiteral(intLiteral('1767322800000'), undefined)).toThrow();
  });

  it('serializes instants as UTC ISO strings', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 5, 1, 12, 0, 0, 5)))).toBe('2026-06-01T12:00:00.005Z');
    expect(DateTimeScalar.serialize('2026-06-01T14:00:00+02:00')).toBe('2026-06-01T12:00:00.000Z');
    expect(() => DateTimeScalar.serialize(new Date(NaN))).toThrow();
  });
});

describe('correlationIdFrom', () => {
  it('keeps a plain ID the caller sent', () => {
    expect(correlationIdFrom('req-0123456789')).toBe('req-0123456789');
    expect(correlationIdFrom('0190f3b1-7c2d-7a00-8000-000000000001')).toBe('0190f3b1-7c2d-7a00-8000-000000000001');
    expect(correlationIdFrom(['trace.abc:123_XY', 'second'])).toBe('trace.abc:123_XY');
    expect(correlationIdFrom('a'.repeat(8))).toBe('a'.repeat(8));
    expect(correlationIdFrom('a'.repeat(128))).toBe('a'.repeat(128));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too short', 'abc1234'],
    ['too long', 'a'.repeat(129)],
    ['with a newline (log injection)', 'req-0123\nlevel=error'],
    ['with spaces', 'req 0123456789'],
    ['with markup', '<script>alert(1)</script>'],
    ['with a header separator', 'req-01234;x=1'],
    ['non-ASCII', 'req-0123456789é'],
  ])('replaces an ID that is %s with a fresh UUIDv7', (_why, value) => {
    const id = correlationIdFrom(value);
    expect(id).toMatch(UUID_V7);
    expect(id).not.toBe(value);
  });

  it('mints a different ID for every request', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => correlationIdFrom(undefined)));
    expect(ids.size).toBe(1000);
  });
});

describe('validateInput', () => {
  const bookingInput = z.object({
    checkIn: z.string().refine(isIsoDate, 'must be a date YYYY-MM-DD'),
    guest: z.object({
      name: z.string().min(1, 'must not be empty'),
      email: z.email({ message: 'must be a valid email address' }).transform((e) => e.toLowerCase()),
    }),
  });

  it('returns the parsed value when the input is valid', () => {
    const value = { checkIn: '2026-05-01', guest: { name: 'Ada', email: 'Ada@Example.TEST' } };
    expect(validateInput(bookingInput, value, 'input')).toEqual({
      checkIn: '2026-05-01',
      guest: { name: 'Ada', email: 'ada@example.test' },
    });
  });

  it('names every offending nested field with its dotted path, in one BAD_USER_INPUT error', () => {
    const value = { checkIn: '2026-02-30', guest: { name: '', email: 'not-an-email' } };
    let thrown: unknown;
    try {
      validateInput(bookingInput, value, 'input');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadUserInputError);
    const error = thrown as BadUserInputError;
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.fields).toEqual(
      expect.arrayContaining([
        { field: 'input.checkIn', message: 'must be a date YYYY-MM-DD' },
        { field: 'input.guest.name', message: 'must not be empty' },
        { field: 'input.guest.email', message: 'must be a valid email address' },
      ]),
    );
    expect(error.extensions.fields).toHaveLength(3);
    expect(error.message).toContain('input.guest.email must be a valid email address');
  });

  it('names fields without a prefix when validating top-level arguments', () => {
    expect(() => validateInput(z.object({ first: z.number().max(100) }), { first: 1000 }, '')).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ fields: [expect.objectContaining({ field: 'first' })] }) }),
    );
  });
});

describe('booking references', () => {
  const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

  it('are IK- followed by 8 Crockford base32 characters (no I, L, O, U)', () => {
    for (let i = 0; i < 2000; i++) expect(newReference()).toMatch(/^IK-[0-9A-HJKMNP-TV-Z]{8}$/);
  });

  it('use the whole alphabet and do not repeat', () => {
    const refs = Array.from({ length: 2000 }, () => newReference());
    expect(new Set(refs).size).toBe(refs.length);
    const seen = new Set(refs.flatMap((r) => [...r.slice(3)]));
    expect([...seen].sort().join('')).toBe(CROCKFORD);
  });
});

describe("today in the hotel's time zone", () => {
  const lateOnNewYearsDayUtc = new Date('2026-01-01T23:30:00Z');

  it('is already tomorrow in Auckland while it is still today in UTC', () => {
    expect(todayIn('Pacific/Auckland', lateOnNewYearsDayUtc)).toBe('2026-01-02');
    expect(todayIn('UTC', lateOnNewYearsDayUtc)).toBe('2026-01-01');
  });

  it('is still yesterday in Honolulu early in the UTC morning', () => {
    expect(todayIn('Pacific/Honolulu', new Date('2026-01-01T05:00:00Z'))).toBe('2025-12-31');
  });

  it('follows daylight saving time (Lisbon is UTC+1 in summer)', () => {
    expect(todayIn('Europe/Lisbon', new Date('2026-07-14T23:30:00Z'))).toBe('2026-07-15');
    expect(todayIn('Europe/Lisbon', new Date('2026-01-14T23:30:00Z'))).toBe('2026-01-14');
  });

  it('answers in the YYYY-MM-DD form the Date scalar uses', () => {
    expect(isIsoDate(todayIn('Asia/Tokyo'))).toBe(true);
  });
});
