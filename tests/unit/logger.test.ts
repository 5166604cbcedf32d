import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, maskCardNumbers } from '../../lib/src/logger.js';

function captured() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { text: () => lines.join(''), logger: createLogger('test', 'info', {}, stream) };
}

describe('log redaction', () => {
  it('masks card-like numbers in fields, error messages and the message itself', () => {
    const { text, logger } = captured();
    logger.info({ note: 'card 4111 1111 1111 1111 in a name', err: { message: 'bad 5500-0000-0000-0004' } }, 'paid with 378282246310005');
    expect(text()).not.toMatch(/4111 1111 1111 1111|5500-0000-0000-0004|378282246310005/);
    expect(text().match(/\[CARD\]/g)).toHaveLength(3);
  });

  it('leaves ordinary numbers (phone-length, dates, short IDs) alone', () => {
    const record = { phone: '+351 912 345 678', date: '2026-11-23', n: '1234567' };
    expect(maskCardNumbers(record)).toEqual(record);
  });

  it('redacts authorization headers, API keys, passwords, tokens and guest contact details', () => {
    const { text, logger } = captured();
    logger.info(
      { req: { headers: { authorization: 'Bearer abc.def.ghi', 'x-api-key': 'ik_secretkey' } }, password: 'hunter2', refreshToken: 'refresh-xyz', guest: { email: 'a@b.example', phone: '+1 555 0100' } },
      'x',
    );
    for (const secret of ['abc.def.ghi', 'ik_secretkey', 'hunter2', 'refresh-xyz', 'a@b.example', '+1 555 0100']) expect(text()).not.toContain(secret);
    expect(text()).toContain('[REDACTED]');
  });
});
