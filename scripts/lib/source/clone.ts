/**
 * How the clone stage puts a repository into the container: one script for a
 * local repository mounted read-only (a `--shared` clone, about a second even
 * for large ones) and for a remote URL (a shallow fetch of just the ref).
 */

/** Where a local repository is mounted inside the container (read-only). */
export const SOURCE_MOUNT = '/mnt/src';

// Arguments arrive as "$1".. so repo URLs and refs are never parsed by a shell.
const CLONE_SCRIPT = String.raw`
set -eu
src="$1"; ref="$2"; dest="$3"
rm -rf "$dest"
if [ -d "$src" ]; then
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

/** argv of the clone stage: clone `source` (a URL, or SOURCE_MOUNT) at `ref` into `dest`. */
export function cloneArgv(source: string, ref: string, dest: string): string[] {
  return ['bash', '-c', CLONE_SCRIPT, 'clone', source, ref, dest];
}

/** The commit the clone checked out, from the script's `HEAD <sha>` line. */
export function clonedHead(output: string): string | null {
  return /^HEAD ([0-9a-f]{40})$/m.exec(output)?.[1] ?? null;
}

/** A clean one-line message when the clone failed because the ref does not exist, else null. */
export function refNotFound(output: string, source: string, ref: string): string | null {
  if (!/pathspec|did not match|unknown revision|not a valid|couldn't find remote ref/i.test(output)) return null;
  return `clone: ref "${ref}" not found in ${source === SOURCE_MOUNT ? 'the repository' : source}`;
}

// A `--shared` clone borrows the mount's objects through objects/info/alternates:
// copy them in (one pack) and drop the link, so a snapshot of the clone works
// without the mount. Remote clones have no alternates: nothing to do.
const DETACH_SCRIPT = String.raw`
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
