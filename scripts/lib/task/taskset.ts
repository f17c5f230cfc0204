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
import { prebuiltTask, type PrebuiltMode } from './prebuilt.js';
import { loadPredictions, type Prediction } from './predictions.js';
import { DEFAULT_SPECS_FILE, SWEBENCH_SPECS_FILE, loadSpecs, specFor } from './specs.js';
import { loadTasks, resolveTaskPatchPath } from './tasks.js';
import { decodePatch, type PatchEncoding } from '../core/diff.js';
import type { PatchInput, Task } from '../core/types.js';

export interface TaskSetOptions {
  /** Tasks file (seed_tasks.jsonl format); the default when no instances file is given. */
  tasksFile?: string | null;
  /** SWE-bench instances (JSONL or JSON list). */
  instancesFile?: string | null;
  /** Extra specs files, over specs/default.json. */
  specsFiles?: string[];
  /** Run instances in their prebuilt images (the repo already there, installed): no clone, no install. */
  prebuilt?: PrebuiltMode | null;
}

/** @throws HarnessError('task') for unreadable or invalid files, ('usage') for both sources at once. */
export async function loadTaskSet(opts: TaskSetOptions): Promise<Task[]> {
  if (opts.tasksFile && opts.instancesFile) throw new HarnessError('usage', 'give --tasks or --instances, not both');
  if (!opts.instancesFile && opts.prebuilt) throw new HarnessError('usage', '--image-template/--prebuilt only apply to --instances (an instance names its base commit and id)');
  if (!opts.instancesFile) return loadTasks(opts.tasksFile ?? path.join(ROOT, 'seed_tasks.jsonl'));
  const [instances, specs] = await Promise.all([
    loadInstances(opts.instancesFile),
    // A prebuilt image needs SWE-bench's own test command and parser per repo/version: its table comes first.
    loadSpecs([...(opts.prebuilt ? [SWEBENCH_SPECS_FILE] : []), DEFAULT_SPECS_FILE, ...(opts.specsFiles ?? [])]),
  ]);
  return instances.map((inst) => {
    const spec = specFor(specs, inst.repo, inst.version);
    const task = instanceToTask(inst, spec);
    return opts.prebuilt ? prebuiltTask(task, inst, spec, opts.prebuilt) : task;
  });
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
 * patch for (no gold, no prediction) is a HarnessError('usage') naming it. An
 * empty prediction comes back marked `empty_prediction` (text ""): the caller
 * records it without running, as SWE-bench does.
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
      return { ...readPatchFile(file, 'task patch'), source: path.relative(ROOT, file) || file };
    }
    case 'predictions': {
      const pred = mode.preds.get(task.task_id);
      if (!pred) throw new HarnessError('usage', `no prediction for "${task.task_id}" in ${mode.file}`);
      const source = `${mode.file}#${task.task_id}`;
      // SWE-bench's empty patch ("" or null): not a patch to refuse, a prediction it does not run.
      if (pred.model_patch === '') return { text: '', source, empty_prediction: true };
      return { text: pred.model_patch, source };
    }
    default:
      return mode satisfies never;
  }
}

/**
 * Read a patch file (or stdin for "-") byte for byte: a Latin-1 patch stays
 * Latin-1 on its way to the container. A missing file is a usage error naming
 * the flag and the path.
 */
export function readPatchFile(file: string, what: string): { text: string; encoding: PatchEncoding } {
  try {
    return decodePatch(fs.readFileSync(file === '-' ? 0 : file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HarnessError('usage', `${what} "${file}" cannot be read (${code === 'ENOENT' ? 'no such file' : code ?? 'error'})`);
  }
}
