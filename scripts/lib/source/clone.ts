/**
 * How the clone stage puts a repository into the container: one script for a
 * local repository mounted read-only (a `--shared` clone, about a second even
 * for large ones), for one copied in over the engine's API (an engine that
 * cannot see this machine's files), and for a remote URL (a shallow fetch of just the ref).
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../core/errors.js';

/** Where a local repository is mounted inside the container (read-only). */
export const SOURCE_MOUNT = '/mnt/src';

/**
 * Where a local repository's git directory is copied into the container when
 * the engine cannot see this machine's files (no bind mount). The clone
 * consumes it: it is removed once cloned, so no snapshot carries it.
 */
export const SOURCE_COPY = '/swe-harness-src';

/**
 * The directory to copy in for a local repository: its git directory (a bare
 * repository or mirror is one; a work tree's `.git`, or the common directory a
 * `.git` file points to). The work tree's files are never sent: the clone checks out the commit.
 * @throws HarnessError('usage') when no git directory is found.
 */
export function gitDirOf(repo: string): string {
  const dotGit = path.join(repo, '.git');
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(dotGit);
  } catch {
    /* bare, or not a repository */
  }
  if (st?.isDirectory()) return dotGit;
  if (st?.isFile()) {
    // A linked work tree or submodule: `gitdir: <dir>`, whose commondir holds the objects and refs.
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m) {
      const gitdir = path.resolve(repo, m[1]!.trim());
      const common = path.join(gitdir, 'commondir');
      return fs.existsSync(common) ? path.resolve(gitdir, fs.readFileSync(common, 'utf8').trim()) : gitdir;
    }
  }
  if (fs.existsSync(path.join(repo, 'HEAD')) && fs.existsSync(path.join(repo, 'objects'))) return repo;
  throw new HarnessError('usage', `"${repo}" has no git directory to send to the engine`);
}

// Arguments arrive as "$1".. so repo URLs and refs are never parsed by a shell.
const CLONE_SCRIPT = String.raw`
set -eu
src="$1"; ref="$2"; dest="$3"; consume=""
if [ "$#" -ge 4 ]; then consume="$4"; fi
rm -rf "$dest"
if [ -n "$consume" ]; then
  # A copy sent in over the engine's API: a plain local clone (hard links, no
  # alternates), then the copy goes, so nothing but the clone is left.
  git -c safe.directory="*" clone -q --no-checkout "$src" "$dest"
  rm -rf "$src"
  cd "$dest"
elif [ -d "$src" ]; then
  # --shared borrows the objects from the (read-only) mount instead of copying
  # them: a large mirror clones in about a second.
  git -c safe.directory="*" clone -q --shared --no-checkout "$src" "$dest"
  cd "$dest"
else
  # Remote: a shallow fetch of just the ref is seconds instead of minutes on
  # big repositories; fall back to a full fetch when the server refuses it.
  git init -q "$dest"
  cd "$dest"
  git remote add origin "$src"
  if git fetch -q --depth 1 origin tag "$ref" 2>/dev/null; then
    :  # a tag: now refs/tags/$ref
  elif git fetch -q --depth 1 origin "$ref" 2>/dev/null; then
    ref=FETCH_HEAD  # a commit id or a branch: exactly what was asked for
  else
    git fetch -q --tags origin '+refs/heads/*:refs/remotes/origin/*'
  fi
fi
# A branch that is not the default one exists only as origin/<branch>. Anything
# else that does not resolve is an error: never check out some other commit.
if ! git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
  if git rev-parse -q --verify "origin/$ref^{commit}" >/dev/null; then
    ref="origin/$ref"
  else
    echo "fatal: couldn't find remote ref $ref"
    exit 1
  fi
fi
git -c advice.detachedHead=false checkout -q --detach "$ref"
echo "HEAD $(git rev-parse HEAD)"
`;

/** argv of the clone stage: clone `source` (a URL, SOURCE_MOUNT or SOURCE_COPY) at `ref` into `dest`. */
export function cloneArgv(source: string, ref: string, dest: string): string[] {
  const argv = ['bash', '-c', CLONE_SCRIPT, 'clone', source, ref, dest];
  return source === SOURCE_COPY ? [...argv, 'consume'] : argv;
}

/** The commit the clone checked out, from the script's `HEAD <sha>` line. */
export function clonedHead(output: string): string | null {
  return /^HEAD ([0-9a-f]{40})$/m.exec(output)?.[1] ?? null;
}

/** A clean one-line message when the clone failed because the ref does not exist, else null. */
export function refNotFound(output: string, source: string, ref: string): string | null {
  if (!/pathspec|did not match|unknown revision|not a valid|couldn't find remote ref/i.test(output)) return null;
  return `clone: ref "${ref}" not found in ${source === SOURCE_MOUNT || source === SOURCE_COPY ? 'the repository' : source}`;
}

// A `--shared` clone borrows the mount's objects through objects/info/alternates:
// copy them in (one pack) and drop the link, so a snapshot of the clone works
// without the mount. Remote clones have no alternates: nothing to do.
export const DETACH_SCRIPT = String.raw`
set -eu
cd "$1"
git() { command git -c safe.directory="*" "$@"; }
if [ -f .git/objects/info/alternates ]; then
  git repack -a -d -q
  rm -f .git/objects/info/alternates
  git cat-file -e "HEAD^{tree}"
  echo "objects copied from the mount"
fi
`;

/** argv that makes the clone at `dest` hold all of its objects itself (no alternates). */
export function detachObjectsArgv(dest: string): string[] {
  return ['bash', '-c', DETACH_SCRIPT, 'detach', dest];
}
