/** The capped log: what a stage prints can never grow its file past the cap. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CappedOutput } from '../../scripts/lib/engine/output.js';

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-out-')), 'x.log');

describe('CappedOutput', () => {
  it('keeps the file under the cap across several writers appending to it', () => {
    const file = tmpFile();
    for (let i = 0; i < 4; i++) {
      const out = new CappedOutput(file, 100, 1000);
      out.write(Buffer.alloc(60, 'a'));
      out.close();
    }
    const text = fs.readFileSync(file, 'utf8');
    expect(text.replace(/\n\[swe-harness:[^\]]*\]\n/g, '').length).toBe(100);
    expect(text).toMatch(/log capped at 100 bytes; 20 more bytes not stored/);
  });

  it('says it truncated only when it did, and keeps the end of the output in memory', () => {
    const out = new CappedOutput(tmpFile(), 10, 8);
    out.write(Buffer.from('0123456'));
    expect(out.truncated).toBe(false);
    out.write(Buffer.from('789abcdef'));
    expect(out.truncated).toBe(true);
    expect(out.text()).toBe('89abcdef');
    expect(out.bytes).toBe(16);
    out.close();
  });
});
