/**
 * One batch per runs dir: a second run-many on the same directory would run
 * every task again and overwrite the first one's summary. The lock is a file
 * holding the owner's pid, taken with O_EXCL; a lock whose owner is gone is
 * taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import { processAlive } from '../core/process.js';

export const LOCK_FILE = '.run-many.lock';

/**
 * Take the runs dir for this process; returns the release function.
 * @throws HarnessError('usage') when a live run-many holds it.
 */
export function lockRunsDir(runsDir: string): () => void {
  fs.mkdirSync(runsDir, { recursive: true });
  const file = path.join(runsDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => releaseIfMine(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(readOr(file, ''), 10);
    if (processAlive(owner) && owner !== process.pid) {
      throw new HarnessError('usage', `runs dir ${runsDir} is in use by run-many (pid ${owner}); wait for it to finish or give another --runs-dir`);
    }
    fs.rmSync(file, { force: true }); // its owner is gone: a crash or a kill -9
  }
  throw new HarnessError('usage', `could not take the lock ${file}: other processes keep taking it`);
}

function releaseIfMine(file: string): void {
  if (readOr(file, '').trim() === String(process.pid)) fs.rmSync(file, { force: true });
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
