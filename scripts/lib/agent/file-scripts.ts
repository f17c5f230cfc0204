/**
 * The shell behind the file tools (list_files, read_file): paths are resolved
 * inside the container and refused outside the repository, symlinks included;
 * the scripts print @@ markers the Toolbox reads back.
 */

// Resolve a path inside the container and refuse anything outside the repository (symlinks included).
const RESOLVE = String.raw`
W="$1"; p="$2"
t=$(realpath -e -- "$p" 2>/dev/null) || { echo "@@NOPATH"; exit 2; }
case "$t" in "$W"|"$W"/*) ;; *) echo "@@OUTSIDE"; exit 3;; esac
rel=${'$'}{t#"$W"}; rel=${'$'}{rel#/}; [ -n "$rel" ] || rel=.
`;

export const LIST_SCRIPT = `${RESOLVE}
d="$3"; max="$4"
cd "$W" || exit 1
if [ -f "$rel" ]; then echo "$rel"; exit 0; fi
out=$(find "$rel" -mindepth 1 -maxdepth "$d" -name .git -prune -o -type d -printf '%p/\\n' -o -printf '%p\\n' | sed 's|^\\./||' | LC_ALL=C sort)
n=$(printf '%s\\n' "$out" | grep -c .)
printf '%s\\n' "$out" | head -n "$max"
if [ "$n" -gt "$max" ]; then echo "@@MORE $n"; fi
`;

export const READ_SCRIPT = `${RESOLVE}
s="$3"; e="$4"; max="$5"
[ -f "$t" ] || { echo "@@NOTFILE"; exit 4; }
if [ -s "$t" ] && ! grep -qI . "$t"; then echo "@@BINARY"; exit 5; fi
echo "@@LINES $(awk 'END { print NR }' "$t")"
awk -v s="$s" -v e="$e" -v max="$max" '
  NR < s { next }
  e > 0 && NR > e { exit }
  { line = sprintf("%6d  %s", NR, $0); len += length(line) + 1
    if (len > max && shown > 0) exit
    print line; shown++; last = NR }
  END { print "@@LAST " last + 0 }' "$t"
`;

/** A path the file tools refuse before asking the container: absolute, `..`, or a leading `-`. */
export function refusePath(p: string): string | null {
  if (p.startsWith('/')) return `Error: "${p}" is absolute; give a path relative to the repository root.`;
  if (p.split('/').includes('..')) return `Error: "${p}" contains ".."; give a path inside the repository.`;
  if (p.startsWith('-')) return `Error: "${p}" is not a path.`;
  if (/[\0\n]/.test(p)) return 'Error: the path contains control characters.';
  return null;
}

/** Why a resolve/read failed, as the model reads it; null when the output has no problem marker. */
export function pathProblem(p: string, output: string): string | null {
  if (/^@@NOPATH$/m.test(output)) return `Error: "${p}" does not exist in the repository.`;
  if (/^@@OUTSIDE$/m.test(output)) return `Error: "${p}" is outside the repository.`;
  if (/^@@NOTFILE$/m.test(output)) return `Error: "${p}" is not a file (use list_files for directories).`;
  if (/^@@BINARY$/m.test(output)) return `Error: "${p}" is a binary file.`;
  return null;
}
