/**
 * Names and keys of a run: its id (run directory and container name), its
 * effective time limits, and the cache key run-many uses to skip what is done.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import type { Task } from '../core/types.js';
import { sortKeys } from '../core/values.js';

/** `20261123-183000-a1b2-<task>`: sortable, unique, and a valid container name part. */
export function newRunId(taskId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}-${taskId}`;
}

/** Limits given on the CLI win over the task row's, which win over the defaults. */
export function effectiveTimeouts(cfg: HarnessConfig, task: Task, cli: Partial<StageTimeouts> = {}): StageTimeouts {
  return { ...cfg.timeouts, ...task.timeouts, ...cli };
}

/**
 * Key of a result: a hash of everything that produced it — the task (all its
 * fields, grading data included), the image (by id, so a rebuilt image counts
 * as new), the patch, the effective time limits (a timeout under a longer
 * limit is a new question) and the mode (plain run, or the agent's settings).
 * A changed patch is never taken for "already done".
 */
export function cacheKey(
  task: Task,
  image: { name: string; id: string },
  patchSha: string | null,
  timeouts: StageTimeouts,
  mode = 'run',
): string {
  // Outer keys in this fixed order, inner ones sorted: the key of every result written so far.
  const canonical = JSON.stringify({ task: sortKeys(task), image: image.id || image.name, patch: patchSha, timeouts: sortKeys(timeouts), mode });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
