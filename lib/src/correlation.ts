import { v7 as uuidv7 } from 'uuid';

export const CORRELATION_HEADER = 'x-correlation-id';

/** Accept a caller's ID only when it is short and plain, so it is safe in headers and logs. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function correlationIdFrom(headerValue: string | string[] | undefined): string {
  const value = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  return value && ACCEPTABLE_ID.test(value) ? value : uuidv7();
}

/** A fresh correlation ID (UUIDv7: sortable by time), e.g. for one subscription event. */
export const newCorrelationId = (): string => uuidv7();
