/**
 * run-one --watch: wait until a file's content differs from what the last run
 * used. Events come from the file's directory (an editor that saves by writing
 * a new file and renaming it over the old one replaces the file a watch on the
 * file itself would follow); a poll once a second covers file systems without
 * events. A save that leaves the content as it was starts nothing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const POLL_MS = 1000;
/** Editors write in several steps (truncate, write, rename): the content is read once they are done. */
const SETTLE_MS = 50;

/** The hash of a file's content; null while it cannot be read (between an editor's unlink and rename). */
export function contentHash(file: string): string | null {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return null;
  }
}

/**
 * Resolves true once `file` can be read and its content hash is not `last`;
 * false as soon as `signal` aborts.
 */
export function waitForChange(file: string, last: string | null, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    let settle: NodeJS.Timeout | null = null;
    let watcher: fs.FSWatcher | null = null;
    const done = (changed: boolean) => {
      clearInterval(poll);
      if (settle) clearTimeout(settle);
      watcher?.close();
      signal.removeEventListener('abort', onAbort);
      resolve(changed);
    };
    const check = () => {
      const now = contentHash(file);
      if (now !== null && now !== last) done(true);
    };
    const onAbort = () => done(false);
    const poll = setInterval(check, POLL_MS);
    signal.addEventListener('abort', onAbort);
    const base = path.basename(file);
    try {
      watcher = fs.watch(path.dirname(path.resolve(file)), (_event, name) => {
        if (name !== null && name !== base) return;
        if (settle) clearTimeout(settle);
        settle = setTimeout(check, SETTLE_MS);
      });
      watcher.on('error', () => watcher?.close()); // the directory went away: the poll goes on
    } catch {
      /* no events here: the poll alone */
    }
  });
}
