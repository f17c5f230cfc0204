/**
 * Data shapes shared between modules. Kept apart so that the pure modules
 * (tasks, pytest, patch) and the Docker-facing ones agree without importing
 * each other.
 */
import type { PatchEncoding } from './diff.js';

/** One task: a repository at a ref, an optional install command, a pytest selection. */
export interface Task {
  task_id: string;
  /** Remote URL (https://, git@, ssh://, file://), a local path, or `fixture:<name>` for a shipped repo. */
  repo: string;
  /** Commit id, tag or branch to check out. */
  ref: string;
  /** pytest `-k` expression, or null for none. */
  pytest_k: string | null;
  /** Test paths/node ids passed to pytest (empty: pytest's own discovery). */
  tests: string[];
  /** Shell command run in the repo after the clone, or null for none. */
  install: string | null;
  /** Patch file (path relative to the repo root of swe-harness, or absolute) applied when the CLI gives none... only when asked. */
  patch: string | null;
  /** Per-task timeout overrides, in seconds. */
  timeouts: { clone?: number; install?: number; test?: number };
  /** Image override for this task. */
  image: string | null;
  /** Let the install step use the network even for a local repo (pip from an index). */
  install_network: boolean;
  /** Issue text shown to the agent. */
  problem_statement: string | null;
  /** Free-form description. */
  description: string | null;
}

/** A candidate patch and where it came from. */
export interface PatchInput {
  text: string;
  /** How `text` holds the patch's bytes (core/diff.ts decodePatch); UTF-8 when absent. */
  encoding?: PatchEncoding;
  /** File path, "-" for stdin, or "task". */
  source: string;
  /**
   * SWE-bench's "empty patch": a prediction whose model_patch is "" or null
   * (`text` is ""). It is recorded without running (run/outcome.ts
   * recordEmptyPrediction), as SWE-bench counts it in empty_patch_ids.
   */
  empty_prediction?: true;
}

/** Status of one test, as pytest's -rA summary words it. */
export type TestStatus = 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED' | 'XFAIL' | 'XPASS';

export interface TestCounts {
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  xfailed: number;
  xpassed: number;
}

/** One pytest run, parsed. */
export interface TestSummary {
  /** passed: exit 0, something collected, no failures. failed: ran, not a pass. timeout/error: did not finish / could not run. */
  status: 'passed' | 'failed' | 'timeout' | 'error';
  exit_code: number | null;
  /** Tests that ran (sum of counts). 0 means nothing was collected/selected: never a pass. */
  collected: number;
  counts: TestCounts;
  /** Why the status is what it is, when not obvious from counts (e.g. "no tests collected", "PASSED lines but exit code 1"). */
  note: string | null;
  /** Per-test statuses, keyed by pytest node id. */
  tests: Record<string, TestStatus>;
  /** Last lines of the run's output. */
  tail: string;
}

export type StageName = 'clone' | 'install' | 'tests_before' | 'apply_patch' | 'apply_test_patch' | 'tests_after';

export type StageStatus = 'ok' | 'failed' | 'timeout' | 'error' | 'skipped' | 'interrupted' | 'cached';

export interface StageRecord {
  name: StageName;
  status: StageStatus;
  duration_s: number;
  exit_code: number | null;
  /**
   * "image": the stage's work came with a prebuilt instance image (no clone, no install ran);
   * "snapshot": it came with a snapshot of an earlier run's install (status `cached`).
   */
  from?: 'image' | 'snapshot';
  /** The snapshot image the run started from (`from: "snapshot"`). */
  snapshot?: string;
}

/** Final statuses of a run (README documents them with their exit codes). */
export type RunStatus =
  | 'passed'
  | 'failed'
  | 'timeout'
  | 'patch_rejected'
  | 'patch_failed'
  | 'error'
  | 'interrupted';
