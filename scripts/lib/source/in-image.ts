/**
 * The repository already in a prebuilt instance image (SWE-bench's `/testbed`):
 * nothing is cloned; the checkout there is checked to be at base_commit, and
 * reset to it when the image holds more (later commits, edits, stray files).
 */

/** A run whose repository comes with its image, at `workdir`. */
export interface ImageSource {
  kind: 'image';
  workdir: string;
}

// Arguments arrive as "$1".. so paths and commits are never parsed by a shell.
// The clean runs only after a reset: an image at base_commit keeps its untracked
// build outputs (an egg-info a repo does not ignore), as SWE-bench's own eval does.
const CHECKOUT_SCRIPT = String.raw`
set -u
dir="$1"; base="$2"
cd "$dir" 2>/dev/null || { echo "no repository at $dir in the image"; exit 1; }
git() { command git -c safe.directory="*" "$@"; }
head=$(git rev-parse -q --verify HEAD) || { echo "$dir in the image is not a git checkout"; exit 1; }
want=$(git rev-parse -q --verify "$base^{commit}") || { echo "base_commit $base is not in the image's repository at $dir"; exit 1; }
if [ "$head" = "$want" ] && git diff --quiet HEAD --; then
  echo "at base_commit"
else
  git reset -q --hard "$want" && git clean -fdq || exit 1
  echo "reset to base_commit from $head"
fi
echo "HEAD $(git rev-parse HEAD)"
`;

/** argv of the check-and-reset step: the repository at `workdir` brought to `base`. */
export function checkoutArgv(workdir: string, base: string): string[] {
  return ['bash', '-c', CHECKOUT_SCRIPT, 'checkout', workdir, base];
}

/** What the step did, for the progress line: "at base_commit" or "reset to base_commit from <sha>". */
export function checkoutNote(output: string): string | null {
  return /^(at base_commit|reset to base_commit from [0-9a-f]{40})$/m.exec(output)?.[1] ?? null;
}
