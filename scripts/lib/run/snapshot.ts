/**
 * Snapshots of the installed environment: after a successful install (before
 * any patch or test), the container is kept as an image, keyed by everything
 * that decided its state; a later run with the same key starts from it, with
 * no clone and no install. Two runs of one process that need the same
 * snapshot build it once (the other waits); another process building it
 * meanwhile is not waited for (this run goes without).
 */
import fs from 'node:fs';
import path from 'node:path';
import { OWNER_LABELS, RUN_LABEL, SNAPSHOT_LABELS, type HarnessConfig } from '../core/config.js';
import { errorMessage } from '../core/errors.js';
import { processAlive } from '../core/process.js';
import type { StageRecord, Task } from '../core/types.js';
import { sha256, sortKeys } from '../core/values.js';
import { defaultEngine } from '../engine/docker.js';
import { commitSnapshot, evictSnapshots, findSnapshot, snapshotName, touchSnapshot } from '../engine/snapshots.js';
import { DETACH_SCRIPT, SOURCE_COPY } from '../source/clone.js';
import { resolveCommit } from '../source/repo.js';
import { isInstanceTask } from '../task/instances.js';
import type { Prepared } from './sandbox.js';
import { execStage, type StageEnv, type StageRun } from './stages.js';

/** Bumped when what a snapshot holds changes shape: older snapshots are then never used. */
const FORMAT = 2; // 2: the repository's bytecode is compiled in (sealArgv)

/**
 * What is done to the installed container just before it is kept: the clone
 * gets its own objects (no alternates into the mount), and the repository's
 * modules are compiled to bytecode once, so runs from the snapshot import
 * them without compiling (seconds on a sympy-sized repository). The pycs are
 * checked-hash: every import checks them against the source's hash, so a file
 * a patch changes is compiled afresh whatever its file times say. The compile
 * is best effort and bounded: a repository that does not compile (or a Python
 * without checked-hash pycs) is kept as it is.
 */
export function sealArgv(workdir: string): string[] {
  // Side by side: the compile reads only the work tree, the repack only .git. Worker
  // processes (-j 0) pay off on a large tree only: on a small one they double the time.
  const compile =
    '(cd "$1" && j=; [ "$(find . -path ./.git -prune -o -name "*.py" -print | head -n 301 | wc -l)" -gt 300 ] && j="-j 0"; ' +
    'timeout -s KILL 300 python3 -m compileall -qq $j --invalidation-mode checked-hash -x "/[.]git/" . >/dev/null 2>&1) & ';
  return ['bash', '-c', `${compile}bash -c "$DETACH" detach "$1"; rc=$?; wait; exit $rc`, 'seal', workdir];
}

/** Everything that decides the state of the container after the install. */
export interface SnapshotKeyFields {
  baseImageId: string;
  repo: string;
  commit: string;
  /** The install command (an instance's pre_install commands are part of it). */
  install: string | null;
  env: Record<string, string>;
  installNetwork: boolean;
  /** How the repository came in (local mount, a copy sent to an engine elsewhere, or remote fetch) and where it lies. */
  source: 'local' | 'copy' | 'remote';
  workdir: string;
  /** Instance-only fields of the environment spec. */
  spec: Record<string, unknown>;
  /** The engine it lives on, for any engine but this machine's (whose keys stay as they were): runs on several engines never share one. */
  engine?: string;
}

/** The key: a hash of every field, stable under key order. */
export function snapshotKey(f: SnapshotKeyFields): string {
  return sha256(JSON.stringify(sortKeys({ format: FORMAT, ...f }))).slice(0, 24);
}

/** A snapshot to start from. */
export interface SnapshotHit {
  name: string;
  key: string;
  head: string;
}

/** Answers for one key being looked up or built in this process: later askers wait for it. */
const inFlight = new Map<string, Promise<SnapshotHit | null>>();
/** Keys already rebuilt for --refresh-snapshot in this process (a batch rebuilds once). */
const refreshed = new Set<string>();

export interface SnapshotSession {
  key: string;
  /** The snapshot this run starts from, or null: clone and install run. */
  hit: SnapshotHit | null;
  /** True when this run builds the snapshot after its install. */
  owner: boolean;
  /** The snapshot this run kept (after a successful save), else null. */
  kept: SnapshotHit | null;
  /**
   * Keep the container as the snapshot: call right after a successful install,
   * before anything else runs in it. Never throws: a failure is logged and the run goes on.
   */
  save(env: StageEnv, head: string | null): Promise<void>;
  /** Let waiters go (with nothing, when no snapshot was saved) and finish the eviction; always call. */
  release(): Promise<void>;
}

/**
 * The snapshot side of a run that clones and installs: look it up, or claim
 * its build. Null when snapshots are off or the commit cannot be told before cloning.
 */
export async function openSnapshot(task: Task, prep: Prepared, cfg: HarnessConfig, log: (line: string) => void): Promise<SnapshotSession | null> {
  const s = cfg.snapshots;
  if (!s.enabled || prep.source.kind === 'image' || !prep.image.id) return null;
  if (!defaultEngine().snapshots) {
    log(`snapshot: not used (engine ${defaultEngine().label} keeps no snapshots)`);
    return null;
  }
  const commit = await resolveCommit(prep.source, task.ref);
  if (!commit) {
    log(`snapshot: not used (the commit of "${task.ref}" cannot be told before cloning)`);
    return null;
  }
  const inst = isInstanceTask(task) ? task : null;
  const key = snapshotKey({
    baseImageId: prep.image.id,
    repo: inst?.instance_repo ?? task.repo,
    commit,
    install: task.install,
    env: inst?.env ?? {},
    installNetwork: task.install_network,
    // A copy sent to an engine elsewhere is keyed apart from a mount: its snapshots live on that engine.
    source: prep.cloneSource === SOURCE_COPY ? 'copy' : prep.source.kind,
    workdir: cfg.workdir,
    spec: {},
    ...(defaultEngine().sharesHostFiles ? {} : { engine: defaultEngine().label }),
  });
  const name = snapshotName(s, key);

  // Someone in this process looks it up or builds it already: wait for the answer.
  const pending = inFlight.get(key);
  if (pending) {
    const hit = await pending;
    if (hit) touchSnapshot(s, key);
    else log('snapshot: not used (the run building it did not finish its install)');
    return passive(key, hit);
  }
  let settle!: (hit: SnapshotHit | null) => void;
  inFlight.set(key, new Promise((res) => (settle = res)));
  let settled = false;
  const answer = (hit: SnapshotHit | null) => {
    if (settled) return;
    settled = true;
    settle(hit);
    inFlight.delete(key);
  };

  try {
    const refresh = s.refresh && !refreshed.has(key);
    const existing = await findSnapshot(s, key, prep.image.id);
    if (existing && !refresh) {
      touchSnapshot(s, key);
      const hit = { name, key, head: existing.labels[SNAPSHOT_LABELS.commit] || commit };
      answer(hit);
      return passive(key, hit);
    }
    if (!claimLock(s.dir, key)) {
      log(`snapshot: another harness process is building ${name}; this run clones and installs without it`);
      answer(null);
      return passive(key, null);
    }
    if (refresh) refreshed.add(key);
    return builder(key, name, commit, existing?.id ?? null, task, prep, cfg, log, answer);
  } catch (err) {
    answer(null);
    throw err;
  }
}

function passive(key: string, hit: SnapshotHit | null): SnapshotSession {
  return { key, hit, owner: false, kept: null, save: async () => {}, release: async () => {} };
}

function builder(
  key: string, name: string, commit: string, oldId: string | null, task: Task, prep: Prepared, cfg: HarnessConfig,
  log: (line: string) => void, answer: (hit: SnapshotHit | null) => void,
): SnapshotSession {
  const s = cfg.snapshots;
  let eviction: Promise<boolean> = Promise.resolve(false);
  let done = false;
  const evict = (spare: boolean) =>
    evictSnapshots(s, key, { spare }).then(
      ({ removed, over }) => {
        removed.forEach((g) => log(`snapshot: removed ${g.name}${g.untagged ? ' (untagged)' : ''} (${(g.bytes / 1024 ** 2).toFixed(1)} MiB${g.untagged ? '' : `, over the ${(s.capBytes / 1024 ** 3).toFixed(1)} GiB cap`})`));
        return over;
      },
      (err: unknown) => {
        log(`snapshot: eviction failed: ${errorMessage(err)}`);
        return false;
      },
    );
  const session: SnapshotSession = {
    key,
    hit: null,
    owner: true,
    kept: null,
    async save(env, head) {
      if (done) return;
      done = true;
      try {
        if (head !== commit) {
          log(`snapshot: not kept (the clone is at ${head ?? 'no commit'}, the key at ${commit})`);
          return answer(null);
        }
        const started = performance.now();
        // The clone must not need the mount's objects once it is an image.
        const detach = await execStage({ ...env, logDir: null }, 'clone', sealArgv(env.cfg.workdir), env.cfg.timeouts.install + 300, { vars: { DETACH: DETACH_SCRIPT } });
        if (detach.run.record.status !== 'ok') {
          // The seal runs as a clone-stage command; the message names what it was doing.
          log(`snapshot: not kept (${(detach.run.message ?? 'failed').replace(/^clone\b:?/, 'sealing the clone (its own objects, bytecode)')})`);
          return answer(null);
        }
        const id = await commitSnapshot(env.container, s, key, labelsFor(task, prep, commit, env.cfg.workdir), [RUN_LABEL, OWNER_LABELS.pid, OWNER_LABELS.host], env.cfg.workdir);
        log(`snapshot: kept ${name} (${((performance.now() - started) / 1000).toFixed(2)}s)`);
        session.kept = { name, key, head: commit };
        answer(session.kept);
        // A refreshed snapshot leaves its old image untagged: remove it (a live container may still use it).
        if (oldId && oldId !== id) await defaultEngine().removeImage(oldId).catch(() => null);
        // The others now; this one only once the run's containers are gone (release), as a container may start from it meanwhile.
        eviction = evict(true);
      } catch (err) {
        log(`snapshot: not kept (${errorMessage(err)})`);
        answer(null);
      }
    },
    async release() {
      answer(null);
      releaseLock(s.dir, key);
      // Still over the cap with the others gone: the new one alone is, and goes now.
      if ((await eviction) && session.kept) await evict(false);
    },
  };
  return session;
}

function labelsFor(task: Task, prep: Prepared, commit: string, workdir: string): Record<string, string> {
  const inst = isInstanceTask(task) ? task : null;
  const repo = inst?.instance_repo ?? task.repo;
  return {
    [SNAPSHOT_LABELS.base]: prep.image.id,
    [SNAPSHOT_LABELS.baseName]: prep.image.name,
    [SNAPSHOT_LABELS.repo]: repo,
    [SNAPSHOT_LABELS.commit]: commit,
    [SNAPSHOT_LABELS.task]: task.task_id,
    [SNAPSHOT_LABELS.install]: (task.install ?? '').slice(0, 2000),
    [SNAPSHOT_LABELS.workdir]: workdir,
    [SNAPSHOT_LABELS.about]: `swe-harness: ${repo} at ${commit.slice(0, 12)} installed in ${workdir}, no patch, no test run; npm run cleanup -- --snapshots removes it`,
  };
}

/** The clone and install stages a snapshot stood in for: `cached`, naming it. */
export function cachedStages(hit: SnapshotHit, install: boolean): StageRun[] {
  const rec = (name: 'clone' | 'install'): StageRecord => ({ name, status: 'cached', duration_s: 0, exit_code: null, from: 'snapshot', snapshot: hit.name });
  return [rec('clone'), ...(install ? [rec('install')] : [])].map((record) => ({ record, message: null, tail: '' }));
}

/** What the container starts from: the snapshot, with no mount and no network (clone and install are done). */
export function fromSnapshot(prep: Prepared, hit: SnapshotHit, workdir: string): Prepared {
  return { ...prep, image: { ...prep.image, name: hit.name }, source: { kind: 'image', workdir }, cloneSource: '', network: false };
}

// One builder per key across processes: `<dir>/<key>.lock` holds the builder's pid.
function lockFile(dir: string, key: string): string {
  return path.join(dir, `${key}.lock`);
}

function claimLock(dir: string, key: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const f = lockFile(dir, key);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(f, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      let pid = 0;
      try {
        pid = Number(fs.readFileSync(f, 'utf8').trim() || 0);
      } catch {
        /* gone meanwhile: try again */
      }
      if (processAlive(pid)) return false;
      fs.rmSync(f, { force: true }); // its builder is gone: take it over
    }
  }
  return false;
}

function releaseLock(dir: string, key: string): void {
  try {
    if (fs.readFileSync(lockFile(dir, key), 'utf8').trim() === String(process.pid)) fs.rmSync(lockFile(dir, key), { force: true });
  } catch {
    /* not ours, or gone */
  }
}
