/** Small pieces shared by the test files. */
import { expect } from 'vitest';
import { HarnessError } from '../../scripts/lib/core/errors.js';

/** Run `fn`, return the HarnessError('task') it throws (fails the test otherwise). */
export function catchTaskError(fn: () => unknown): HarnessError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('task');
    return err as HarnessError;
  }
  throw new Error('expected a HarnessError');
}
