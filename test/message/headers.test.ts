import { describe, expect, it } from 'vitest';
import { prependHeader } from '../../src/message/headers.js';

describe('prependHeader', () => {
  it('adds one CRLF header line in front and keeps every other byte', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(prependHeader(raw, 'X-Outguard-Id', 'abc').toString()).toBe('X-Outguard-Id: abc\r\nSubject: x\r\n\r\nbody\r\n');
  });
  it('follows a bare-LF message with a bare LF', () => {
    const raw = Buffer.from('Subject: x\n\nbody\n');
    expect(prependHeader(raw, 'X-Outguard-Id', 'abc').toString()).toBe('X-Outguard-Id: abc\nSubject: x\n\nbody\n');
  });
  it('refuses a value that would inject another header', () => {
    expect(() => prependHeader(Buffer.from('a: b\r\n'), 'X-Outguard-Id', 'abc\r\nBcc: x@y')).toThrow();
  });
});
