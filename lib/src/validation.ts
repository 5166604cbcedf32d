import type { z } from 'zod';
import { BadUserInputError } from './errors.js';

/**
 * Validates resolver input with a zod schema and turns every problem into one BAD_USER_INPUT error that
 * names the offending fields (`input.guest.email`), so clients can highlight them. Nothing is written
 * before this passes.
 */
export function validateInput<T extends z.ZodType>(schema: T, value: unknown, path: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new BadUserInputError(
    result.error.issues.map((issue) => ({
      field: [path, ...issue.path.map(String)].filter(Boolean).join('.'),
      message: issue.message,
    })),
  );
}

export const isTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** IDs are UUIDs: anything else cannot exist, and must not reach PostgreSQL as a cast error. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string): boolean => UUID.test(id);
