/**
 * The four stages of a run — clone, install, apply patch, pytest — each a
 * function of a live container. run-one calls them in order; the agent calls
 * the very same functions as tools. A stage never throws for things the code
 * under test does (failures, timeouts); it throws HarnessError only when the
 * harness itself cannot work (engine gone).
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HarnessConfig } from '../core/config.js';
import { execIn, type Container, type ExecResult } from '../engine/docker.js';
import { checkPatch } from './guardrails.js';
import { extractMarked, parsePytestOutput, pytestCommand, tailLinesOf } from '../testing/pytest.js';
import type { StageName, StageRecord, StageStatus, TestSummary } from '../core/types.js';

export interface StageEnv {
  container: Container;
  cfg: HarnessConfig;
  /** Directory for `<stage>.log` files, or null to keep no logs. */
  logDir: string | null;
  /** Ctrl-C: stops the stage at once (the caller removes the container). */
  signal?: AbortSignal;
  /** Environment variables every stage command gets (a task's or spec's `env`, e.g. PYTHONPATH=src). */
  vars?: Record<string, string>;
}

export interface StageRun {
  record: StageRecord;
  /** One line saying why the stage did not succeed; null when it did. */
  message: string | null;
  /** Last lines of the stage's output. */
  tail: string;
}

/** Where the task's repository lives inside the container (local repos are mounted here read-only). */
export const SOURCE_MOUNT = '/mnt/src';
/** Root-only scratch directory of the apply chain (not /tmp: the agent's commands can write there). */
const STATE_DIR = '/run/swe-harness';
const PATCH_FILE = `${STATE_DIR}/patch`;

function round(s: number): number {
  return Math.round(s * 100) / 100;
}

function statusOf(r: ExecResult): StageStatus {
  if (r.interrupted) return 'interrupted';
  if (r.timedOut) return 'timeout';
  // SIGKILL that was not our timeout: the OOM killer, or the container removed under us.
  if (r.lost || r.exitCode === 137) return 'error';
  if (r.exitCode === 0) return 'ok';
  return r.exitCode === null ? 'error' : 'failed';
}

async function execStage(
  env: StageEnv,
  name: StageName,
  argv: string[],
  timeoutS: number,
  extra: { input?: string; vars?: Record<string, string> } = {},
) {
  const r = await execIn(env.container, argv, {
    timeoutS,
    backstopS: env.cfg.backstopSeconds,
    logs: env.cfg.logs,
    logFile: env.logDir ? path.join(env.logDir, `${name}.log`) : null,
    cwd: name === 'clone' ? '/' : env.cfg.workdir,
    input: extra.input,
    env: { ...env.vars, ...extra.vars },
    signal: env.signal,
  });
  const status = statusOf(r);
  const record: StageRecord = { name, status, duration_s: round(r.durationS), exit_code: r.exitCode };
  const tail = tailLinesOf(r.output, env.cfg.logs.tailLines);
  let message: string | null = null;
  if (status === 'timeout') message = `${name} timed out after ${timeoutS}s`;
  else if (status === 'interrupted') message = `${name} interrupted`;
  else if (r.lost) message = `${name}: the container was lost (${r.lost})`;
  else if (r.exitCode === 137) message = `${name}: killed by SIGKILL before its time limit (out of memory, or the container was removed)`;
  else if (status !== 'ok') {
    const last = tailLinesOf(r.output, 1).trim() || r.clientError || 'no output';
    message = `${name} exited ${r.exitCode ?? 'abnormally'}: ${last}`;
  }
  return { r, run: { record, message, tail } satisfies StageRun };
}

// Clone. Arguments arrive as "$1".. so repo URLs and refs are never parsed by a shell.
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

/** Clone `source` (a URL, or SOURCE_MOUNT for a local repo) into the workdir at `ref`. */
export async function clone(env: StageEnv, source: string, ref: string, timeoutS: number): Promise<StageRun & { head: string | null }> {
  const { r, run } = await execStage(env, 'clone', ['bash', '-c', CLONE_SCRIPT, 'clone', source, ref, env.cfg.workdir], timeoutS);
  const head = /^HEAD ([0-9a-f]{40})$/m.exec(r.output)?.[1] ?? null;
  if (run.record.status === 'failed' && /pathspec|did not match|unknown revision|not a valid|couldn't find remote ref/i.test(r.output)) {
    run.message = `clone: ref "${ref}" not found in ${source === SOURCE_MOUNT ? 'the repository' : source}`;
  }
  return { ...run, head };
}

/** Run the task's install command in the repo (bash -c). */
export async function install(env: StageEnv, command: string, timeoutS: number): Promise<StageRun> {
  return (await execStage(env, 'install', ['bash', '-c', command], timeoutS)).run;
}

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
    input: check.text,
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

export interface PytestRun extends StageRun {
  summary: TestSummary;
}

/** Run pytest (-rA) between unguessable markers and parse what it reported. */
export async function runPytest(
  env: StageEnv,
  name: 'tests_before' | 'tests_after',
  selection: { k: string | null; tests: string[]; command?: string | null },
  timeoutS: number,
): Promise<PytestRun> {
  const nonce = randomBytes(8).toString('hex');
  const script = `echo "@@SWE-HARNESS-BEGIN ${nonce}"; "$@"; rc=$?; echo "@@SWE-HARNESS-END ${nonce} exit=$rc"; exit $rc`;
  // A task's own test command (SWE-bench specs) is a shell prefix the test files are appended to;
  // it must keep pytest's -rA report, which is what gets parsed.
  const command = selection.command
    ? ['bash', '-c', `${selection.command} "$@"`, 'test_cmd', ...(selection.k ? ['-k', selection.k] : []), ...selection.tests]
    : pytestCommand({ k: selection.k, tests: selection.tests });
  const argv = ['sh', '-c', script, 'pytest', ...command];
  const { r, run } = await execStage(env, name, argv, timeoutS);
  const marked = extractMarked(r.output, nonce);
  const exitCode = marked.complete ? marked.markerExit : r.exitCode;
  const summary = parsePytestOutput(marked.body || r.output, exitCode, env.cfg.logs.tailLines);
  if (run.record.status === 'timeout') {
    summary.status = 'timeout';
    summary.note = `killed after ${timeoutS}s`;
  } else if (run.record.status === 'interrupted') {
    summary.status = 'error';
    summary.note = 'interrupted';
  }
  // pytest failing is the code's verdict, not a broken stage: the stage is ok when pytest ran
  // to the end. (A SIGKILL before the limit is already an `error` stage: see statusOf.)
  if (run.record.status === 'failed' && marked.complete) {
    run.record.status = 'ok';
    run.message = null;
  }
  if (summary.status !== 'passed' && run.message === null) {
    run.message = `${name}: ${summary.note ?? describeCounts(summary)}`;
  }
  return { ...run, summary, tail: summary.tail || run.tail };
}

function describeCounts(s: TestSummary): string {
  const c = s.counts;
  return `${c.passed} passed, ${c.failed} failed, ${c.errors} errors (exit ${s.exit_code ?? 'none'})`;
}
