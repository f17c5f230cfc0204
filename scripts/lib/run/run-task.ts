/**
 * One run of one task, end to end, as a short sequence of steps: the patch
 * checked → a container → the repository in (cloned and installed, restored
 * from a snapshot, or already in a prebuilt image) → (tests before → apply
 * patch) → (test patch) → tests → result.json. Whatever happens — failure,
 * timeout, bad input, Ctrl-C — a result file is written and the container removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import type { PatchInput, Task } from '../core/types.js';
import { patchBytes } from '../core/diff.js';
import { sha256 } from '../core/values.js';
import { disconnectNetwork, onEngine } from '../engine/docker.js';
import type { Engine } from '../engine/engine.js';
import { resolveRunImage } from '../engine/images.js';
import type { InstanceTask } from '../task/instances.js';
import { inEnv, runnerForTask, type TestRunner, type TestSelection } from '../testing/runner.js';
import { applyPatch } from './apply.js';
import { hasEvalScript, runEvalScript } from './eval-script.js';
import { checkPatch, type PatchCheck } from './guardrails.js';
import { cacheKey, effectiveTimeouts, newRunId } from './keys.js';
import { RunRecorder, type RunOutcome } from './outcome.js';
import type { PatchRecord } from './result.js';
import { prepare, preparePrebuilt, startContainer, stopContainer, type Prepared } from './sandbox.js';
import { cachedStages, fromSnapshot, openSnapshot, type SnapshotSession } from './snapshot.js';
import { checkoutInImage, clone, install, installedInImage, runTests, type StageEnv, type TestRun } from './stages.js';

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
  /**
   * Run the tests before the patch in a second container started from the
   * run's snapshot, while this one takes the patch and runs the tests after:
   * the wait of one test run instead of two (run-one; a batch keeps one
   * container per run). Without a snapshot the run is sequential as ever.
   */
  beside?: boolean;
  /** Progress lines (stage outcomes) for the terminal. */
  log?: (line: string) => void;
  /**
   * The engine this run goes to — its image, snapshot, container and the
   * container's removal — whatever the process's default engine is (run-many
   * over several engines); default: the default engine.
   */
  engine?: Engine;
}

export function runTask(task: Task, opts: RunOptions): Promise<RunOutcome> {
  return opts.engine ? onEngine(opts.engine, () => runHere(task, opts)) : runHere(task, opts);
}

/** One run on the default engine (the run's own, inside onEngine). */
async function runHere(task: Task, opts: RunOptions): Promise<RunOutcome> {
  const { cfg } = opts;
  const log = opts.log ?? (() => {});
  const runId = newRunId(task.task_id);
  const runDir = path.join(cfg.runsDir, runId);
  fs.mkdirSync(runDir, { recursive: true });
  const timeouts = effectiveTimeouts(cfg, task, opts.timeouts);
  const rec = new RunRecorder(task, { runDir, signal: opts.signal, log });
  const { inst } = rec;
  const run: OpenRun = { runId, snap: null, containerRequested: false, sibling: null };

  try {
    if (opts.patch && !(await candidateAccepted(task, opts, rec, timeouts))) return rec.finish();
    // SWE-Factory / R2E-Gym rows: their image and eval script replace clone, install, test patch and test command.
    if (hasEvalScript(task)) return await runEvalScript(task, { ...opts, log, timeouts, runId, runDir, rec });

    const { env, prep } = await openContainer(task, opts, rec, run, timeouts);
    if (!(await repositoryIn(task, { env, prep, log }, rec, run, timeouts))) return rec.finish();
    // From here on the code under test runs: no network, whatever the task is.
    await disconnectNetwork(env.container);

    const selection: TestSelection = { k: task.pytest_k, tests: task.tests, command: inst?.test_cmd ?? null };
    const runner = inEnv(runnerForTask(task), inst?.prebuilt?.env_prelude ?? null);
    const sibling = besideWanted(opts, inst) ? startSibling(run, opts, timeouts) : null;
    if (opts.patch && sibling) {
      const after = await beforeBeside(env, rec, opts.patch, { selection, runner }, sibling);
      if (after && rec.tests(after, 'after')) rec.decide(after.summary, runner.parser);
      return rec.finish();
    }
    if (opts.patch && !(await beforeAndPatch(env, rec, opts.patch, { selection, runner }, opts.before ?? !inst))) return rec.finish();
    // As SWE-bench: the test files go back to the base commit, then the test patch goes on.
    if (inst?.test_patch && !(await applyTestPatch(env, rec, inst))) return rec.finish();

    const after = await runTests(env, 'tests_after', selection, env.cfg.timeouts.test, runner);
    if (rec.tests(after, 'after')) rec.decide(after.summary, runner.parser);
    return rec.finish();
  } catch (err) {
    return rec.fail(err);
  } finally {
    try {
      // Removal by name also catches a container whose `docker run` raced a Ctrl-C.
      const sib = run.sibling;
      // The sibling's start may still be in flight (the run failed early): removed once it settles, never before.
      const sibGone = sib ? sib.env.then(() => sib.removal ?? stopContainer(sib.runId), () => stopContainer(sib.runId)) : null;
      await Promise.all([run.containerRequested ? stopContainer(runId) : null, sibGone]);
    } finally {
      // After the containers: a snapshot this run kept is no longer in use when the cap is applied to it.
      await run.snap?.release();
    }
  }
}

/** What the run holds that its end must give back. */
interface OpenRun {
  runId: string;
  snap: SnapshotSession | null;
  containerRequested: boolean;
  /** The second container of a run whose "before" tests run beside the patch (beforeBeside), once asked for. */
  sibling: Sibling | null;
  /** What the run's container was started from, and its variables (a sibling gets the same). */
  prep?: Prepared;
  vars?: Record<string, string>;
}

interface Sibling {
  runId: string;
  env: Promise<StageEnv>;
  /** Its removal once its tests are done. */
  removal?: Promise<void>;
}

/** Whether the tests before the patch may go beside it: asked for (run-one), a patch, tests before it, and no test patch to put on first. */
function besideWanted(opts: RunOptions, inst: InstanceTask | null): boolean {
  return Boolean(opts.beside && opts.patch && (opts.before ?? !inst) && !inst?.test_patch);
}

/**
 * The second container, from the snapshot this run started from or has just
 * kept: the same installed state the tests before the patch must see. Null
 * when there is no snapshot: then the run stays in one container.
 */
function startSibling(run: OpenRun, opts: RunOptions, timeouts: StageTimeouts): Sibling | null {
  if (!run.prep) return null;
  const snapshot = run.snap?.hit ?? run.snap?.kept;
  if (!snapshot) return null;
  if (!run.sibling) {
    const runId = `${run.runId}-before`;
    const env = startContainer(fromSnapshot(run.prep, snapshot, opts.cfg.workdir), {
      cfg: opts.cfg, timeouts, runId, runDir: path.join(opts.cfg.runsDir, run.runId), signal: opts.signal, vars: run.vars, log: opts.log,
    });
    env.catch(() => {}); // awaited by beforeBeside; a run that stops before it must not leave a rejection unhandled
    run.sibling = { runId, env };
  }
  return run.sibling;
}

/**
 * The candidate patch recorded (patch.diff, hash) and checked by the
 * guardrails: a patch we refuse costs no container at all, and is keyed like
 * any run so run-many does not try it again. False when refused.
 */
async function candidateAccepted(task: Task, opts: RunOptions, rec: RunRecorder, timeouts: StageTimeouts): Promise<boolean> {
  const patch = opts.patch!;
  const { record, check } = recordPatch(patch, rec.resultFile, opts.cfg);
  rec.result.patch = record;
  if (check.ok) return true;
  rec.result.status = 'patch_rejected';
  rec.result.error = `patch rejected: ${check.reason}`;
  opts.log?.(`[apply_patch] rejected — ${check.reason}`);
  const image = await resolveRunImage(opts.image ?? task.image ?? null);
  rec.result.cache_key = cacheKey(task, image, record.sha256, timeouts);
  return false;
}

/**
 * The image and the run's container: a prebuilt instance image (repository
 * inside), else the harness image — started from the installed snapshot of an
 * earlier run with the same key when there is one.
 */
async function openContainer(task: Task, opts: RunOptions, rec: RunRecorder, run: OpenRun, timeouts: StageTimeouts): Promise<{ env: StageEnv; prep: Prepared }> {
  const { cfg } = opts;
  const log = opts.log ?? (() => {});
  const layout = rec.inst?.prebuilt ?? null;
  const prep = layout
    ? await preparePrebuilt(opts.image ?? task.image ?? '', layout.workdir, cfg, log, opts.signal)
    : await prepare(task, cfg, opts.image ?? null, log, opts.signal);
  rec.result.image = { name: prep.image.name, python: prep.image.python, flavour: prep.image.flavour };
  log(layout ? `image ${prep.image.name} (prebuilt: repository in ${layout.workdir})` : `image ${prep.image.name} (python ${prep.image.python}, ${prep.image.flavour})`);
  run.snap = layout ? null : await openSnapshot(task, prep, cfg, log);
  run.prep = prep;
  run.vars = rec.inst?.env;
  run.containerRequested = true;
  // From a snapshot, the sibling (if the run wants one) starts together with this container.
  if (run.snap?.hit && besideWanted(opts, rec.inst)) startSibling(run, opts, timeouts);
  const from = run.snap?.hit ? fromSnapshot(prep, run.snap.hit, cfg.workdir) : prep;
  const env = await startContainer(from, {
    cfg: layout ? { ...cfg, workdir: layout.workdir } : cfg, timeouts, runId: run.runId, runDir: path.dirname(rec.resultFile), signal: opts.signal, vars: rec.inst?.env, log,
  });
  rec.result.cache_key = cacheKey(task, prep.image, rec.result.patch?.sha256 ?? null, timeouts);
  return { env, prep };
}

/**
 * The repository, installed, in the container — one of three ways: already
 * in a prebuilt image (checked, reset to base_commit), restored with the
 * snapshot (clone and install recorded as cached), or cloned and installed
 * (and then kept as a snapshot, before any patch or test touches it).
 */
async function repositoryIn(
  task: Task,
  { env, prep, log }: { env: StageEnv; prep: Prepared; log: (line: string) => void },
  rec: RunRecorder,
  run: OpenRun,
  timeouts: StageTimeouts,
): Promise<boolean> {
  if (rec.inst?.prebuilt) return fromImage(env, rec, task.ref, timeouts.clone, log);
  const hit = run.snap?.hit;
  if (hit) {
    rec.result.head = hit.head;
    return cachedStages(hit, Boolean(task.install)).every((cached) => rec.stage(cached));
  }
  const cloned = await clone(env, prep.cloneSource, task.ref, timeouts.clone);
  rec.result.head = cloned.head;
  if (!rec.stage(cloned)) return false;
  if (task.install && !rec.stage(await install(env, task.install, timeouts.install))) return false;
  await run.snap?.save(env, cloned.head);
  return true;
}

/** Clone and install as they come with a prebuilt image: the repository checked (or reset) to base_commit, the install skipped. */
async function fromImage(env: StageEnv, rec: RunRecorder, base: string, timeoutS: number, log: (line: string) => void): Promise<boolean> {
  const checked = await checkoutInImage(env, base, timeoutS);
  rec.result.head = checked.head;
  if (!rec.stage(checked)) return false;
  if (checked.note?.startsWith('reset')) log(`[clone] ${env.cfg.workdir} ${checked.note}`);
  return rec.stage(installedInImage());
}

/** The patch as recorded in result.json (and kept as patch.diff beside `resultFile`), with the guardrails' verdict. */
function recordPatch(patch: PatchInput, resultFile: string, cfg: HarnessConfig): { record: PatchRecord; check: PatchCheck } {
  const runDir = path.dirname(resultFile);
  // Byte for byte as given: a Latin-1 line stays Latin-1 in patch.diff, its hash and the repository.
  const bytes = patchBytes(patch.text, patch.encoding);
  // A patch larger than a log is one the guardrails refuse anyway: keep its head, as logs are kept.
  const kept = bytes.subarray(0, cfg.logs.maxLogBytes);
  const note = kept.length < bytes.length ? `\n[swe-harness: patch capped at ${kept.length} bytes; ${bytes.length - kept.length} more bytes not stored]\n` : '';
  fs.writeFileSync(path.join(runDir, 'patch.diff'), Buffer.concat([kept, Buffer.from(note)]));
  const check = checkPatch(patch.text, cfg.patch);
  const record = { source: patch.source, sha256: sha256(bytes), bytes: bytes.length, files: check.ok ? check.files : [], applied_with: null };
  return { record, check };
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

/**
 * The tests before the patch in the sibling container while this one applies
 * the patch and runs the tests after; recorded in a sequential run's order
 * with its stops: a "before" that timed out or was interrupted ends the run
 * there, whatever this container did meanwhile. The "after" run to record, or
 * null when the run stops before it.
 */
async function beforeBeside(
  env: StageEnv, rec: RunRecorder, patch: PatchInput, tests: { selection: TestSelection; runner: TestRunner }, sibling: Sibling,
): Promise<TestRun | null> {
  const beforeRun = sibling.env.then(async (side) => {
    const r = await runTests(side, 'tests_before', tests.selection, env.cfg.timeouts.test, tests.runner);
    sibling.removal = stopContainer(sibling.runId); // done with it: its removal overlaps the tests after (the run's end waits for it)
    return r;
  });
  const patched = (async () => {
    const applied = await applyPatch(env, patch.text, { encoding: patch.encoding });
    const after = applied.record.status === 'ok' ? await runTests(env, 'tests_after', tests.selection, env.cfg.timeouts.test, tests.runner) : null;
    return { applied, after };
  })();
  const [b, p] = await Promise.allSettled([beforeRun, patched]);
  if (b.status === 'rejected') throw b.reason;
  if (p.status === 'rejected') throw p.reason;
  if (!rec.tests(b.value, 'before')) return null;
  const { applied, after } = p.value;
  rec.result.patch!.applied_with = applied.applied_with;
  if (!rec.stage(applied)) {
    if (applied.record.status === 'failed') rec.result.status = 'patch_failed';
    return null;
  }
  return after;
}

/** The dataset's test patch, onto the base versions of its files; its failure is reported as an error. */
async function applyTestPatch(env: StageEnv, rec: RunRecorder, inst: InstanceTask): Promise<boolean> {
  return rec.stage(await applyPatch(env, inst.test_patch!, { name: 'apply_test_patch', resetFirst: true }), 'test patch: ');
}
