/**
 * One run of one task, end to end, as a short sequence of stages: container →
 * clone → install → (tests before → apply patch) → (test patch) → tests →
 * result.json. Whatever happens — failure, timeout, bad input, Ctrl-C — a
 * result file is written and the container is removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import type { PatchInput, Task } from '../core/types.js';
import { patchBytes } from '../core/diff.js';
import { sha256 } from '../core/values.js';
import { disconnectNetwork } from '../engine/docker.js';
import { resolveImage } from '../engine/images.js';
import type { InstanceTask } from '../task/instances.js';
import { inEnv, runnerForTask, type TestRunner, type TestSelection } from '../testing/runner.js';
import { applyPatch } from './apply.js';
import { hasEvalScript, runEvalScript } from './eval-script.js';
import { checkPatch } from './guardrails.js';
import { cacheKey, effectiveTimeouts, newRunId } from './keys.js';
import { RunRecorder, type RunOutcome } from './outcome.js';
import type { PatchRecord } from './result.js';
import { prepare, preparePrebuilt, startContainer, stopContainer } from './sandbox.js';
import { cachedStages, fromSnapshot, openSnapshot, type SnapshotSession } from './snapshot.js';
import { checkoutInImage, clone, install, installedInImage, runTests, type StageEnv } from './stages.js';

export { blankResult, recordBadInput, type RunOutcome } from './outcome.js';
export { cacheKey, effectiveTimeouts, newRunId } from './keys.js';

export interface RunOptions {
  cfg: HarnessConfig;
  /** Image from the CLI; falls back to the task's, then to the best harness image. */
  image?: string | null;
  patch?: PatchInput | null;
  /** Timeouts given explicitly on the CLI: they win over the task row, which wins over the defaults. */
  timeouts?: Partial<StageTimeouts>;
  signal?: AbortSignal;
  /** Run the tests before the patch too (default: yes for tasks, no for SWE-bench instances). */
  before?: boolean;
  /** Progress lines (stage outcomes) for the terminal. */
  log?: (line: string) => void;
}

export async function runTask(task: Task, opts: RunOptions): Promise<RunOutcome> {
  const { cfg } = opts;
  const log = opts.log ?? (() => {});
  const runId = newRunId(task.task_id);
  const runDir = path.join(cfg.runsDir, runId);
  fs.mkdirSync(runDir, { recursive: true });
  const timeouts = effectiveTimeouts(cfg, task, opts.timeouts);
  const rec = new RunRecorder(task, { runDir, signal: opts.signal, log });
  const { result, inst } = rec;
  let containerRequested = false;
  let snap: SnapshotSession | null = null;

  try {
    if (opts.patch) {
      result.patch = recordPatch(opts.patch, runDir, cfg);
      const patchRecord = result.patch;
      // Guardrails first: a patch we refuse costs no container at all.
      const check = checkPatch(opts.patch.text, cfg.patch);
      if (!check.ok) {
        result.status = 'patch_rejected';
        result.error = `patch rejected: ${check.reason}`;
        log(`[apply_patch] rejected — ${check.reason}`);
        // Keyed like any run, so run-many does not try the same patch again.
        const image = await resolveImage(opts.image ?? task.image ?? null);
        result.cache_key = cacheKey(task, image, patchRecord.sha256, timeouts);
        return rec.finish();
      }
    }

    // SWE-Factory / R2E-Gym rows: their image and eval script replace clone, install, test patch and test command.
    if (hasEvalScript(task)) return await runEvalScript(task, { ...opts, log, timeouts, runId, runDir, rec });

    // Prebuilt instance image: the repository is already there, installed (no clone, no install).
    const layout = inst?.prebuilt ?? null;
    const prep = layout
      ? await preparePrebuilt(opts.image ?? task.image ?? '', layout.workdir, cfg, log, opts.signal)
      : await prepare(task, cfg, opts.image ?? null, log, opts.signal);
    result.image = { name: prep.image.name, python: prep.image.python, flavour: prep.image.flavour };
    log(layout ? `image ${prep.image.name} (prebuilt: repository in ${layout.workdir})` : `image ${prep.image.name} (python ${prep.image.python}, ${prep.image.flavour})`);
    // The installed environment of an earlier run with the same key, or the claim to keep this one's.
    snap = layout ? null : await openSnapshot(task, prep, cfg, log);
    containerRequested = true;
    const env = await startContainer(snap?.hit ? fromSnapshot(prep, snap.hit, cfg.workdir) : prep, { cfg: layout ? { ...cfg, workdir: layout.workdir } : cfg, timeouts, runId, runDir, signal: opts.signal, vars: inst?.env });
    result.cache_key = cacheKey(task, prep.image, result.patch?.sha256 ?? null, timeouts);

    if (layout) {
      if (!(await fromImage(env, rec, task.ref, timeouts.clone, log))) return rec.finish();
    } else if (snap?.hit) {
      result.head = snap.hit.head;
      for (const cached of cachedStages(snap.hit, Boolean(task.install))) rec.stage(cached);
    } else {
      const cloned = await clone(env, prep.cloneSource, task.ref, timeouts.clone);
      result.head = cloned.head;
      if (!rec.stage(cloned)) return rec.finish();
      if (task.install && !rec.stage(await install(env, task.install, timeouts.install))) return rec.finish();
      // Kept before any patch or test touches the container.
      await snap?.save(env, cloned.head);
    }
    // From here on the code under test runs: no network, whatever the task is.
    await disconnectNetwork(env.container);

    const selection: TestSelection = { k: task.pytest_k, tests: task.tests, command: inst?.test_cmd ?? null };
    const runner = inEnv(runnerForTask(task), layout?.env_prelude ?? null);
    if (opts.patch && !(await beforeAndPatch(env, rec, opts.patch, { selection, runner }, opts.before ?? !inst))) return rec.finish();
    // As SWE-bench: the test files go back to the base commit, then the test patch goes on.
    if (inst?.test_patch && !(await applyTestPatch(env, rec, inst))) return rec.finish();

    const after = await runTests(env, 'tests_after', selection, env.cfg.timeouts.test, runner);
    if (rec.tests(after, 'after')) rec.decide(after.summary, runner.parser);
    return rec.finish();
  } catch (err) {
    return rec.fail(err);
  } finally {
    // Removal by name also catches a container whose `docker run` raced a Ctrl-C.
    await snap?.release();
    if (containerRequested) await stopContainer(runId);
  }
}

/** Clone and install as they come with a prebuilt image: the repository checked (or reset) to base_commit, the install skipped. */
async function fromImage(env: StageEnv, rec: RunRecorder, base: string, timeoutS: number, log: (line: string) => void): Promise<boolean> {
  const checked = await checkoutInImage(env, base, timeoutS);
  rec.result.head = checked.head;
  if (!rec.stage(checked)) return false;
  if (checked.note?.startsWith('reset')) log(`[clone] ${env.cfg.workdir} ${checked.note}`);
  return rec.stage(installedInImage());
}

/** The patch as recorded in result.json (and kept as patch.diff), before any check. */
function recordPatch(patch: PatchInput, runDir: string, cfg: HarnessConfig): PatchRecord {
  // Byte for byte as given: a Latin-1 line stays Latin-1 in patch.diff, its hash and the repository.
  const bytes = patchBytes(patch.text, patch.encoding);
  // A patch larger than a log is one the guardrails refuse anyway: keep its head, as logs are kept.
  const kept = bytes.subarray(0, cfg.logs.maxLogBytes);
  const note = kept.length < bytes.length ? `\n[swe-harness: patch capped at ${kept.length} bytes; ${bytes.length - kept.length} more bytes not stored]\n` : '';
  fs.writeFileSync(path.join(runDir, 'patch.diff'), Buffer.concat([kept, Buffer.from(note)]));
  const check = checkPatch(patch.text, cfg.patch);
  return {
    source: patch.source,
    sha256: sha256(bytes),
    bytes: bytes.length,
    files: check.ok ? check.files : [],
    applied_with: null,
  };
}

/**
 * The tests before the patch (when asked), then the candidate patch. A failing
 * "before" run is expected (that is what the patch is for); only a timeout or
 * Ctrl-C stops the run there. An instance's "before" is SWE-bench's: its tests
 * (the test patch) without the candidate, which then goes onto the base
 * versions of the test files. False when the run stops here.
 */
async function beforeAndPatch(env: StageEnv, rec: RunRecorder, patch: PatchInput, tests: { selection: TestSelection; runner: TestRunner }, before: boolean): Promise<boolean> {
  let resetForCandidate: string[] = [];
  if (before) {
    if (rec.inst?.test_patch) {
      const tp = await applyPatch(env, rec.inst.test_patch, { name: 'apply_test_patch', resetFirst: true });
      if (!rec.stage(tp, 'test patch: ')) return false;
      resetForCandidate = tp.files;
    }
    if (!rec.tests(await runTests(env, 'tests_before', tests.selection, env.cfg.timeouts.test, tests.runner), 'before')) return false;
  }
  const applied = await applyPatch(env, patch.text, { resetPaths: resetForCandidate, encoding: patch.encoding });
  rec.result.patch!.applied_with = applied.applied_with;
  if (rec.stage(applied)) return true;
  if (applied.record.status === 'failed') rec.result.status = 'patch_failed';
  return false;
}

/** The dataset's test patch, onto the base versions of its files; its failure is reported as an error. */
async function applyTestPatch(env: StageEnv, rec: RunRecorder, inst: InstanceTask): Promise<boolean> {
  return rec.stage(await applyPatch(env, inst.test_patch!, { name: 'apply_test_patch', resetFirst: true }), 'test patch: ');
}
