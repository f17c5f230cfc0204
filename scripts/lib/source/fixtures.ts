/**
 * Shipped fixture repositories (`fixture:<name>` in a task's `repo`).
 *
 * The sources live in `tasks/<name>/src` (task repos) or `tests/fixtures/<name>/src`
 * (harness probes). `ensureFixture` turns one into a real git repository with a
 * single commit whose id is the same on every machine: fixed author, committer,
 * dates and message, no templates or hooks, no user or system git config, files
 * added with explicit modes (100644 / 100755). The seed task file pins that
 * commit id as the task's `ref`.
 *
 * Building is idempotent and cheap: a stamp (hash of the paths, executable bits
 * and contents of the source tree, plus the builder's own version) is kept in
 * `<repo>/.git/swe-harness-fixture.json`; a matching stamp means no work. A
 * rebuild happens in a unique temporary directory beside the target and is
 * renamed into place, so concurrent callers never see a half-built repository.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONFIG, ROOT } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';

/** Prefix of a task `repo` naming a shipped fixture. */
export const FIXTURE_SCHEME = 'fixture:';

/** Folders (relative to the project root) holding `<name>/src` fixture sources, in lookup order. */
export const FIXTURE_ROOTS = ['tasks', path.join('tests', 'fixtures')] as const;

/** Identity and date of the one commit of every fixture repository. */
export const FIXTURE_COMMIT = {
  name: 'swe-harness fixtures',
  email: 'fixtures@swe-harness.invalid',
  date: '2024-01-01T00:00:00Z',
  branch: 'main',
  message: 'Import fixture sources',
} as const;

/** Bump when the way repositories are built changes (forces a rebuild everywhere). */
const BUILDER_VERSION = 1;
const STAMP_FILE = 'swe-harness-fixture.json';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Build leftovers that never belong in a fixture repository. */
const IGNORED_NAMES = new Set(['.git', '__pycache__', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.DS_Store']);
const IGNORED_SUFFIXES = ['.pyc', '.pyo', '.egg-info'];

export interface FixtureRepo {
  /** Absolute path of the built repository (a normal, non-bare git repo on branch `main`). */
  path: string;
  /** Its only commit. */
  head: string;
}

interface SourceFile {
  /** POSIX path relative to the source root. */
  rel: string;
  abs: string;
  executable: boolean;
}

interface Stamp {
  stamp: string;
  head: string;
}

/** True when a task `repo` uses the `fixture:<name>` scheme. */
export function isFixtureRepo(repo: string): boolean {
  return repo.startsWith(FIXTURE_SCHEME);
}

/** The fixture name of a `fixture:<name>` repo. Throws HarnessError('task') for anything else. */
export function fixtureName(repo: string): string {
  if (!isFixtureRepo(repo)) {
    throw new HarnessError('task', `repo ${JSON.stringify(repo)} is not a fixture repo (expected "${FIXTURE_SCHEME}<name>")`);
  }
  const name = repo.slice(FIXTURE_SCHEME.length);
  if (!NAME_RE.test(name)) {
    throw new HarnessError('task', `bad fixture name ${JSON.stringify(name)} in repo ${JSON.stringify(repo)}`);
  }
  return name;
}

/** Names of all shipped fixtures, sorted. */
export function fixtureNames(): string[] {
  const names = new Set<string>();
  for (const root of FIXTURE_ROOTS) {
    const dir = path.join(ROOT, root);
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (NAME_RE.test(entry) && isDir(path.join(dir, entry, 'src'))) names.add(entry);
    }
  }
  return [...names].sort();
}

/** Source directory of a fixture; HarnessError('task') naming the known ones when unknown. */
export function fixtureSourceDir(name: string): string {
  if (NAME_RE.test(name)) {
    for (const root of FIXTURE_ROOTS) {
      const dir = path.join(ROOT, root, name, 'src');
      if (isDir(dir)) return dir;
    }
  }
  const known = fixtureNames();
  throw new HarnessError(
    'task',
    `unknown fixture ${JSON.stringify(name)}; known fixtures: ${known.length ? known.join(', ') : '(none)'}`,
  );
}

/**
 * Build `<reposDir>/<name>` from the fixture's sources unless an up-to-date build
 * is already there. Safe to call from several processes at once.
 */
export async function ensureFixture(name: string, reposDir: string = DEFAULT_CONFIG.reposDir): Promise<FixtureRepo> {
  const srcDir = fixtureSourceDir(name);
  const files = await listSourceFiles(srcDir);
  const stamp = await computeStamp(files);
  const root = path.resolve(reposDir);
  const target = path.join(root, name);

  const current = await readBuilt(target);
  if (current && current.stamp === stamp) return { path: target, head: current.head };

  await fs.mkdir(root, { recursive: true });
  await removeOldLeftovers(root, name);
  const tmp = await fs.mkdtemp(path.join(root, `.${name}.build-`));
  await fs.chmod(tmp, 0o755); // mkdtemp makes it 0700: containers running as another user must read it
  try {
    const head = await buildRepo(files, tmp, stamp);
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await fs.rename(tmp, target);
        return { path: target, head };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'EPERM') {
          throw err;
        }
      }
      // Something is in the way: another process's build of the same sources, or a stale one.
      const winner = await readBuilt(target);
      if (winner && winner.stamp === stamp) {
        if (winner.head !== head) {
          throw new HarnessError(
            'internal',
            `fixture ${name}: two builds of the same sources gave different commits (${winner.head} vs ${head})`,
          );
        }
        return { path: target, head };
      }
      const trash = path.join(root, `.${name}.old-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await fs.rename(target, trash);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        continue; // someone else moved it away first
      }
      await fs.rm(trash, { recursive: true, force: true });
    }
    throw new HarnessError('internal', `fixture ${name}: could not move the new build into ${target}`);
  } catch (err) {
    if (err instanceof HarnessError) throw err;
    throw new HarnessError('internal', `fixture ${name}: build failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Temporary build / trash directories of crashed processes (older than an hour) are removed. */
async function removeOldLeftovers(root: string, name: string): Promise<void> {
  const prefixes = [`.${name}.build-`, `.${name}.old-`];
  let entries: string[];
  try {
    entries = await fs.readdir(root);
  } catch {
    return;
  }
  const cutoff = Date.now() - 60 * 60 * 1000;
  for (const entry of entries) {
    if (!prefixes.some((p) => entry.startsWith(p))) continue;
    const p = path.join(root, entry);
    try {
      if ((await fs.stat(p)).mtimeMs < cutoff) await fs.rm(p, { recursive: true, force: true });
    } catch {
      // raced with its owner or another cleaner: fine
    }
  }
}

function ignored(name: string): boolean {
  return IGNORED_NAMES.has(name) || IGNORED_SUFFIXES.some((s) => name.endsWith(s));
}

/** Regular files under `srcDir`, sorted by POSIX path (byte order), build leftovers skipped. */
async function listSourceFiles(srcDir: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  async function walk(dir: string, relDir: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (ignored(entry.name)) continue;
      const abs = path.join(dir, entry.name);
      const rel = relDir ? `${relDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(abs, rel);
      } else if (entry.isFile()) {
        const st = await fs.stat(abs);
        out.push({ rel, abs, executable: (st.mode & 0o111) !== 0 });
      } else {
        throw new HarnessError('internal', `fixture source ${abs} is not a regular file or directory (symlinks are not supported)`);
      }
    }
  }
  await walk(srcDir, '');
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  if (out.length === 0) throw new HarnessError('internal', `fixture source ${srcDir} holds no files`);
  return out;
}

async function computeStamp(files: SourceFile[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`swe-harness-fixture v${BUILDER_VERSION} ${JSON.stringify(FIXTURE_COMMIT)}\0`);
  for (const f of files) {
    const content = await fs.readFile(f.abs);
    const digest = createHash('sha256').update(content).digest('hex');
    h.update(`${f.rel}\0${f.executable ? '755' : '644'}\0${digest}\0`);
  }
  return h.digest('hex');
}

/** Stamp of a built repository, or null if it is missing, broken or was changed since. */
async function readBuilt(repoDir: string): Promise<Stamp | null> {
  let parsed: Partial<Stamp>;
  try {
    parsed = JSON.parse(await fs.readFile(path.join(repoDir, '.git', STAMP_FILE), 'utf8')) as Partial<Stamp>;
  } catch {
    return null;
  }
  if (typeof parsed.stamp !== 'string' || typeof parsed.head !== 'string') return null;
  // The repo must still point at the commit we made (nobody committed or reset in it).
  const res = await git(repoDir, ['rev-parse', '--verify', '-q', 'HEAD'], true);
  if (res.exitCode !== 0 || res.stdout.trim() !== parsed.head) return null;
  return { stamp: parsed.stamp, head: parsed.head };
}

/** Environment of every git call: nothing inherited from the user's or system's git setup. */
function gitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('GIT_')) env[k] = v;
  }
  Object.assign(env, {
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: FIXTURE_COMMIT.name,
    GIT_AUTHOR_EMAIL: FIXTURE_COMMIT.email,
    GIT_AUTHOR_DATE: FIXTURE_COMMIT.date,
    GIT_COMMITTER_NAME: FIXTURE_COMMIT.name,
    GIT_COMMITTER_EMAIL: FIXTURE_COMMIT.email,
    GIT_COMMITTER_DATE: FIXTURE_COMMIT.date,
    LC_ALL: 'C',
    TZ: 'UTC',
  });
  return env;
}

const GIT_CONFIG_ARGS = [
  '-c', `init.defaultBranch=${FIXTURE_COMMIT.branch}`,
  '-c', 'core.autocrlf=false',
  '-c', 'core.safecrlf=false',
  '-c', 'core.fileMode=true',
  '-c', 'core.hooksPath=/dev/null',
  '-c', 'commit.gpgSign=false',
  '-c', 'gc.auto=0',
];

/**
 * One git call. node's own execFile, not execa: every run checks its fixture's
 * HEAD, and loading execa cost run-one ~80 ms of start-up.
 */
function git(cwd: string, args: string[], allowFail = false): Promise<{ exitCode: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...GIT_CONFIG_ARGS, ...args],
      { cwd, env: gitEnv(), timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (!allowFail && code !== 0) {
          const detail = (stderr || stdout || err?.message || '').toString().trim().split('\n')[0];
          reject(new HarnessError('internal', `git ${args[0]} failed in ${cwd}: ${detail}`));
          return;
        }
        resolve({ exitCode: code, stdout: String(stdout ?? '') });
      },
    );
    child.stdin?.end();
  });
}

/** Copy the sources into `dir`, make the one commit there, write the stamp; returns the commit id. */
async function buildRepo(files: SourceFile[], dir: string, stamp: string): Promise<string> {
  for (const f of files) {
    const dest = path.join(dir, ...f.rel.split('/'));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(f.abs, dest);
    await fs.chmod(dest, f.executable ? 0o755 : 0o644);
  }
  // `--template=` : no sample hooks, no info/exclude.
  await git(dir, ['init', '-q', '--template=', '.']);
  // Also for gits older than init.defaultBranch (2.28).
  await git(dir, ['symbolic-ref', 'HEAD', `refs/heads/${FIXTURE_COMMIT.branch}`]);
  // -f: no exclude file from anywhere may drop a source file.
  const rels = files.map((f) => f.rel);
  for (let i = 0; i < rels.length; i += 200) {
    await git(dir, ['add', '-f', '--', ...rels.slice(i, i + 200)]);
  }
  await git(dir, ['commit', '-q', '--no-verify', '--no-gpg-sign', '-m', FIXTURE_COMMIT.message]);
  const head = (await git(dir, ['rev-parse', 'HEAD'])).stdout.trim();
  if (!/^[0-9a-f]{40}$/.test(head)) throw new HarnessError('internal', `unexpected commit id ${JSON.stringify(head)}`);
  await fs.writeFile(path.join(dir, '.git', STAMP_FILE), JSON.stringify({ stamp, head } satisfies Stamp) + '\n');
  if (!existsSync(path.join(dir, '.git', 'HEAD'))) throw new HarnessError('internal', `git init did not create ${dir}/.git`);
  return head;
}
