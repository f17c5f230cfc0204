/**
 * Reading the user's input files (tasks, instances, specs, predictions) with
 * the one error message shape: `cannot read <what> <file>: <why>`.
 */
import fs from 'node:fs/promises';
import { HarnessError, errorMessage } from './errors.js';

/** @throws HarnessError('task') naming the file and why it cannot be read. */
export async function readInputFile(file: string, what: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : errorMessage(err);
    throw new HarnessError('task', `cannot read ${what} ${file}: ${why}`, { cause: err });
  }
}
