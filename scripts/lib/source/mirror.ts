/**
 * Host-side git mirrors, one per repository, filled once and then mounted
 * read-only into containers: the clone stage becomes a local `--shared`
 * clone that takes about a second even for large repositories, and needs no
 * network. Filling a mirror has its own, longer time limit.
 *
 * Several runs may want the same mirror at once: within one process the
 * fills and refreshes of a mirror run one after the other (one promise chain
 * per destination), and across processes a lock file beside the mirror
 * (`<mirror>.lock`, created exclusively, holding the filler's pid) keeps a
 * second process from filling or fetching into it at the same time. A lock
 * whose process is gone is taken over.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import { processAlive } from '../core/process.js';

/** `owner/name` of a GitHub URL or of the short form, or null for anything else. */
export function githubSlug(repo: string): string | null {
  const m = /^(?:https?:\/\/github\.com\/|git@github\.com:)?([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(repo);
  // `./x` and `../x` are relative paths, not owners.
  return m && m[1] !== '.' && m[1] !== '..' && m[2] !== '.' && m[2] !== '..' ? `${m[1]}/${m[2]}` : null;
}

/** Where the mirror of `owner/name` lives in a cache directory (SWE-bench's `owner__name` spelling). */
export function mirrorPath(cacheDir: string, slug: string): string {
  return path.join(path.resolve(cacheDir), `${slug.replace('/', '__')}.git`);
}

interface GitResult {
  code: number | null;
  stderr: string;
  /** Killed at its time limit. */
  timedOut: boolean;
  /** Stopped because the caller's signal fired. */
  aborted: boolean;
  /** git could not be started at all (spawn error): its message. */
  spawnError: string | null;
}

/** Process groups of the git commands running now: killed if this process exits first. */
const running = new Set<number>();
let exitHook = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function git(args: string[], opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<GitResult> {
  return new Promise((resolve) => {
    // Its own process group, so a time limit kills git and every helper it
    // started (remote-https, index-pack, ...), not just the `git` process.
    const child = spawn('git', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
      detached: true,
    });
    let stderr = '';
    let partial = '';
    let timedOut = false;
    let aborted = false;
    let settled = false;
    const pid = child.pid;
    if (pid !== undefined) {
      running.add(pid);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => running.forEach(killGroup));
      }
    }
    const kill = () => {
      if (pid !== undefined) killGroup(pid);
    };
    const onAbort = () => {
      aborted = true;
      kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutS * 1000);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (r: Omit<GitResult, 'timedOut' | 'aborted'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) running.delete(pid);
      resolve({ ...r, timedOut, aborted });
    };
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      stderr = (stderr + text).slice(-4000);
      // git --progress rewrites its line with \r: pass the latest state on, one line at a time.
      partial += text;
      const lines = partial.split(/[\r\n]/);
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) opts.log?.(l.trim());
    });
    child.on('error', (err) => finish({ code: null, stderr, spawnError: err.message }));
    child.on('close', (code) => finish({ code, stderr, spawnError: null }));
  });
}

/** Why a git command failed, in a few words. */
function why(r: GitResult, timeoutS: number): string {
  if (r.spawnError !== null) return `could not start git: ${r.spawnError}`;
  if (r.aborted) return 'interrupted';
  if (r.timedOut) return `timed out after ${timeoutS}s`;
  return lastLine(r.stderr);
}

interface MirrorOptions {
  timeoutS: number;
  ref?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** In-process queue per mirror: each fill/refresh starts when the previous one is done. */
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return next;
}

const LOCK_POLL_MS = 250;
/** A lock file still without a pid after this long was left by a process that died while writing it. */
const EMPTY_LOCK_STALE_MS = 10_000;

/** Create the lock exclusively, holding `mine`; its release function, or null when it exists. */
function tryLock(lock: string, mine: string): (() => void) | null {
  try {
    const fd = fs.openSync(lock, 'wx');
    try {
      fs.writeSync(fd, `${mine}\n`);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  return () => {
    try {
      // Only our own lock: a process that wrongly took it over keeps its one.
      if (fs.readFileSync(lock, 'utf8').trim() === mine) fs.rmSync(lock, { force: true });
    } catch {
      // already gone
    }
  };
}

/** Who holds the lock and whether they are gone; null when it was released meanwhile. */
function lockHolder(lock: string, waitS: number): { content: string; holder: string; stale: boolean } | null {
  let content: string;
  let mtimeMs: number;
  try {
    content = fs.readFileSync(lock, 'utf8').trim();
    mtimeMs = fs.statSync(lock).mtimeMs;
  } catch {
    return null;
  }
  const [pidText = '', host = os.hostname()] = content.split(/\s+/);
  const hasPid = /^\d+$/.test(pidText);
  const holder = hasPid ? `process ${pidText}${host === os.hostname() ? '' : ` on ${host}`}` : 'a process';
  const age = Date.now() - mtimeMs;
  // A pid is checked on this host only; another host's lock (a shared cache
  // directory) is stale once older than a whole fill may take.
  const stale = !hasPid ? age > EMPTY_LOCK_STALE_MS : host === os.hostname() ? !processAlive(Number(pidText)) : age > waitS * 1000;
  return { content, holder, stale };
}

/** Remove a stale lock, but only if it is still that one (not a lock just taken by someone else). */
function breakLock(lock: string, content: string): void {
  try {
    if (fs.readFileSync(lock, 'utf8').trim() === content) fs.rmSync(lock, { force: true });
  } catch {
    // gone already
  }
}

/**
 * Take `<dest>.lock` (O_EXCL create holding our pid); wait while a live
 * process holds it, take it over when its process is gone.
 * @returns the function that releases it.
 * @throws HarnessError('internal') when it is still held after `waitS`.
 */
async function acquireLock(lock: string, what: string, waitS: number, opts: { log?: (line: string) => void; signal?: AbortSignal }): Promise<() => void> {
  const deadline = Date.now() + waitS * 1000;
  const mine = `${process.pid} ${os.hostname()}`;
  let told = false;
  for (;;) {
    const release = tryLock(lock, mine);
    if (release) return release;
    const held = lockHolder(lock, waitS);
    if (!held) continue; // released meanwhile: try again
    if (held.stale) {
      opts.log?.(`${what}: taking over the lock of ${held.holder}, which is gone`);
      breakLock(lock, held.content);
      continue;
    }
    if (opts.signal?.aborted) throw new HarnessError('internal', `${what}: interrupted while waiting for ${held.holder} to fill it`);
    if (Date.now() > deadline) throw new HarnessError('internal', `${what}: still being filled by ${held.holder} after ${waitS}s (lock ${lock})`);
    if (!told) {
      told = true;
      opts.log?.(`${what}: ${held.holder} is filling it, waiting (at most ${waitS}s)`);
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/**
 * The mirror of `slug` in `cacheDir`, filled from `url` if missing (atomic:
 * cloned into a fresh temp dir beside it, then renamed). When `ref` is given
 * and the mirror lacks it, the mirror is fetched once more. Concurrent calls
 * for one mirror, in this process or in others, never fill or fetch into it at
 * the same time.
 * @throws HarnessError('internal') when the mirror cannot be filled.
 */
export function ensureMirror(
  cacheDir: string,
  slug: string,
  url: string,
  opts: MirrorOptions,
): Promise<string> {
  const dest = mirrorPath(cacheDir, slug);
  return serialised(dest, () => fillOrRefresh(dest, slug, url, opts));
}

async function fillOrRefresh(
  dest: string,
  slug: string,
  url: string,
  opts: MirrorOptions,
): Promise<string> {
  const hasRef = async () => !opts.ref || (await git(['-C', dest, 'cat-file', '-e', `${opts.ref}^{commit}`], { timeoutS: 30 })).code === 0;
  // The common case, a filled mirror that has the ref: no lock needed.
  if (fs.existsSync(dest) && (await hasRef())) return dest;

  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const what = `mirror ${slug}`;
  // Waiting covers a whole fill by another process, plus a margin.
  const release = await acquireLock(`${dest}.lock`, what, opts.timeoutS + 60, opts);
  try {
    if (fs.existsSync(dest)) {
      // Another process may have fetched it while we waited.
      if (!(await hasRef())) {
        opts.log?.(`${what}: ${opts.ref} missing, fetching`);
        const f = await git(['-C', dest, 'fetch', '--prune', '--tags', 'origin'], opts);
        if (f.code !== 0) opts.log?.(`${what}: fetch failed (${why(f, opts.timeoutS)}); using it as it is`);
      }
      return dest;
    }
    await cloneMirror(dest, slug, url, opts);
    return dest;
  } finally {
    release();
  }
}

/** Clone a fresh mirror into a temp dir beside `dest`, then rename it into place (caller holds the lock). */
async function cloneMirror(dest: string, slug: string, url: string, opts: MirrorOptions): Promise<void> {
  // Holding the lock: temp clones beside it are leftovers of fillers that died.
  const prefix = `${path.basename(dest)}.tmp-`;
  for (const name of fs.readdirSync(path.dirname(dest))) {
    if (name.startsWith(prefix)) fs.rmSync(path.join(path.dirname(dest), name), { recursive: true, force: true });
  }
  const tmp = fs.mkdtempSync(path.join(path.dirname(dest), prefix));
  opts.log?.(`mirror ${slug}: cloning ${url} (at most ${opts.timeoutS}s)`);
  // git clone accepts an existing empty directory.
  const r = await git(['clone', '--mirror', '--progress', url, tmp], opts);
  if (r.code !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new HarnessError('internal', `could not fill the mirror of ${slug} from ${url}: ${why(r, opts.timeoutS)}`);
  }
  try {
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Filled by a process that does not take the lock: use its mirror.
    if (!fs.existsSync(dest)) throw err;
  }
}

function lastLine(text: string): string {
  return text.trim().split(/[\r\n]/).filter(Boolean).pop() ?? 'no output';
}
