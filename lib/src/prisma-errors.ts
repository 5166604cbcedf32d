import { ConflictError, NotFoundError } from './errors.js';

/** Prisma's known request errors we translate: unique violation and record-not-found. */
export function prismaErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('P') ? code : undefined;
}

/**
 * Runs a write and turns Prisma's unique / missing-record failures into CONFLICT / NOT_FOUND with a
 * message for humans; anything else propagates unchanged (and becomes INTERNAL_SERVER_ERROR).
 */
export async function translateWriteErrors<T>(
  write: () => Promise<T>,
  messages: { conflict: string; notFound: { resource: string; id: string } },
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = prismaErrorCode(error);
    if (code === 'P2002') throw new ConflictError(messages.conflict);
    if (code === 'P2025') throw new NotFoundError(messages.notFound.resource, messages.notFound.id);
    throw error;
  }
}
