import { describe, expect, it } from 'vitest';
import { decodePatch, patchBytes } from '../../scripts/lib/core/diff.js';

describe('decodePatch', () => {
  it.each([
    ['ASCII', Buffer.from('+x = 1\n'), 'utf8'],
    ['valid UTF-8', Buffer.from('+# café\n'), 'utf8'],
    ['Latin-1 bytes', Buffer.from([0x2b, 0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]), 'latin1'],
    ['a cut UTF-8 sequence', Buffer.from([0x2b, 0xc3, 0x0a]), 'latin1'],
  ])('holds %s as text that encodes back to the very same bytes', (_name, bytes, encoding) => {
    const { text, encoding: got } = decodePatch(bytes);
    expect(got).toBe(encoding);
    expect(patchBytes(text, got).equals(bytes)).toBe(true);
  });

  it('never puts U+FFFD in place of a byte it could not decode', () => {
    expect(decodePatch(Buffer.from([0xe9])).text).toBe('é');
  });
});
