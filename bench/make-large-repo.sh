#!/usr/bin/env bash
# A real, large Python repository for the benchmark (bench/bench.ts), built
# offline from Debian's packages: sympy 1.11.1 (with its whole test suite,
# ~1,500 modules) and mpmath 1.2.1, as one git repository with one synthetic
# bug, plus a SWE-bench instance for it and a warm mirror the harness serves.
#
# usage: bench/make-large-repo.sh DIR
#
# Writes (DIR is created; nothing here is committed to this project):
#   DIR/repo/                     work tree, branch main: commit 1 imports the
#                                 sources, commit 2 introduces the bug
#   DIR/cache/bench__sympy.git    `git clone --mirror` of it: pass `--repo-cache DIR/cache`
#   DIR/instances.jsonl           one SWE-bench instance, repo "bench/sympy"
#   DIR/info.json                 commit ids and repository size
# The .deb files are downloaded once into sandbox/debs/ (apt-get download,
# exact versions, checked by sha256). Commit ids are the same on every
# machine: fixed author, committer, dates and messages, no user or system
# git config. A DIR that is already complete is left as it is.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -eq 1 ] && exit 0 || exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mkdir -p "$1" && cd "$1" && pwd)
debs="$root/sandbox/debs"
BUILD_VERSION=1 # bump when what this script builds changes

SYMPY_DEB=python3-sympy_1.11.1-1_all.deb
SYMPY_SHA=b437232be31819aafd267ddf2132c16293ef75e02fd58b4ad31eee3ef1d5b49e
MPMATH_DEB=python3-mpmath_1.2.1-2_all.deb
MPMATH_SHA=2c219b63cbab11b27208ef4141c116cbb022dc1236e84981fadb46042f3ce235

if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$BUILD_VERSION" ]; then
  echo "large repo: up to date in $dir" >&2
  exit 0
fi

# --- 1. the Debian packages (downloaded once) --------------------------------
mkdir -p "$debs"
if [ ! -f "$debs/$SYMPY_DEB" ] || [ ! -f "$debs/$MPMATH_DEB" ]; then
  echo "large repo: apt-get download python3-sympy python3-mpmath (4.7 MB) into $debs" >&2
  # (apt warns that its _apt user cannot write there when run as root; the download works anyway)
  (cd "$debs" && apt-get download -q python3-sympy=1.11.1-1 python3-mpmath=1.2.1-2) >&2 || true
  if [ ! -f "$debs/$SYMPY_DEB" ] || [ ! -f "$debs/$MPMATH_DEB" ]; then
    echo "large repo: the download failed (needs Debian bookworm's apt mirror; try apt-get update first)" >&2
    exit 3
  fi
fi
echo "$SYMPY_SHA  $debs/$SYMPY_DEB
$MPMATH_SHA  $debs/$MPMATH_DEB" | sha256sum -c --quiet - >&2 || { echo "large repo: checksum mismatch in $debs" >&2; exit 3; }

# --- 2. the repository --------------------------------------------------------
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME='swe-harness bench' GIT_AUTHOR_EMAIL='bench@swe-harness.invalid'
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
commit_at() { GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git -C "$repo" commit -q --no-verify -m "$2"; }

rm -rf "$dir/repo" "$dir/cache" "$dir/.complete" "$dir/extract"
extract="$dir/extract"
mkdir -p "$extract"
dpkg-deb -x "$debs/$SYMPY_DEB" "$extract"
dpkg-deb -x "$debs/$MPMATH_DEB" "$extract"
repo="$dir/repo"
mkdir -p "$repo"
git init -q -b main --template= "$repo"
mv "$extract/usr/lib/python3/dist-packages/sympy" "$extract/usr/lib/python3/dist-packages/mpmath" "$repo/"
rm -rf "$extract"
cat > "$repo/pyproject.toml" <<'EOF'
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "sympy"
version = "1.11.1"
description = "sympy 1.11.1 with mpmath 1.2.1 vendored, from Debian's python3-sympy / python3-mpmath (swe-harness benchmark repository)"
requires-python = ">=3.8"

[tool.setuptools.packages.find]
include = ["sympy*", "mpmath*"]
EOF
printf '%s\n' '__pycache__/' '*.pyc' '*.egg-info/' '.pytest_cache/' > "$repo/.gitignore"
git -C "$repo" add -A
commit_at '2024-01-01T00:00:00Z' 'Import sympy 1.11.1 and mpmath 1.2.1 (Debian python3-sympy 1.11.1-1, python3-mpmath 1.2.1-2)'
fixed=$(git -C "$repo" rev-parse HEAD)

# The bug: a "simplification" of rotate_right drops the modulo, so steps of
# more than the list's length (or negative steps) rotate wrongly. The existing
# tests only rotate by 1, so they still pass.
target=sympy/utilities/iterables.py
grep -q '^    y = len(x) - y % len(x)$' "$repo/$target"
sed -i 's/^    y = len(x) - y % len(x)$/    y = len(x) - y/' "$repo/$target"
git -C "$repo" add "$target"
commit_at '2024-01-02T00:00:00Z' 'utilities: simplify the step arithmetic of rotate_right'
buggy=$(git -C "$repo" rev-parse HEAD)

# Gold patch: the bug commit reversed (non-test files only).
gold=$(git -C "$repo" diff "$buggy" "$fixed" -- "$target")

# Test patch: a regression test right after test_rotate.
tfile=sympy/utilities/tests/test_iterables.py
awk '
  /^def test_multiset_partitions\(\):/ && !done {
    print "def test_rotate_by_more_than_length():"
    print "    A = [0, 1, 2, 3, 4]"
    print "    assert rotate_right(A, 7) == [3, 4, 0, 1, 2]"
    print "    assert rotate_right(A, 12) == [3, 4, 0, 1, 2]"
    print "    assert rotate_right(A, -1) == [1, 2, 3, 4, 0]"
    print "    assert rotate_right(A, 5) == A"
    print "    assert rotate_left(A, 12) == [2, 3, 4, 0, 1]"
    print "    assert rotate_left(A, -1) == [4, 0, 1, 2, 3]"
    print ""
    print ""
    done = 1
  }
  { print }
' "$repo/$tfile" > "$repo/$tfile.new"
mv "$repo/$tfile.new" "$repo/$tfile"
test_patch=$(git -C "$repo" diff -- "$tfile")
git -C "$repo" checkout -q -- "$tfile"
[ -n "$gold" ] && [ -n "$test_patch" ]

# PASS_TO_PASS: every test the file already has (checked by bench/bench.ts,
# which runs the instance without the gold patch too).
p2p=$(sed -n 's/^def \(test_[A-Za-z0-9_]*\)(.*/sympy\/utilities\/tests\/test_iterables.py::\1/p' "$repo/$tfile")

# Packed, as a mirror of a real remote would be.
git -C "$repo" repack -adq
git -C "$repo" gc -q --prune=now
mkdir -p "$dir/cache"
git clone -q --mirror --no-hardlinks "$repo" "$dir/cache/bench__sympy.git.tmp"
mv "$dir/cache/bench__sympy.git.tmp" "$dir/cache/bench__sympy.git"

files=$(git -C "$repo" ls-files | wc -l)
py=$(git -C "$repo" ls-files '*.py' | wc -l)
tests=$(git -C "$repo" ls-files 'sympy/**/tests/test_*.py' | wc -l)
bytes=$(git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 stat -c %s) | awk '{s += $1} END {print s}')
mirror_bytes=$(du -sb "$dir/cache/bench__sympy.git" | cut -f1)

GOLD="$gold" TEST_PATCH="$test_patch" P2P="$p2p" BUGGY="$buggy" FIXED="$fixed" FILES="$files" PY="$py" TESTS="$tests" \
BYTES="$bytes" MIRROR_BYTES="$mirror_bytes" OUT="$dir" node --input-type=module -e '
import fs from "node:fs";
const e = process.env;
const inst = {
  instance_id: "bench__sympy-1",
  repo: "bench/sympy",
  base_commit: e.BUGGY,
  patch: e.GOLD + "\n",
  test_patch: e.TEST_PATCH + "\n",
  FAIL_TO_PASS: ["sympy/utilities/tests/test_iterables.py::test_rotate_by_more_than_length"],
  PASS_TO_PASS: e.P2P.split("\n").filter(Boolean),
  problem_statement: "rotate_right rotates wrongly by more than the length\n\n`sympy.utilities.iterables.rotate_right(x, y)` gives wrong results when `y` is larger than `len(x)` or negative:\n\n```python\n>>> rotate_right([0, 1, 2, 3, 4], 12)\n[0, 1, 2, 3, 4]\n```\n\nExpected `[3, 4, 0, 1, 2]` (the same as rotating by 2), as `rotate_left` does for its direction.",
  hints_text: "",
  version: "1.11",
  environment_setup_commit: e.FIXED,
  created_at: "2024-01-02T00:00:00Z",
};
fs.writeFileSync(`${e.OUT}/instances.jsonl`, JSON.stringify(inst) + "\n");
const info = {
  label: "real large repository (sympy 1.11.1 from Debian, 1 synthetic bug)",
  instance_id: inst.instance_id, repo: inst.repo, base_commit: e.BUGGY, fixed_commit: e.FIXED,
  files: Number(e.FILES), python_files: Number(e.PY), test_files: Number(e.TESTS),
  bytes: Number(e.BYTES), mirror_bytes: Number(e.MIRROR_BYTES),
  repo_cache: `${e.OUT}/cache`, instances: `${e.OUT}/instances.jsonl`,
};
fs.writeFileSync(`${e.OUT}/info.json`, JSON.stringify(info, null, 2) + "\n");
'
echo "$BUILD_VERSION" > "$dir/.complete"
echo "large repo: built in $dir (base_commit $buggy, $files files)" >&2
