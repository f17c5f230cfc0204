/**
 * What a run or a batch works on: tasks from a tasks file, or SWE-bench
 * instances (with environment specs) turned into tasks; and which patch each
 * one gets — none, a file, the task's own (gold for instances), or a
 * prediction from a predictions file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { instanceToTask, isInstanceTask, loadInstances } from './instances.js';
import { loadPredictions, type Prediction } from './predictions.js';
import { DEFAULT_SPECS_FILE, loadSpecs, specFor } from './specs.js';
import { loadTasks, resolveTaskPatchPath } from './tasks.js';
import type { PatchInput, Task } from '../core/types.js';

export interface TaskSetOptions {
  /** Tasks file (seed_tasks.jsonl format); the default when no instances file is given. */
  tasksFile?: string | null;
  /** SWE-bench instances (JSONL or JSON list). */
  instancesFile?: string | null;
  /** Extra specs files, over specs/default.json. */
  specsFiles?: string[];
}

/** @throws HarnessError('task') for unreadable or invalid files, ('usage') for both sources at once. */
export async function loadTaskSet(opts: TaskSetOptions): Promise<Task[]> {
  if (opts.tasksFile && opts.instancesFile) throw new HarnessError('usage', 'give --tasks or --instances, not both');
  if (!opts.instancesFile) return loadTasks(opts.tasksFile ?? path.join(ROOT, 'seed_tasks.jsonl'));
  const [instances, specs] = await Promise.all([
    loadInstances(opts.instancesFile),
    loadSpecs([DEFAULT_SPECS_FILE, ...(opts.specsFiles ?? [])]),
  ]);
  return instances.map((inst) => instanceToTask(inst, specFor(specs, inst.repo, inst.version)));
}

export type PatchMode =
  | { kind: 'none' }
  | { kind: 'file'; patch: PatchInput }
  /** The task's own patch file; for an instance, its gold patch. */
  | { kind: 'task' }
  | { kind: 'predictions'; file: string; preds: Map<string, Prediction> };

export async function predictionsMode(file: string): Promise<PatchMode> {
  return { kind: 'predictions', file, preds: await loadPredictions(file) };
}

/**
 * The patch a task gets under a mode; null for none. A task the mode has no
 * patch for (no gold, no prediction) is a HarnessError('usage') naming it.
 */
export function patchFor(task: Task, mode: PatchMode): PatchInput | null {
  switch (mode.kind) {
    case 'none':
      return null;
    case 'file':
      return mode.patch;
    case 'task': {
      if (isInstanceTask(task)) {
        if (!task.gold_patch) throw new HarnessError('usage', `instance "${task.task_id}" has no gold patch (its "patch" field is empty)`);
        return { text: task.gold_patch, source: 'gold' };
      }
      const file = resolveTaskPatchPath(task);
      if (!file) throw new HarnessError('usage', `task "${task.task_id}" has no patch of its own (no "patch" field)`);
      return { text: readPatchFile(file, 'task patch'), source: path.relative(ROOT, file) || file };
    }
    case 'predictions': {
      const pred = mode.preds.get(task.task_id);
      if (!pred) throw new HarnessError('usage', `no prediction for "${task.task_id}" in ${mode.file}`);
      return { text: pred.model_patch, source: `${mode.file}#${task.task_id}` };
    }
    default:
      return mode satisfies never;
  }
}

/** Read a patch file; a missing file is a usage error naming the flag and the path. */
export function readPatchFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HarnessError('usage', `${what} "${file}" cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
}
