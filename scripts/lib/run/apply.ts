/**
 * Applying a patch inside the container: guardrails first (a rejected patch
 * never reaches the container), then the chain git apply → git apply --3way →
 * patch --forward --fuzz, restoring the touched paths between tries.
 */
import { patchBytes, type PatchEncoding } from '../core/diff.js';
import { checkPatch } from './guardrails.js';
import { execStage, type StageEnv, type StageRun } from './stages.js';
import { tailLinesOf } from '../testing/pytest.js';

/** Root-only scratch directory of the apply chain (not /tmp: the agent's commands can write there). */
const STATE_DIR = '/run/swe-harness';
const PATCH_FILE = `${STATE_DIR}/patch`;

// The apply chain. $1 is the patch file, $2 the number N of paths it touches,
// then those N paths, then the paths to reset to HEAD first. Each failed
// attempt restores exactly the touched paths, so earlier work in the tree (the
// agent's previous patches) survives a failed try. Scratch files live in a
// root-only directory: the agent's read-only commands run as nobody and must
// not be able to plant or swap them.
// (%{ stands for the shell's ${, which a JS template literal would take for its own.)
const APPLY_SCRIPT = String.raw`
set -u
p="$1"; n="$2"; shift 2
touched=("%{@:1:n}")
reset=("%{@:n+1}")
cd "$WORKDIR"
for f in "%{reset[@]}"; do
  if git cat-file -e "HEAD:$f" 2>/dev/null; then git checkout -q HEAD -- "$f"; else rm -rf -- "$f"; fi
done
list="$STATE/touched"
: > "$list"
for f in "%{touched[@]}"; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f" >> "$list"; fi; done
tar -cf "$STATE/backup.tar" --null -T "$list" 2>/dev/null
restore() {
  for f in "%{touched[@]}"; do rm -rf -- "$f" "$f.rej" "$f.orig"; done
  git reset -q -- "%{touched[@]}" 2>/dev/null
  tar -xf "$STATE/backup.tar"
}
is_touched() { local f; for f in "%{touched[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
if ! git apply --check "$p" 2>/dev/null && git apply --check --reverse "$p" 2>/dev/null; then
  echo "@@ALREADY-APPLIED"; exit 3
fi
echo "--- git apply"
if git apply --whitespace=nowarn "$p"; then echo "@@APPLIED git apply"; exit 0; fi
restore
echo "--- git apply --3way"
# --3way works on the index: stage the touched files as they are now (an earlier
# patch may have changed them) or it refuses with "does not match index".
for f in "%{touched[@]}"; do if [ -e "$f" ]; then git add -- "$f" 2>/dev/null; fi; done
if git apply --3way --whitespace=nowarn "$p"; then echo "@@APPLIED git apply --3way"; exit 0; fi
restore
echo "--- patch --forward --fuzz=$FUZZ"
# patch reads more formats than the guardrails parse: it may only touch the checked paths.
while IFS= read -r f; do
  if ! is_touched "$f"; then echo "error: patch would touch "$f", which the checked diff does not name"; restore; exit 1; fi
done < <(patch --dry-run --batch --forward --fuzz="$FUZZ" -p1 -i "$p" 2>/dev/null | sed -n 's/^checking file //p')
if patch --batch --forward --fuzz="$FUZZ" --no-backup-if-mismatch -r - -p1 -i "$p"; then echo "@@APPLIED patch --fuzz"; exit 0; fi
restore
exit 1
`.replaceAll('%{', '$' + '{');

export type ApplyOutcome = 'applied' | 'rejected' | 'failed';

export interface ApplyRun extends StageRun {
  outcome: ApplyOutcome;
  /** Which link of the chain applied it. */
  applied_with: string | null;
  files: string[];
}

/**
 * Check a patch against the guardrails and, when it passes, apply it with the
 * chain git apply → git apply --3way → patch --forward --fuzz. A rejected
 * patch never reaches the container.
 */
export interface ApplyOptions {
  /** Stage name in records and logs (the SWE-bench test patch is applied as `apply_test_patch`). */
  name?: 'apply_patch' | 'apply_test_patch';
  /** Fuzz factor of the last link, `patch --fuzz`. */
  fuzz?: number;
  /**
   * Reset the files the patch touches to the checked-out commit first (files
   * it does not have are removed): SWE-bench does this with the test files,
   * so a candidate patch cannot pre-empt the tests that judge it.
   */
  resetFirst?: boolean;
  /** Other paths to reset to the checked-out commit before applying. */
  resetPaths?: string[];
  /** How the patch text holds its bytes (Latin-1 patches go in byte for byte). */
  encoding?: PatchEncoding;
}

export async function applyPatch(env: StageEnv, patchText: string, opts: ApplyOptions = {}): Promise<ApplyRun> {
  const name = opts.name ?? 'apply_patch';
  const check = checkPatch(patchText, env.cfg.patch);
  if (!check.ok) {
    return {
      record: { name, status: 'failed', duration_s: 0, exit_code: null },
      message: `patch rejected: ${check.reason}`,
      tail: '',
      outcome: 'rejected',
      applied_with: null,
      files: [],
    };
  }
  // The patch travels as stdin into a file: never through a shell string.
  const reset = [...(opts.resetFirst ? check.files : []), ...(opts.resetPaths ?? [])];
  const argv = [
    'sh', '-c', `mkdir -p -m 700 ${STATE_DIR} && cat > ${PATCH_FILE} && exec bash -c "$0" apply "$@"`,
    APPLY_SCRIPT, PATCH_FILE, String(check.files.length), ...check.files, ...reset,
  ];
  const { r, run } = await execStage(env, name, argv, env.cfg.timeouts.test, {
    // Exactly the text the guardrails checked (no preamble, no signature): GNU patch
    // would read formats hidden there that the checks never saw.
    input: patchBytes(check.text, opts.encoding),
    vars: { WORKDIR: env.cfg.workdir, FUZZ: String(opts.fuzz ?? 3), STATE: STATE_DIR },
  });
  const applied = /^@@APPLIED (.+)$/m.exec(r.output)?.[1] ?? null;
  if (run.record.status === 'ok' && !applied) run.record.status = 'failed'; // exit 0 without our marker: not trusted
  if (run.record.status === 'failed') {
    run.message = /^@@ALREADY-APPLIED$/m.test(r.output)
      ? 'patch failed: it is already applied (it applies in reverse)'
      : `patch failed: no method applied it: ${firstComplaint(r.output)}`;
  }
  const outcome: ApplyOutcome = run.record.status === 'ok' ? 'applied' : 'failed';
  return { ...run, outcome, applied_with: applied, files: check.files };
}

/** The first error line of the apply chain's output: what git said, usually the most telling. */
function firstComplaint(output: string): string {
  const line = output.split('\n').find((l) => /^(error|fatal):|FAILED|malformed|can't find file|Hunk #\d+ FAILED/i.test(l));
  return (line ?? tailLinesOf(output, 1)).trim() || 'no output';
}
