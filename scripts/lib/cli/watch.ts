/**
 * run-one --watch: wait until a file's content differs from what the last run
 * used. Events come from the file's directory (an editor that saves by writing
 * a new file and renaming it over the old one replaces the file a watch on the
 * file itself would follow); a poll once a second covers file systems without
 * events. A save that leaves the content as it was starts nothing, and a
 * content is taken once it holds still: an empty file, or one that reads
 * differently 150 ms later, is a save in progress.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const POLL_MS = 1000;
/** Editors write in several steps (truncate, write, rename): a burst of events is read once. */
const SETTLE_MS = 50;
/** A new content is taken when a second read this much later finds it again. */
const STABLE_MS = 150;

/** The hash of a file's content; null while it cannot be read (between an editor's unlink and rename) or is empty (truncated, not yet written). */
export function contentHash(file: string): string | null {
  try {
    const bytes = fs.readFileSync(file);
    return bytes.length ? crypto.createHash('sha256').update(bytes).digest('hex') : null;
  } catch {
    return null;
  }
}

/**
 * Resolves true once `file` holds a content whose hash is not `last` and
 * that held still for STABLE_MS; false as soon as `signal` aborts.
 * `onMissing` is told once each time the file goes from readable to not.
 */
export function waitForChange(file: string, last: string | null, signal: AbortSignal, onMissing?: () => void): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    let settle: NodeJS.Timeout | null = null;
    let watcher: fs.FSWatcher | null = null;
    let candidate: string | null = null;
    let missing = false;
    const done = (changed: boolean) => {
      clearInterval(poll);
      if (settle) clearTimeout(settle);
      watcher?.close();
      signal.removeEventListener('abort', onAbort);
      resolve(changed);
    };
    const check = () => {
      const gone = !fs.existsSync(file);
      if (gone && !missing) onMissing?.();
      missing = gone;
      const now = contentHash(file);
      if (now === null || now === last) {
        candidate = null;
        return;
      }
      if (now === candidate) return done(true);
      candidate = now;
      if (settle) clearTimeout(settle);
      settle = setTimeout(check, STABLE_MS);
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
