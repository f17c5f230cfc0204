/**
 * Where a task's repository comes from. Local repositories (paths, file://
 * URLs, shipped `fixture:` repos) are mounted read-only into the container
 * and need no network; remote ones are cloned over the network.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';
import { ensureFixture, fixtureName, fixtureNames, isFixtureRepo } from './fixtures.js';
import { ensureMirror, githubSlug } from './mirror.js';

export type RepoSource = { kind: 'local'; hostPath: string } | { kind: 'remote'; url: string };

const REMOTE = /^(https?|ssh|git):\/\/|^[\w.-]+@[\w.-]+:/;
/** Owner under which the shipped fixture repos are known to instance files. */
export const SHIPPED_OWNER = 'swe-harness/';

export interface ResolveOptions {
  reposDir?: string;
  /** Mirror directory: GitHub repos are served from (and filled into) `<dir>/owner__name.git`. */
  repoCache?: string | null;
  /** `owner/name` → local path, checked before the cache. */
  repoPaths?: Record<string, string>;
  /** The ref the run needs: a mirror that lacks it is fetched again. */
  ref?: string;
  mirrorTimeoutS?: number;
  log?: (line: string) => void;
  /** Stops filling or fetching a mirror (Ctrl-C): git runs in its own process group and does not see the terminal's SIGINT. */
  signal?: AbortSignal;
}

/**
 * @throws HarnessError('usage') when a local path does not exist or is not a git repository.
 */
export async function resolveRepo(repo: string, opts: ResolveOptions = {}): Promise<RepoSource> {
  if (isFixtureRepo(repo)) {
    const built = await ensureFixture(fixtureName(repo), opts.reposDir);
    return { kind: 'local', hostPath: built.path };
  }
  // `owner/name` is always GitHub's (SWE-bench's spelling), even if such a directory
  // happens to exist here: a local path of that shape is written ./owner/name.
  const slug = githubSlug(repo);
  // The shipped repos go by SWE-bench-style names too (swe-harness/<fixture>), so
  // instance files about them need no mirror and no network.
  const shipped = slug?.startsWith(SHIPPED_OWNER) ? slug.slice(SHIPPED_OWNER.length) : null;
  if (shipped && fixtureNames().includes(shipped) && !opts.repoPaths?.[slug!]) {
    return { kind: 'local', hostPath: (await ensureFixture(shipped, opts.reposDir)).path };
  }
  if (slug && opts.repoPaths?.[slug]) return localRepo(opts.repoPaths[slug]!, `repo path for ${slug}`);
  if (slug && opts.repoCache) {
    const mirror = await ensureMirror(opts.repoCache, slug, `https://github.com/${slug}`, {
      timeoutS: opts.mirrorTimeoutS ?? 1800,
      ref: opts.ref,
      log: opts.log,
      signal: opts.signal,
    });
    return { kind: 'local', hostPath: mirror };
  }
  if (REMOTE.test(repo)) return { kind: 'remote', url: repo };
  if (slug) return { kind: 'remote', url: `https://github.com/${slug}` };
  const local = repo.startsWith('file://') ? decodeURIComponent(repo.slice('file://'.length)) : repo;
  if (!fs.existsSync(local)) throw new HarnessError('usage', `repo "${repo}" is neither a URL, owner/name, nor an existing directory`);
  return localRepo(local, `repo "${repo}"`);
}

function localRepo(dir: string, what: string): RepoSource {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    throw new HarnessError('usage', `${what}: "${dir}" is not an existing directory`);
  }
  if (!(fs.existsSync(path.join(abs, '.git')) || fs.existsSync(path.join(abs, 'HEAD')))) {
    throw new HarnessError('usage', `${what}: "${dir}" is not a git repository (expected a directory with .git, or a bare repo)`);
  }
  return { kind: 'local', hostPath: abs };
}

/**
 * The commit `ref` names, without cloning: asked of the local repository, or
 * of the remote with `git ls-remote` (a full commit id is taken as it is).
 * Null when it cannot be told in `timeoutS` (a snapshot is then not used).
 */
export async function resolveCommit(source: RepoSource, ref: string, timeoutS = 10): Promise<string | null> {
  if (source.kind === 'remote' && /^[0-9a-f]{40}$/.test(ref)) return ref;
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) =>
    new Promise<string | null>((resolve) => {
      execFile('git', args, { timeout: timeoutS * 1000, killSignal: 'SIGKILL', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout) => resolve(err ? null : stdout));
    });
  if (source.kind === 'local') {
    for (const r of [ref, `origin/${ref}`]) {
      const out = await run(['-c', 'safe.directory=*', '-C', source.hostPath, 'rev-parse', '-q', '--verify', `${r}^{commit}`]);
      const sha = out?.trim();
      if (sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
    }
    return null;
  }
  const out = await run(['ls-remote', source.url, ref, `refs/tags/${ref}^{}`]);
  if (!out) return null;
  const lines = out.split('\n').map((l) => l.split('\t')).filter((p) => p.length === 2 && /^[0-9a-f]{40}$/.test(p[0]!));
  // A tag's peeled line names its commit; otherwise the one ref that matched.
  const peeled = lines.find(([, name]) => name === `refs/tags/${ref}^{}`);
  if (peeled) return peeled[0]!;
  return lines.length === 1 ? lines[0]![0]! : null;
}
