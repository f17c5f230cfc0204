/**
 * The result of one run: its schema, its fixed key order, its atomic write
 * and its read. Consumers diff these files across runs, so the order of keys
 * is fixed here and nothing time-of-day-dependent goes inside.
 *
 * On disk result.json is compact (README, "Results"): the leading keys,
 * then the short fields; the per-test outcomes (tests.json), the long tails
 * (*.tail.txt) and an instance's grading (SWE-bench's report.json) live in
 * files beside it, named under `details`. readResult reads that layout and the
 * older one (everything inline) into the same full RunResult.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError, errorMessage } from '../core/errors.js';
import type { Grading } from '../testing/grading.js';
import type { SwebenchInstanceReport } from '../testing/report.js';
import type { RunStatus, StageName, StageRecord, TestStatus, TestSummary } from '../core/types.js';

export interface ImageRecord {
  name: string;
  python: string;
  flavour: string;
}

export interface PatchRecord {
  /** Where the patch came from: a file path, "-" for stdin, "task" for the task's own. */
  source: string;
  sha256: string;
  bytes: number;
  files: string[];
  /** Which link of the apply chain applied it (null when rejected or failed). */
  applied_with: string | null;
}

export interface RunResult {
  task_id: string;
  repo: string;
  ref: string;
  pytest_k: string | null;
  status: RunStatus;
  duration_s: number;
  /** Last lines of the output that decided the status. */
  tail: string;
  /** The process exit code that goes with `status` (README, "Exit codes"). */
  exit_code: number;
  /** The stage that ran out of time, when status is "timeout". */
  timeout_stage: StageName | null;
  /** One line saying what went wrong, when status is not "passed"/"failed". */
  error: string | null;
  /** Commit actually checked out. */
  head: string | null;
  image: ImageRecord | null;
  /** The engine the run went to: "local" (this machine's), a host URL or a docker context name. Absent in results of older versions. */
  engine?: string;
  patch: PatchRecord | null;
  stages: StageRecord[];
  /** Tests before the patch (only when a patch was given). */
  before: TestSummary | null;
  /** The deciding test run (after the patch, if any). */
  after: TestSummary | null;
  // SWE-bench instance runs only (absent otherwise):
  /** SWE-bench's verdict: every FAIL_TO_PASS test passes and every PASS_TO_PASS test still does. */
  resolved?: boolean;
  /** Per-id outcome, the shape of SWE-bench's report `tests_status`. */
  grading?: Grading;
  /** Hash of everything that produced this result (task, image, patch): run-many's "already done" key. */
  cache_key?: string;
  // Runner-agent runs only (absent from plain runs):
  /** Model name as sent to the server. */
  model?: string;
  /** Model calls made. */
  turns?: number;
  /** Tokens summed over every model call. */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Why the agent stopped (README, "Runner agent"). */
  stop_reason?: string;
}

/** The same result with keys in the documented order, whatever order they were set in. */
export function ordered(r: RunResult): RunResult {
  return {
    task_id: r.task_id,
    repo: r.repo,
    ref: r.ref,
    pytest_k: r.pytest_k,
    status: r.status,
    duration_s: r.duration_s,
    tail: r.tail,
    exit_code: r.exit_code,
    timeout_stage: r.timeout_stage,
    error: r.error,
    head: r.head,
    image: r.image,
    ...(r.engine !== undefined ? { engine: r.engine } : {}),
    patch: r.patch,
    stages: r.stages,
    before: r.before,
    after: r.after,
    ...(r.resolved !== undefined ? { resolved: r.resolved } : {}),
    ...(r.grading !== undefined ? { grading: r.grading } : {}),
    ...(r.cache_key !== undefined ? { cache_key: r.cache_key } : {}),
    ...(r.model !== undefined ? { model: r.model } : {}),
    ...(r.turns !== undefined ? { turns: r.turns } : {}),
    ...(r.usage !== undefined ? { usage: r.usage } : {}),
    ...(r.stop_reason !== undefined ? { stop_reason: r.stop_reason } : {}),
  };
}

/** Write JSON atomically: a reader sees the old file or the whole new one, never half. */
export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export const RESULT_FILE = 'result.json';
/** Per-test statuses before and after, `{ before: {id: status}, after: {id: status} }`. */
export const TESTS_FILE = 'tests.json';
export const BEFORE_TAIL_FILE = 'tests_before.tail.txt';
export const AFTER_TAIL_FILE = 'tests_after.tail.txt';
/** The deciding output's whole tail, when result.json's `tail` is cut and it is not the after tail. */
export const TAIL_FILE = 'tail.txt';
/** result.json's `tail` keeps this many last lines (and at most TAIL_CHARS characters). */
export const TAIL_LINES = 15;
const TAIL_CHARS = 2000;

/** A test run as result.json holds it: its verdict and counts, without per-test statuses and tail. */
export type TestCountsRecord = Omit<TestSummary, 'tests' | 'tail'>;

/** The files beside result.json that hold what it leaves out (names relative to the run dir). */
export interface ResultDetails {
  tests?: string;
  /** The whole of `tail` (result.json's is cut to its last lines). */
  tail?: string;
  tests_before_tail?: string;
  tests_after_tail?: string;
  /** SWE-bench's report.json (instances): `tests_status` holds the grading. */
  report?: string;
}

/** result.json as written since the compact layout: RunResult minus the details, plus where they are. */
export type CompactRunResult = Omit<RunResult, 'before' | 'after' | 'grading'> & {
  before: TestCountsRecord | null;
  after: TestCountsRecord | null;
  /** Absent when nothing is beside it (then the file is the same in both layouts). */
  details: ResultDetails;
};

/** The last TAIL_LINES lines of a tail, at most TAIL_CHARS characters. */
export function shortTail(tail: string): string {
  const lines = tail.replace(/\n+$/, '').split('\n');
  let s = lines.slice(-TAIL_LINES).join('\n');
  if (s.length > TAIL_CHARS) s = s.slice(s.length - TAIL_CHARS);
  return tail.endsWith('\n') && s !== '' ? `${s}\n` : s;
}

function countsOf(t: TestSummary | null): TestCountsRecord | null {
  if (!t) return null;
  const { tests: _tests, tail: _tail, ...rest } = t;
  return rest;
}

function writeTextAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Write the run's result: first the detail files, then result.json (compact,
 * keys in the documented order), so a reader that finds result.json finds its
 * details too. An instance's report.json is written by run/report-file.ts
 * before this (RunRecorder.finish).
 */
export function writeResult(runDir: string, r: RunResult): string {
  fs.mkdirSync(runDir, { recursive: true });
  const details: ResultDetails = {};
  if (r.before || r.after) {
    writeJsonAtomic(path.join(runDir, TESTS_FILE), { before: r.before?.tests ?? null, after: r.after?.tests ?? null });
    details.tests = TESTS_FILE;
  }
  if (r.before?.tail) {
    writeTextAtomic(path.join(runDir, BEFORE_TAIL_FILE), r.before.tail);
    details.tests_before_tail = BEFORE_TAIL_FILE;
  }
  if (r.after?.tail) {
    writeTextAtomic(path.join(runDir, AFTER_TAIL_FILE), r.after.tail);
    details.tests_after_tail = AFTER_TAIL_FILE;
  }
  const tail = shortTail(r.tail);
  if (tail !== r.tail) {
    if (r.tail === r.after?.tail) details.tail = AFTER_TAIL_FILE;
    else {
      writeTextAtomic(path.join(runDir, TAIL_FILE), r.tail);
      details.tail = TAIL_FILE;
    }
  }
  if (r.grading !== undefined) details.report = 'report.json';
  const { grading: _grading, ...full } = ordered(r);
  // Nothing beside it (no test ran, a short tail, no grading): both layouts are the same file, without `details`.
  const compact: CompactRunResult | RunResult = Object.keys(details).length
    ? { ...full, tail, before: countsOf(r.before), after: countsOf(r.after), details }
    : ordered(r);
  const file = path.join(runDir, RESULT_FILE);
  writeJsonAtomic(file, compact);
  return file;
}

/**
 * A result.json of any layout the harness wrote, as a full RunResult: the
 * compact one with its details read back from the files beside it (a missing
 * detail file leaves that part empty), or the older one with everything inline.
 * `details: false` skips the files beside it (per-test maps empty, tails as
 * result.json has them, no grading): what a scan of many results needs.
 * @throws HarnessError('usage') when the file is missing, not JSON or not a result (no status).
 */
export function readResult(file: string, opts: { details?: boolean } = {}): RunResult {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(err);
    throw new HarnessError('usage', `${file}: ${why}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || typeof (raw as RunResult).status !== 'string') {
    throw new HarnessError('usage', `${file}: not a run result (no status)`);
  }
  const r = raw as RunResult & { details?: ResultDetails };
  if (!r.details || typeof r.details !== 'object') return r; // the older layout: everything inline
  const dir = path.dirname(file);
  const d: ResultDetails = opts.details === false ? {} : r.details;
  const text = (name: string | undefined): string | null => {
    if (!name) return null;
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      return null;
    }
  };
  const json = (name: string | undefined): unknown => {
    const t = text(name);
    if (t === null) return null;
    try {
      return JSON.parse(t);
    } catch {
      return null;
    }
  };
  const tests = (json(d.tests) ?? {}) as { before?: Record<string, TestStatus> | null; after?: Record<string, TestStatus> | null };
  const { details: _details, ...rest } = r;
  const out: RunResult = {
    ...rest,
    tail: text(d.tail) ?? r.tail,
    before: r.before ? { ...r.before, tests: tests.before ?? {}, tail: text(d.tests_before_tail) ?? '' } : null,
    after: r.after ? { ...r.after, tests: tests.after ?? {}, tail: text(d.tests_after_tail) ?? '' } : null,
  };
  const report = json(d.report) as Record<string, SwebenchInstanceReport> | null;
  const ts = report?.[r.task_id]?.tests_status;
  if (ts) out.grading = { resolved: report![r.task_id]!.resolved, fail_to_pass: ts.FAIL_TO_PASS, pass_to_pass: ts.PASS_TO_PASS };
  return ordered(out);
}
