/**
 * The flags run-one and run-many share — where tasks come from, which patch,
 * stage limits, runs dir and repositories — parsed once for both.
 */
import fs from 'node:fs';
import path from 'node:path';
import type minimist from 'minimist';
import { DEFAULT_CONFIG, type HarnessConfig, type StageTimeouts } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { patchFor, predictionsMode, readPatchFile, type PatchMode, type TaskSetOptions } from '../task/taskset.js';
import { checkTemplate, type PrebuiltMode } from '../task/prebuilt.js';
import type { PatchInput, Task } from '../core/types.js';
import { listFlag, repoPathsFlag, secondsFlag, stringFlag } from './flags.js';
import { useEngine } from '../engine/docker.js';
import type { Engine } from '../engine/engine.js';

/** The flags both scripts take, for their FLAGS specs. */
export const RUN_STRING_FLAGS = ['tasks', 'instances', 'specs', 'predictions', 'patch', 'image', 'repo-cache', 'repo-path',
  'clone-timeout', 'install-timeout', 'test-timeout', 'runs-dir', 'image-template', 'pull-timeout', 'snapshot-cap', 'engine'];
export const RUN_BOOLEAN_FLAGS = ['gold', 'task-patch', 'json', 'help', 'prebuilt', 'snapshot', 'refresh-snapshot'];
/** Defaults both scripts give minimist (a boolean flag without one reads false when absent). */
export const RUN_FLAG_DEFAULTS = { snapshot: true };

/** The --help lines of --engine, the same in run-one, run-many and cleanup. */
export const ENGINE_USAGE = `Engine:
  --engine NAME|URL      the Docker engine to run on: a docker context name or a host URL
                         (unix:///path.sock, tcp://host:2376, ssh://user@host); default: as the docker
                         client (DOCKER_HOST, DOCKER_CONTEXT, docker context use), else this machine's.
                         Another engine gets the repository over its API (no bind mount) and the
                         image streamed from here when it lacks it. podman: this machine's podman
                         (its CLI, root or rootless), the same way; no snapshots there`;

/**
 * \`--engine NAME|URL\`, else DOCKER_HOST / DOCKER_CONTEXT: the engine every run
 * and image call of this process goes to (its label is recorded in each result).
 * @throws HarnessError('usage') for an unknown context.
 */
export function engineFlag(args: minimist.ParsedArgs): Promise<Engine> {
  return useEngine(stringFlag(args, 'engine'));
}

/** The --help lines of the snapshot flags, the same in run-one and run-many. */
export const SNAPSHOT_USAGE = `Snapshots (the installed environment kept as a local image, reused by later runs with the same key):
  --no-snapshot          clone and install from scratch, keep nothing
  --refresh-snapshot     build the snapshot again even when one exists
  --snapshot-cap SIZE    most disk the snapshots may take, e.g. 4g, 500m (default 4g, or
                         SWE_HARNESS_SNAPSHOT_CAP); least recently used ones are removed first`;

/** A size as `4g`, `500m`, `1.5g`, `1024k` or plain bytes. */
export function parseSize(raw: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(raw.trim());
  if (!m) throw new HarnessError('usage', `${what} must be a size such as 4g, 500m or 1048576, got "${raw}"`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

/** The --help lines of the prebuilt-image flags, the same in run-one and run-many. */
export const PREBUILT_USAGE = `Prebuilt instance images (with --instances; no clone, no install):
  --prebuilt             run each instance in its prebuilt image: the row's image_name/docker_image,
                         else SWE-bench's swebench/sweb.eval.x86_64.<id, "__" as "_1776_">:latest
  --image-template T     the image of each instance from T (implies --prebuilt; wins over the row):
                         "swebench" (SWE-bench's rule), or a name with {id} {id_1776} {id_1776_lower}
                         {owner} {name} {version}, e.g. myreg/sweb.{id_1776}:v1
  --pull-timeout S       seconds one image pull may take (default ${DEFAULT_CONFIG.pullTimeoutSeconds}); a missing image is pulled once
  The repo must be at base_commit in the spec's workdir (default /testbed), and the tests run
  after the spec's env_prelude (default: source /opt/miniconda3/bin/activate && conda activate testbed).`;

/** `--tasks`, `--instances` and `--specs`; `--specs` without `--instances` would be read by nobody. */
export function taskSetFlags(args: minimist.ParsedArgs): TaskSetOptions {
  const prebuilt = prebuiltFlags(args);
  const opts = {
    tasksFile: stringFlag(args, 'tasks'),
    instancesFile: stringFlag(args, 'instances'),
    specsFiles: listFlag(args, 'specs', { nonEmpty: true }),
    ...(prebuilt ? { prebuilt } : {}),
  };
  if (opts.specsFiles.length && !opts.instancesFile) throw new HarnessError('usage', '--specs only applies to --instances (tasks files carry their own settings)');
  return opts;
}

/** `--image-template T` / `--prebuilt`: instances run in their prebuilt images; null when neither is given. */
export function prebuiltFlags(args: minimist.ParsedArgs): PrebuiltMode | null {
  const template = stringFlag(args, 'image-template');
  if (template === null && !args.prebuilt) return null;
  if (!stringFlag(args, 'instances')) throw new HarnessError('usage', '--image-template/--prebuilt only apply to --instances (an instance names its base commit and id)');
  // The agent sets its repository up with clone and install itself: not in a prebuilt image yet.
  if (args.agent) throw new HarnessError('usage', '--image-template/--prebuilt cannot be used with --agent yet');
  return { template: template === null ? null : checkTemplate(template) };
}

/** `--clone-timeout`, `--install-timeout`, `--test-timeout`: the stages given. */
export function stageTimeoutsFlags(args: minimist.ParsedArgs): Partial<StageTimeouts> {
  const timeouts: Partial<StageTimeouts> = {};
  for (const stage of ['clone', 'install', 'test'] as const) {
    const s = secondsFlag(args, `${stage}-timeout`);
    if (s !== undefined) timeouts[stage] = s;
  }
  return timeouts;
}

/** The default config with `--runs-dir`, `--repo-cache` and `--repo-path` applied. */
export function configFlags(args: minimist.ParsedArgs): HarnessConfig {
  const runsDir = path.resolve(stringFlag(args, 'runs-dir') ?? DEFAULT_CONFIG.runsDir);
  checkDirPath('--runs-dir', runsDir);
  const repoCache = stringFlag(args, 'repo-cache');
  const pullTimeoutSeconds = secondsFlag(args, 'pull-timeout') ?? DEFAULT_CONFIG.pullTimeoutSeconds;
  return { ...DEFAULT_CONFIG, runsDir, repoCache: repoCache ? path.resolve(repoCache) : null, repoPaths: repoPathsFlag(args), pullTimeoutSeconds, snapshots: snapshotFlags(args) };
}

/** `--no-snapshot`, `--refresh-snapshot`, `--snapshot-cap SIZE` (else SWE_HARNESS_SNAPSHOT_CAP) over the defaults. */
export function snapshotFlags(args: minimist.ParsedArgs, env: NodeJS.ProcessEnv = process.env): HarnessConfig['snapshots'] {
  const enabled = args.snapshot !== false && env.SWE_HARNESS_SNAPSHOTS !== 'off';
  const refresh = Boolean(args['refresh-snapshot']);
  if (args.snapshot === false && refresh) throw new HarnessError('usage', 'give --no-snapshot or --refresh-snapshot, not both');
  const flag = stringFlag(args, 'snapshot-cap');
  // A flag that would do nothing is refused, not ignored.
  if (args.snapshot === false && flag !== null) throw new HarnessError('usage', 'give --no-snapshot or --snapshot-cap, not both');
  const used = refresh ? '--refresh-snapshot' : flag !== null ? '--snapshot-cap' : null;
  if (!enabled && used) throw new HarnessError('usage', `${used} has no effect while SWE_HARNESS_SNAPSHOTS=off (snapshots are off for every run)`);
  const raw = flag ?? env.SWE_HARNESS_SNAPSHOT_CAP ?? null;
  const capBytes = raw === null || raw === '' ? DEFAULT_CONFIG.snapshots.capBytes : parseSize(raw, flag !== null ? '--snapshot-cap' : 'SWE_HARNESS_SNAPSHOT_CAP');
  return { ...DEFAULT_CONFIG.snapshots, enabled, refresh, capBytes };
}

/**
 * A directory the run will write into (`flag` names it in the message): where
 * it exists it must be a directory, and so must its nearest existing parent.
 */
export function checkDirPath(flag: string, dir: string): void {
  for (let p = dir; ; p = path.dirname(p)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      if (p === path.dirname(p)) return;
      continue;
    }
    if (!st.isDirectory()) {
      throw new HarnessError('usage', p === dir ? `${flag} "${dir}" is a file, not a directory` : `${flag} "${dir}": "${p}" is a file, not a directory`);
    }
    return;
  }
}

/**
 * Which patch every task gets: `--patch FILE` (`-` is stdin where `stdin` is
 * allowed), `--predictions FILE`, `--task-patch`/`--gold`, or none.
 */
export async function patchModeFlags(args: minimist.ParsedArgs, opts: { stdin: boolean }): Promise<PatchMode> {
  const file = stringFlag(args, 'patch');
  const predictions = stringFlag(args, 'predictions');
  const own = Boolean(args['task-patch'] || args.gold);
  if ([file, predictions, own].filter(Boolean).length > 1) throw new HarnessError('usage', 'give at most one of --predictions, --gold/--task-patch, --patch');
  if (predictions) return predictionsMode(predictions);
  if (own) return { kind: 'task' };
  if (file === '-' && !opts.stdin) throw new HarnessError('usage', '--patch - (stdin) is for run-one; give run-many a patch file');
  if (file) return { kind: 'file', patch: { ...readPatchFile(file, '--patch'), source: file } };
  return { kind: 'none' };
}

/** The patch of one task under a mode, or the usage error saying why it has none. */
export function patchOrError(task: Task, mode: PatchMode): PatchInput | null | HarnessError {
  try {
    return patchFor(task, mode);
  } catch (err) {
    if (err instanceof HarnessError) return err;
    throw err;
  }
}
