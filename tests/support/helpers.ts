/** Small pieces shared by the test files. */
import fs from 'node:fs';
import { expect } from 'vitest';
import { HarnessError } from '../../scripts/lib/core/errors.js';

/** Run `fn`, return the HarnessError of kind `code` it throws (fails the test otherwise). */
export function catchHarnessError(fn: () => unknown, code: HarnessError['code']): HarnessError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe(code);
    return err as HarnessError;
  }
  throw new Error(`expected a HarnessError('${code}')`);
}

/** Run `fn`, return the HarnessError('task') it throws (fails the test otherwise). */
export function catchTaskError(fn: () => unknown): HarnessError {
  return catchHarnessError(fn, 'task');
}

/** The JSON objects of a JSON Lines file (blank lines skipped). */
export function readJsonl(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
