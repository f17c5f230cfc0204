/**
 * What the report page shows, read off the disk: run directories (result.json
 * in any layout the harness wrote, its detail files, stage logs, patch.diff,
 * trajectory.jsonl) and batch summaries. Never throws for a run: a missing or
 * broken result is a row with the reason. Sizes are capped so that a page of
 * thousands of runs stays small enough to open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HarnessError, errorMessage } from '../core/errors.js';
import type { StageRecord, TestCounts, TestStatus } from '../core/types.js';
import { readResult, RESULT_FILE, type RunResult } from '../run/result.js';
import type { BatchSummary } from '../batch/batch.js';

/** Caps on what one run puts into the page (the files themselves stay whole; the page links them). */
export const CAPS = { diffBytes: 256 * 1024, logBytes: 32 * 1024, observationChars: 6000, messageChars: 12000, tests: 5000, trajectoryLines: 2000 };

export interface ReportTest {
  id: string;
  before: TestStatus | null;
  after: TestStatus | null;
  /** FAIL_TO_PASS / PASS_TO_PASS for instances (from the grading), else null. */
  kind: 'F2P' | 'P2P' | null;
  /** Graded success (instances), else null. */
  ok: boolean | null;
}

export interface ReportTestRun {
  status: string;
  exit_code: number | null;
  collected: number;
  counts: Partial<TestCounts>;
  note: string | null;
}

export interface ReportStage extends StageRecord {
  /** The end of the stage's log (stage logs are capped files named after the stage), or null. */
  log: string | null;
  log_file: string | null;
  log_cut: boolean;
}

export interface ReportRun {
  /** Run directory name (or the file name for a broken summary entry). */
  id: string;
  /** Path of the run directory relative to the page, for links. */
  href: string;
  /** Why there is nothing to show (missing or broken result.json), else null. */
  problem: string | null;
  /** "compact" (details beside result.json), "inline" (the older layout), or null when broken. */
  layout: 'compact' | 'inline' | null;
  task_id: string;
  repo: string | null;
  ref: string | null;
  head: string | null;
  status: string;
  resolved: boolean | null;
  duration_s: number | null;
  exit_code: number | null;
  error: string | null;
  timeout_stage: string | null;
  tail: string;
  image: string | null;
  patch: { source: string; bytes: number; files: string[]; applied_with: string | null } | null;
  stages: ReportStage[];
  before: ReportTestRun | null;
  after: ReportTestRun | null;
  tests: ReportTest[];
  tests_cut: number;
  tails: { before: string | null; after: string | null };
  diff: string | null;
  diff_cut: boolean;
  model: string | null;
  turns: number | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  stop_reason: string | null;
  trajectory: Array<Record<string, unknown>> | null;
  files: Array<{ name: string; bytes: number }>;
}

export interface ReportBatch {
  file: string;
  total: number | null;
  wall_s: number | null;
  workers: number | null;
  interrupted: boolean;
  tokens: BatchSummary['tokens'];
}

export interface ReportData {
  title: string;
  generated_from: string[];
  batches: ReportBatch[];
  runs: ReportRun[];
}

function blank(id: string, href: string, problem: string): ReportRun {
  return {
    id, href, problem, layout: null, task_id: id, repo: null, ref: null, head: null, status: 'broken', resolved: null, duration_s: null,
    exit_code: null, error: problem, timeout_stage: null, tail: '', image: null, patch: null, stages: [], before: null, after: null,
    tests: [], tests_cut: 0, tails: { before: null, after: null }, diff: null, diff_cut: false, model: null, turns: null, usage: null,
    stop_reason: null, trajectory: null, files: [],
  };
}

/** The last `max` bytes of a file (at a line start), and whether it was cut; null when unreadable. */
function tailOf(file: string, max: number): { text: string; cut: boolean } | null {
  try {
    const size = fs.statSync(file).size;
    if (size <= max) return { text: fs.readFileSync(file, 'utf8'), cut: false };
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(max);
      fs.readSync(fd, buf, 0, max, size - max);
      const s = buf.toString('utf8');
      const nl = s.indexOf('\n');
      return { text: nl >= 0 ? s.slice(nl + 1) : s, cut: true };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

function headOf(file: string, max: number): { text: string; cut: boolean } | null {
  try {
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, max));
      fs.readSync(fd, buf, 0, buf.length, 0);
      return { text: buf.toString('utf8'), cut: size > max };
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

function listFiles(dir: string): Array<{ name: string; bytes: number }> {
  const out: Array<{ name: string; bytes: number }> = [];
  const walk = (sub: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!sub) walk(rel); // one level down (an agent run's eval/)
      } else if (e.isFile()) {
        out.push({ name: rel, bytes: fs.statSync(path.join(dir, rel)).size });
      }
    }
  };
  walk('');
  return out;
}

function cut(s: unknown, max: number): unknown {
  return typeof s === 'string' && s.length > max ? `${s.slice(0, max)}\n… [${s.length - max} more characters in trajectory.jsonl]` : s;
}

/** trajectory.jsonl, observations and messages cut; a broken line becomes an `unreadable` entry. */
function readTrajectory(file: string): Array<Record<string, unknown>> | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (out.length >= CAPS.trajectoryLines) {
      out.push({ type: 'unreadable', error: `more lines than the page shows (${CAPS.trajectoryLines}); see trajectory.jsonl` });
      break;
    }
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      out.push({ type: 'unreadable', error: `a line that is not JSON (${errorMessage(err)}): ${line.slice(0, 200)}` });
      continue;
    }
    if (Array.isArray(e.calls)) {
      e.calls = (e.calls as Array<Record<string, unknown>>).map((c) => ({ ...c, output: cut(c.output, CAPS.observationChars) }));
    }
    if (e.received && typeof e.received === 'object') {
      const r = e.received as Record<string, unknown>;
      e.received = { ...r, content: cut(r.content, CAPS.messageChars) };
    }
    if (Array.isArray(e.sent)) {
      e.sent = (e.sent as Array<Record<string, unknown>>).map((m) => ({ ...m, content: cut(m.content, CAPS.messageChars) }));
    }
    out.push(e);
  }
  return out;
}

function testRun(t: RunResult['before']): ReportTestRun | null {
  if (!t || typeof t !== 'object') return null;
  return { status: String(t.status), exit_code: t.exit_code ?? null, collected: t.collected ?? 0, counts: t.counts ?? {}, note: t.note ?? null };
}

/** Before/after per test, with the instance's FAIL_TO_PASS / PASS_TO_PASS and graded outcome. */
function testsOf(r: RunResult): { tests: ReportTest[]; cut: number } {
  const before = r.before?.tests ?? {};
  const after = r.after?.tests ?? {};
  const kind = new Map<string, { kind: 'F2P' | 'P2P'; ok: boolean }>();
  const g = r.grading;
  if (g) {
    for (const id of g.fail_to_pass?.success ?? []) kind.set(id, { kind: 'F2P', ok: true });
    for (const id of g.fail_to_pass?.failure ?? []) kind.set(id, { kind: 'F2P', ok: false });
    for (const id of g.pass_to_pass?.success ?? []) kind.set(id, { kind: 'P2P', ok: true });
    for (const id of g.pass_to_pass?.failure ?? []) kind.set(id, { kind: 'P2P', ok: false });
  }
  const ids = [...new Set([...kind.keys(), ...Object.keys(before), ...Object.keys(after)])];
  // Graded and flipped tests first: they are what a reader looks for.
  const rank = (id: string) => (kind.get(id)?.kind === 'F2P' ? 0 : before[id] !== undefined && before[id] !== after[id] ? 1 : kind.has(id) ? 2 : 3);
  ids.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const tests = ids.slice(0, CAPS.tests).map((id) => ({
    id,
    before: before[id] ?? null,
    after: after[id] ?? null,
    kind: kind.get(id)?.kind ?? null,
    ok: kind.get(id)?.ok ?? null,
  }));
  return { tests, cut: Math.max(0, ids.length - CAPS.tests) };
}

function stagesOf(dir: string, stages: unknown): ReportStage[] {
  if (!Array.isArray(stages)) return [];
  return (stages as StageRecord[]).map((s) => {
    const logFile = `${s.name}.log`;
    const log = tailOf(path.join(dir, logFile), CAPS.logBytes);
    return { ...s, log: log?.text ?? null, log_file: log ? logFile : null, log_cut: log?.cut ?? false };
  });
}

/** One run directory as a row; never throws. */
export function readRun(dir: string, pageDir: string): ReportRun {
  const id = path.basename(dir);
  const href = path.relative(pageDir, dir).split(path.sep).join('/') || '.';
  const files = listFiles(dir);
  const trajectory = readTrajectory(path.join(dir, 'trajectory.jsonl'));
  const file = path.join(dir, RESULT_FILE);
  let r: RunResult;
  let layout: 'compact' | 'inline';
  try {
    r = readResult(file);
    layout = 'details' in (JSON.parse(fs.readFileSync(file, 'utf8')) as object) ? 'compact' : 'inline';
  } catch (err) {
    const why = fs.existsSync(file) ? `broken result.json: ${errorMessage(err).replace(`${file}: `, '')}` : 'no result.json (the run never finished, or is still running)';
    const row = blank(id, href, why);
    // What a trajectory says still helps: the task id and the steps so far.
    const start = trajectory?.find((e) => e.type === 'start');
    if (typeof start?.task_id === 'string') row.task_id = start.task_id;
    else row.task_id = id.replace(/^\d{8}-\d{6}-[0-9a-f]{4}-/, '');
    return { ...row, files, trajectory };
  }
  const { tests, cut: testsCut } = testsOf(r);
  const diff = headOf(path.join(dir, 'patch.diff'), CAPS.diffBytes);
  return {
    id,
    href,
    problem: null,
    layout,
    task_id: typeof r.task_id === 'string' ? r.task_id : id.replace(/^\d{8}-\d{6}-[0-9a-f]{4}-/, ''),
    repo: r.repo ?? null,
    ref: r.ref ?? null,
    head: r.head ?? null,
    status: String(r.status),
    resolved: typeof r.resolved === 'boolean' ? r.resolved : null,
    duration_s: typeof r.duration_s === 'number' ? r.duration_s : null,
    exit_code: typeof r.exit_code === 'number' ? r.exit_code : null,
    error: r.error ?? null,
    timeout_stage: r.timeout_stage ?? null,
    tail: typeof r.tail === 'string' ? r.tail : '',
    image: r.image?.name ?? null,
    patch: r.patch ? { source: r.patch.source, bytes: r.patch.bytes, files: r.patch.files ?? [], applied_with: r.patch.applied_with ?? null } : null,
    stages: stagesOf(dir, r.stages),
    before: testRun(r.before),
    after: testRun(r.after),
    tests,
    tests_cut: testsCut,
    tails: { before: r.before?.tail || null, after: r.after?.tail || null },
    diff: diff?.text ?? null,
    diff_cut: diff?.cut ?? false,
    model: r.model ?? null,
    turns: r.turns ?? null,
    usage: r.usage ?? null,
    stop_reason: r.stop_reason ?? null,
    trajectory,
    files,
  };
}

function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, RESULT_FILE)) || fs.existsSync(path.join(dir, 'trajectory.jsonl'));
}

function readSummary(file: string): BatchSummary {
  let s: unknown;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new HarnessError('usage', `${file}: not a readable summary (${errorMessage(err)})`);
  }
  if (!s || typeof s !== 'object' || !Array.isArray((s as BatchSummary).tasks)) throw new HarnessError('usage', `${file}: not a run-many summary (no "tasks" list)`);
  return s as BatchSummary;
}

function batchOf(file: string, s: BatchSummary): ReportBatch {
  return { file, total: s.total ?? null, wall_s: s.wall_s ?? null, workers: s.workers ?? null, interrupted: Boolean(s.interrupted), tokens: s.tokens ?? null };
}

/**
 * Everything the inputs name, for a page written to `outFile`: a runs dir (each
 * subdirectory is a run, its summary.json read too), a run dir, a result.json
 * or a summary.json (the runs its entries name: a run done before and skipped
 * counts once).
 * @throws HarnessError('usage') for an input that does not exist or is none of these.
 */
export function collectReport(inputs: string[], outFile: string): ReportData {
  const pageDir = path.dirname(path.resolve(outFile));
  const runs: ReportRun[] = [];
  const seen = new Set<string>();
  const batches: ReportBatch[] = [];
  const addRun = (dir: string) => {
    const abs = path.resolve(dir);
    if (seen.has(abs)) return;
    seen.add(abs);
    runs.push(readRun(abs, pageDir));
  };
  const addSummary = (file: string) => {
    const s = readSummary(file);
    batches.push(batchOf(path.relative(pageDir, file) || path.basename(file), s));
    for (const t of s.tasks) {
      if (t.result_file) {
        // Relative to where run-many ran, or else to the summary's directory.
        const near = path.resolve(path.dirname(file), t.result_file);
        const f = path.isAbsolute(t.result_file) || fs.existsSync(path.resolve(t.result_file)) || !fs.existsSync(near) ? path.resolve(t.result_file) : near;
        if (fs.existsSync(path.dirname(f))) addRun(path.dirname(f));
        else runs.push({ ...blank(t.task_id, '', `${t.result_file}: run directory is gone`), task_id: t.task_id, status: 'missing' });
      } else runs.push({ ...blank(t.task_id, '', 'the summary names no result file'), status: 'missing' });
    }
  };
  for (const input of inputs) {
    const p = path.resolve(input);
    if (!fs.existsSync(p)) throw new HarnessError('usage', `${input}: no such file or directory`);
    if (fs.statSync(p).isFile()) {
      if (path.basename(p) === RESULT_FILE) addRun(path.dirname(p));
      else if (p.endsWith('.json')) addSummary(p);
      else throw new HarnessError('usage', `${input}: expected a runs dir, a run dir, a result.json or a summary.json`);
    } else if (isRunDir(p)) {
      addRun(p);
    } else {
      const summary = path.join(p, 'summary.json');
      if (fs.existsSync(summary)) {
        try {
          batches.push(batchOf(path.relative(pageDir, summary), readSummary(summary)));
        } catch {
          // a broken summary does not hide the runs
        }
      }
      for (const e of fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        if (e.isDirectory() && !e.name.startsWith('.')) addRun(path.join(p, e.name));
      }
    }
  }
  return { title: `swe-harness report: ${inputs.join(', ')}`, generated_from: inputs, batches, runs };
}
