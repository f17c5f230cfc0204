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
import { HarnessError } from '../core/errors.js';

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

export interface WatchOptions {
  /** The file to watch (absolute), and how to name it in messages. */
  file: string;
  shown: string;
  signal: AbortSignal;
  /** Set while waiting for a change (what Ctrl-C then ends is the wait, not a run). */
  phase: { waiting: boolean };
  say: (line: string) => void;
}

/**
 * Run, then run again each time the file's content changes, until `signal`
 * aborts; the last run's exit code. The first run fails as it would alone (a
 * patch file that is not there is a typo, not a save to wait for); a later
 * HarnessError is told and the watch goes on.
 */
export async function watchRuns(o: WatchOptions, runOnce: () => Promise<number>): Promise<number> {
  let code = 0;
  for (let first = true; ; first = false) {
    const used = contentHash(o.file);
    try {
      code = await runOnce();
    } catch (err) {
      if (first || !(err instanceof HarnessError) || o.signal.aborted) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      code = err.exitCode;
    }
    if (o.signal.aborted) return code;
    o.say(`watching ${o.shown}: runs again when it changes (Ctrl-C to stop)`);
    o.phase.waiting = true;
    const changed = await waitForChange(o.file, used, o.signal, () => o.say(`${o.shown} is gone; waiting for it to come back (Ctrl-C to stop)`));
    o.phase.waiting = false;
    if (!changed) return code;
  }
}
