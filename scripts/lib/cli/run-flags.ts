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
import type { PatchInput, Task } from '../core/types.js';
import { listFlag, repoPathsFlag, secondsFlag, stringFlag } from './flags.js';

/** The flags both scripts take, for their FLAGS specs. */
export const RUN_STRING_FLAGS = ['tasks', 'instances', 'specs', 'predictions', 'patch', 'image', 'repo-cache', 'repo-path',
  'clone-timeout', 'install-timeout', 'test-timeout', 'runs-dir'];
export const RUN_BOOLEAN_FLAGS = ['gold', 'task-patch', 'json', 'help'];

/** `--tasks`, `--instances` and `--specs`; `--specs` without `--instances` would be read by nobody. */
export function taskSetFlags(args: minimist.ParsedArgs): TaskSetOptions {
  const opts = { tasksFile: stringFlag(args, 'tasks'), instancesFile: stringFlag(args, 'instances'), specsFiles: listFlag(args, 'specs', { nonEmpty: true }) };
  if (opts.specsFiles.length && !opts.instancesFile) throw new HarnessError('usage', '--specs only applies to --instances (tasks files carry their own settings)');
  return opts;
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
  checkRunsDir(runsDir);
  const repoCache = stringFlag(args, 'repo-cache');
  return { ...DEFAULT_CONFIG, runsDir, repoCache: repoCache ? path.resolve(repoCache) : null, repoPaths: repoPathsFlag(args) };
}

/** A runs dir that exists must be a directory, and so must its nearest existing parent. */
function checkRunsDir(dir: string): void {
  for (let p = dir; ; p = path.dirname(p)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      if (p === path.dirname(p)) return;
      continue;
    }
    if (!st.isDirectory()) {
      throw new HarnessError('usage', p === dir ? `--runs-dir "${dir}" is a file, not a directory` : `--runs-dir "${dir}": "${p}" is a file, not a directory`);
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
  if (file === '-' && opts.stdin) return { kind: 'file', patch: { text: fs.readFileSync(0, 'utf8'), source: '-' } };
  if (file) return { kind: 'file', patch: { text: readPatchFile(file, '--patch'), source: file } };
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
