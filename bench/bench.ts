/**
 * bench: the harness's speed against the same docker steps typed by hand
 * (issue #2's single-task comparison, issue #4's batch and large-repository
 * figures). Run by hand (`npm run bench`); figures go in the issue notes,
 * never into a timed test. Harness and plain runs alternate so that both see
 * the same machine state; every figure is a median with its min–max.
 *
 * 1. single task: warm runs of one shipped offline task with its own patch
 *    through the CLI, `node --import tsx`, runTask() in-process, and
 *    bench/plain-run.sh.
 * 2. batch: the shipped offline tasks that carry a patch through
 *    scripts/run-many.ts (spawned, --task-patch --redo-existing, a temp
 *    --runs-dir) with 1 and with 2 workers, and through bench/plain-run.sh one
 *    after the other.
 * 3. large repository: a SWE-bench instance of sympy 1.11.1 (Debian's
 *    packages, one synthetic bug; bench/make-large-repo.sh) validated with its
 *    gold patch by `run-one --instances … --gold --repo-cache` from a warm
 *    mirror, against bench/plain-instance.sh.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { abortOnSignals, intFlag, main, parseFlags, stringFlag } from '../scripts/lib/cli/flags.js';
import { DEFAULT_CONFIG, ROOT } from '../scripts/lib/core/config.js';
import { HarnessError } from '../scripts/lib/core/errors.js';
import { ensureFixture, fixtureName } from '../scripts/lib/source/fixtures.js';
import { resolveImage, type ImageInfo } from '../scripts/lib/engine/images.js';
import type { RunResult } from '../scripts/lib/run/result.js';
import { runTask } from '../scripts/lib/run/run-task.js';
import { findTask, loadTasks, resolveTaskPatchPath } from '../scripts/lib/task/tasks.js';
import { loadTaskSet, patchFor } from '../scripts/lib/task/taskset.js';
import { runBatch } from '../scripts/lib/batch/batch.js';
import type { Task } from '../scripts/lib/core/types.js';

/** The batch: every shipped offline task that has a patch of its own. */
const BATCH_TASKS = ['demo-statskit', 'statskit-passing', 'demo-frametools', 'frametools-failing'] as const;

const USAGE = `usage: npm run bench -- [options]

Sections (each alternates harness and plain runs; figures are medians, min–max):
  single   N warm runs of one shipped offline task with its own patch:
             cli        npx tsx scripts/run-one.ts --task-id ID --task-patch   (what a user types)
             node       node --import tsx scripts/run-one.ts ...                 (without npx's start-up)
             in-process runTask() called from this process                      (the harness alone)
             plain      bench/plain-run.sh: the same docker steps by hand
  batch    the shipped offline tasks with a patch of their own
             ${BATCH_TASKS.join(', ')}
           through scripts/run-many.ts --task-patch --workers 1 and --workers 2,
           and through bench/plain-run.sh one after the other
  large    a real large repository (sympy 1.11.1 from Debian, 1 synthetic bug; built
           by bench/make-large-repo.sh into sandbox/bench-large, ~5 MB download once):
           run-one --instances … --gold --repo-cache … from a warm mirror, against
           bench/plain-instance.sh; checks the instance without the gold patch first
  snapshots  (issue #10) the same task as single: a first run (--refresh-snapshot: clone,
           install and the snapshot kept) and a re-run with another patch from the snapshot,
           each with npx tsx (what a user types) and node --import tsx, both also with SWE_HARNESS_DOCKER_API=0 (every engine call
           through the docker CLI), the plain script; a batch of 4 predictions for one instance
           with 2 workers (installs counted); the large section adds a re-run from its snapshot
  engines  (issue #12, opt-in: --engines; root only) throughput over several engines: two
           extra dockerds on this machine (tests/support/second-engine.ts), each with its
           containers confined to one CPU of its own (a cpuset cgroup), standing in for two
           machines; the same batch (the batch tasks, each N times, --task-patch --no-snapshot)
           through run-many on one of them and on both, alternating, N runs at a time each
Then a table with every figure and the goals of issue #4 (harness overhead <= 15%
over the plain script; large-repository validation < 30 s wall), PASS or MISS.

Options:
  --runs N         single-task repetitions (default 5)
  --batch-runs N   batch repetitions (default 3)
  --large-runs N   large-repository repetitions (default 3)
  --task-id ID     single-task task (default demo-statskit)
  --skip-single, --skip-batch, --skip-large, --skip-snapshots
  --engines        also the engines section (root; starts and removes two dockerds)
  --engine-runs N  engines repetitions (default 2)
  -h, --help`;

const LARGE_DIR = path.join(ROOT, 'sandbox', 'bench-large');
const LARGE_SPECS = path.join(ROOT, 'bench', 'specs-large.json');
const OVERHEAD_GOAL = 0.15;
const LARGE_GOAL_S = 30;

// ---------------------------------------------------------------------------
// Measuring

interface Timed {
  s: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command from the project root and time it; an exit code outside `ok` is an error. */
function timeCommand(cmd: string, args: string[], ok: number[] = [0], env?: NodeJS.ProcessEnv): Timed {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...(env ? { env: { ...process.env, ...env } } : {}) });
  const s = (performance.now() - t) / 1000;
  const stderr = r.stderr?.toString() ?? '';
  if (r.status === null || !ok.includes(r.status)) {
    const last = stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l)).pop() ?? '';
    throw new HarnessError('internal', `${cmd} ${args.slice(0, 3).join(' ')} exited ${r.status ?? r.signal}: ${last}`);
  }
  return { s, code: r.status, stdout: r.stdout?.toString() ?? '', stderr };
}

interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function stats(xs: number[]): Stats {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Overhead of a over b: ratio of the medians, and the median of the paired (same-round) ratios. */
function overhead(a: number[], b: number[]): { ofMedians: number; paired: number } {
  return { ofMedians: median(a) / median(b) - 1, paired: median(a.map((x, i) => x / b[i]! - 1)) };
}

const sec = (s: number) => `${s.toFixed(2)}s`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const spread = (st: Stats) => `${sec(st.min)}–${sec(st.max)}`;
const say = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------
// The final table

interface Row {
  figure: string;
  value: string;
  spread?: string;
  goal?: string;
  verdict?: 'PASS' | 'MISS' | 'FAIL';
}
const rows: Row[] = [];
const notes: string[] = [];

function printTable(): void {
  if (rows.length === 0 && notes.length === 0) return;
  const w = [Math.max(6, ...rows.map((r) => r.figure.length)), Math.max(5, ...rows.map((r) => r.value.length)), Math.max(7, ...rows.map((r) => (r.spread ?? '').length)), Math.max(4, ...rows.map((r) => (r.goal ?? '').length))];
  const line = (a: string, b: string, c: string, d: string, e: string) => `${a.padEnd(w[0]!)}  ${b.padStart(w[1]!)}  ${c.padEnd(w[2]!)}  ${d.padEnd(w[3]!)}  ${e}`.trimEnd();
  const out = [
    '',
    `== summary: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end; medians, min–max over the repetitions ==`,
    line('figure', 'value', 'min–max', 'goal', 'verdict'),
    line('-'.repeat(w[0]!), '-'.repeat(w[1]!), '-'.repeat(w[2]!), '-'.repeat(w[3]!), '-------'),
    ...rows.map((r) => line(r.figure, r.value, r.spread ?? '', r.goal ?? '', r.verdict ?? '')),
    ...notes.map((n) => `note: ${n}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

const verdict = (ok: boolean): 'PASS' | 'MISS' => (ok ? 'PASS' : 'MISS');

// ---------------------------------------------------------------------------
// Plain-script arguments for a seed task

function pytestArgsOf(task: Task): string[] {
  return [...(task.pytest_k ? ['-k', task.pytest_k] : []), ...task.tests];
}

async function plainArgs(task: Task, image: ImageInfo): Promise<string[]> {
  const patchFile = resolveTaskPatchPath(task);
  if (!patchFile || !task.repo.startsWith('fixture:')) throw new HarnessError('usage', `task "${task.task_id}" must be a shipped fixture task with a patch`);
  const repo = await ensureFixture(fixtureName(task.repo));
  return ['bench/plain-run.sh', image.name, repo.path, task.ref, task.install ?? 'true', patchFile, ...pytestArgsOf(task)];
}

// ---------------------------------------------------------------------------
// 1. single task (issue #2)

async function singleSection(tasks: Task[], taskId: string, runs: number, tmp: string): Promise<void> {
  const task = findTask(tasks, taskId);
  const patchFile = resolveTaskPatchPath(task);
  const image = await resolveImage(task.image);
  const plain = await plainArgs(task, image);
  const runsDir = path.join(tmp, 'single');
  // From scratch, as before snapshots (the snapshots section measures them).
  const cfg = { ...DEFAULT_CONFIG, runsDir, snapshots: { ...DEFAULT_CONFIG.snapshots, enabled: false } };
  const patchText = fs.readFileSync(patchFile!, 'utf8');
  const cliArgs = ['scripts/run-one.ts', '--task-id', taskId, '--task-patch', '--quiet', '--runs-dir', runsDir, '--no-snapshot'];

  const kinds = {
    cli: () => timeCommand('npx', ['tsx', ...cliArgs]).s,
    node: () => timeCommand(process.execPath, ['--import', 'tsx', ...cliArgs]).s,
    'in-process': async () => {
      const t = performance.now();
      const { result } = await runTask(task, { cfg, patch: { text: patchText, source: 'bench' }, signal: interrupt.signal });
      if (result.status !== 'passed') throw new HarnessError('internal', `run ended ${result.status}: ${result.error}`);
      return (performance.now() - t) / 1000;
    },
    plain: () => timeCommand('bash', plain).s,
  } as const;
  type Kind = keyof typeof kinds;
  const times: Record<Kind, number[]> = { cli: [], node: [], 'in-process': [], plain: [] };

  say(`\n== single task: ${taskId} with its patch; image ${image.name} (python ${image.python}); warm-up...`);
  for (const k of Object.keys(kinds) as Kind[]) await kinds[k]();
  for (let i = 0; i < runs; i++) {
    for (const k of Object.keys(kinds) as Kind[]) times[k].push(await kinds[k]());
    say(`run ${i + 1}/${runs}: ${(Object.keys(times) as Kind[]).map((k) => `${k} ${sec(times[k].at(-1)!)}`).join(', ')}`);
  }
  const plainMedian = median(times.plain);
  process.stdout.write(`\n== single task: ${taskId} with its patch (${runs} runs)\n${'kind'.padEnd(11)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}  vs plain\n`);
  for (const k of Object.keys(times) as Kind[]) {
    const st = stats(times[k]);
    process.stdout.write(`${k.padEnd(11)} ${sec(st.median).padStart(7)} ${sec(st.min).padStart(7)} ${sec(st.max).padStart(7)}  ${pct(st.median / plainMedian - 1).padStart(6)}\n`);
  }

  rows.push({ figure: `single ${taskId}+patch: plain script`, value: sec(plainMedian), spread: spread(stats(times.plain)) });
  for (const k of ['cli', 'node', 'in-process'] as const) {
    const st = stats(times[k]);
    rows.push({ figure: `single ${taskId}+patch: run-one ${k}`, value: sec(st.median), spread: spread(st) });
  }
  for (const k of ['cli', 'node', 'in-process'] as const) {
    const o = overhead(times[k], times.plain);
    const goal = k === 'cli';
    rows.push({
      figure: `single overhead ${k} vs plain (paired ${pct(o.paired)})`,
      value: pct(o.ofMedians),
      goal: goal ? `<= +${OVERHEAD_GOAL * 100}%` : '(info)',
      verdict: goal ? verdict(o.ofMedians <= OVERHEAD_GOAL) : undefined,
    });
  }
}

// ---------------------------------------------------------------------------
// 2. batch (issue #4)

interface BatchSummaryLite {
  total: number;
  ran: number;
  resolved: number;
  wall_s: number;
  duration_s: { p50: number; p95: number; max: number };
}

async function batchSection(tasks: Task[], runs: number, tmp: string): Promise<void> {
  const chosen = BATCH_TASKS.map((id) => findTask(tasks, id));
  const image = await resolveImage(null);
  const plain = await Promise.all(chosen.map((t) => plainArgs(t, image)));
  const filter = `^(${BATCH_TASKS.map((id) => id.replace(/[.]/g, '\\.')).join('|')})$`;
  let seq = 0;
  const runMany = (workers: number): { s: number; summary: BatchSummaryLite } => {
    const dir = path.join(tmp, `batch-${++seq}-w${workers}`);
    const summaryFile = path.join(dir, 'summary.json');
    const r = timeCommand('npx', ['tsx', 'scripts/run-many.ts', '--filter', filter, '--task-patch', '--redo-existing', '--workers', String(workers), '--runs-dir', dir, '--summary', summaryFile], [0, 1]);
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as BatchSummaryLite;
    if (summary.ran !== chosen.length) throw new HarnessError('internal', `run-many ran ${summary.ran} of ${chosen.length} tasks`);
    if (summary.resolved !== chosen.length) notes.push(`batch with ${workers} worker(s) in ${dir}: only ${summary.resolved}/${chosen.length} resolved`);
    return { s: r.s, summary };
  };
  const plainSeq = (): number => {
    const t = performance.now();
    for (const a of plain) timeCommand('bash', a);
    return (performance.now() - t) / 1000;
  };

  const n = chosen.length;
  say(`\n== batch: ${n} tasks (${BATCH_TASKS.join(', ')}) with their own patches; warm-up...`);
  runMany(2);
  const times = { plain: [] as number[], w1: [] as number[], w2: [] as number[] };
  const internal = { w1: [] as number[], w2: [] as number[] };
  const resolved = { w1: 0, w2: 0 };
  for (let i = 0; i < runs; i++) {
    times.plain.push(plainSeq());
    for (const w of [1, 2] as const) {
      const { s, summary } = runMany(w);
      times[`w${w}`].push(s);
      internal[`w${w}`].push(summary.wall_s);
      resolved[`w${w}`] += summary.resolved;
    }
    say(`run ${i + 1}/${runs}: plain sequential ${sec(times.plain.at(-1)!)}, run-many 1 worker ${sec(times.w1.at(-1)!)}, 2 workers ${sec(times.w2.at(-1)!)}`);
  }
  const st = { plain: stats(times.plain), w1: stats(times.w1), w2: stats(times.w2) };
  const tpm = (s: number) => ((n / s) * 60).toFixed(1);
  process.stdout.write(
    `\n== batch: ${n} tasks with their own patches (${runs} runs; wall of the whole command, run-many's own wall_s in brackets)\n` +
      `plain sequential   ${sec(st.plain.median)} (${spread(st.plain)})  ${tpm(st.plain.median)} tasks/min\n` +
      `run-many 1 worker  ${sec(st.w1.median)} (${spread(st.w1)})  ${tpm(st.w1.median)} tasks/min  [${sec(median(internal.w1))}]  resolved ${resolved.w1}/${n * runs}\n` +
      `run-many 2 workers ${sec(st.w2.median)} (${spread(st.w2)})  ${tpm(st.w2.median)} tasks/min  [${sec(median(internal.w2))}]  resolved ${resolved.w2}/${n * runs}\n`,
  );
  const o = overhead(times.w1, times.plain);
  const speedup = st.w1.median / st.w2.median;
  const pairedSpeedup = median(times.w1.map((x, i) => x / times.w2[i]!));
  rows.push(
    { figure: `batch ${n} tasks: plain script, sequential`, value: sec(st.plain.median), spread: spread(st.plain) },
    { figure: `batch ${n} tasks: run-many --workers 1`, value: sec(st.w1.median), spread: spread(st.w1) },
    { figure: `batch ${n} tasks: run-many --workers 2`, value: sec(st.w2.median), spread: spread(st.w2) },
    { figure: `batch overhead run-many w1 vs plain (paired ${pct(o.paired)})`, value: pct(o.ofMedians), goal: `<= +${OVERHEAD_GOAL * 100}%`, verdict: verdict(o.ofMedians <= OVERHEAD_GOAL) },
    { figure: 'batch throughput plain / w1 / w2 (tasks/min)', value: `${tpm(st.plain.median)} / ${tpm(st.w1.median)} / ${tpm(st.w2.median)}` },
    { figure: `batch speed-up 2 workers vs 1 (paired ${pairedSpeedup.toFixed(2)}x)`, value: `${speedup.toFixed(2)}x`, goal: '(info)' },
    { figure: 'batch resolved (all runs)', value: `${resolved.w1 + resolved.w2}/${2 * n * runs}`, goal: 'all', verdict: resolved.w1 + resolved.w2 === 2 * n * runs ? 'PASS' : 'FAIL' },
  );
  notes.push('probe-ok is not in the batch: run-many --task-patch records a task without a patch of its own as an error (taskset.ts patchFor), and one batch cannot mix patch modes.');
}

// ---------------------------------------------------------------------------
// 3. large repository (issue #4)

interface LargeInfo {
  label: string;
  instance_id: string;
  base_commit: string;
  files: number;
  python_files: number;
  test_files: number;
  bytes: number;
  mirror_bytes: number;
  repo_cache: string;
  instances: string;
}

interface InstanceRow {
  instance_id: string;
  base_commit: string;
  patch: string;
  test_patch: string;
  FAIL_TO_PASS: string[];
  PASS_TO_PASS: string[];
}

async function largeSection(runs: number, tmp: string): Promise<void> {
  say('\n== large repository: bench/make-large-repo.sh sandbox/bench-large ...');
  const built = timeCommand('bash', ['bench/make-large-repo.sh', LARGE_DIR]);
  say(`${built.stderr.trim().split('\n').pop()} (${sec(built.s)})`);
  const info = JSON.parse(fs.readFileSync(path.join(LARGE_DIR, 'info.json'), 'utf8')) as LargeInfo;
  const inst = JSON.parse(fs.readFileSync(info.instances, 'utf8').split('\n')[0]!) as InstanceRow;
  const specs = JSON.parse(fs.readFileSync(LARGE_SPECS, 'utf8')) as Record<string, { install: string }>;
  const image = await resolveImage(null);
  const runsDir = path.join(tmp, 'large');
  const oneArgs = (gold: boolean, snapshot = false) => [
    'tsx', 'scripts/run-one.ts', '--instances', info.instances, '--task-id', info.instance_id, ...(gold ? ['--gold'] : []),
    '--repo-cache', info.repo_cache, '--specs', LARGE_SPECS, '--runs-dir', runsDir, '--json', '--quiet', ...(snapshot ? [] : ['--no-snapshot']),
  ];
  const runOne = (gold: boolean, snapshot = false) => {
    const r = timeCommand('npx', oneArgs(gold, snapshot), gold ? [0, 1] : [1]);
    return { s: r.s, result: JSON.parse(r.stdout) as RunResult };
  };
  fs.mkdirSync(runsDir, { recursive: true });
  const goldFile = path.join(tmp, 'gold.patch');
  const testPatchFile = path.join(tmp, 'test.patch');
  fs.writeFileSync(goldFile, inst.patch);
  fs.writeFileSync(testPatchFile, inst.test_patch);
  const testFiles = [...new Set([...inst.test_patch.matchAll(/^\+\+\+ b\/(\S+)$/gm)].map((m) => m[1]!))];
  const plain = ['bench/plain-instance.sh', image.name, path.join(info.repo_cache, 'bench__sympy.git'), inst.base_commit, specs['bench/sympy']!.install, goldFile, testPatchFile, ...testFiles];

  // Warm-up, and the instance's own check: without the gold patch exactly the FAIL_TO_PASS tests fail.
  say(`warm-up: ${info.instance_id} without the gold patch (the FAIL_TO_PASS test must fail, every PASS_TO_PASS test pass)...`);
  const check = runOne(false).result;
  const g = check.grading;
  const checkOk =
    check.status === 'failed' && !!g &&
    g.fail_to_pass.failure.length === inst.FAIL_TO_PASS.length && g.fail_to_pass.success.length === 0 &&
    g.pass_to_pass.failure.length === 0 && g.pass_to_pass.success.length === inst.PASS_TO_PASS.length;
  const checkText = g ? `F2P failing ${g.fail_to_pass.failure.length}/${inst.FAIL_TO_PASS.length}, P2P passing ${g.pass_to_pass.success.length}/${inst.PASS_TO_PASS.length}` : `no grading (${check.status}: ${check.error})`;
  say(`  ${check.status}: ${checkText}`);
  timeCommand('bash', plain);

  const times = { cli: [] as number[], plain: [] as number[], internal: [] as number[], rerun: [] as number[] };
  const stageTimes = new Map<string, number[]>();
  let resolved = 0;
  // A re-run from the snapshot (the check above without gold, or the first of these, built it).
  runOne(true, true);
  for (let i = 0; i < runs; i++) {
    const re = runOne(true, true);
    times.rerun.push(re.s);
    if (re.result.resolved !== true || re.result.stages[0]?.status !== 'cached') notes.push(`large re-run ${i + 1}: ${re.result.status}, clone ${re.result.stages[0]?.status}`);
    const { s, result } = runOne(true);
    times.cli.push(s);
    times.internal.push(result.duration_s);
    if (result.resolved === true) resolved++;
    else notes.push(`large run ${i + 1}: not resolved (${result.status}: ${result.error ?? ''})`);
    for (const st of result.stages) stageTimes.set(st.name, [...(stageTimes.get(st.name) ?? []), st.duration_s]);
    times.plain.push(timeCommand('bash', plain).s);
    say(`run ${i + 1}/${runs}: run-one --gold ${sec(s)} (result.json duration_s ${sec(result.duration_s)}; ${result.stages.map((x) => `${x.name} ${sec(x.duration_s)}`).join(', ')}), plain ${sec(times.plain.at(-1)!)}`);
  }
  const st = { cli: stats(times.cli), plain: stats(times.plain), internal: stats(times.internal) };
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  process.stdout.write(
    `\n== ${info.label} (${runs} runs, warm mirror)\n` +
      `repository: ${info.files} files (${info.python_files} .py, ${info.test_files} test modules), ${mb(info.bytes)} checked out; mirror ${mb(info.mirror_bytes)}\n` +
      `instance ${info.instance_id} at ${info.base_commit.slice(0, 12)}: without gold ${check.status} (${checkText})\n` +
      `run-one --gold wall  ${sec(st.cli.median)} (${spread(st.cli)})  resolved ${resolved}/${runs}\n` +
      `  result duration_s  ${sec(st.internal.median)} (${spread(st.internal)})\n` +
      [...stageTimes].map(([name, xs]) => `  ${name.padEnd(17)} ${sec(median(xs))} (${spread(stats(xs))})\n`).join('') +
      `plain-instance.sh    ${sec(st.plain.median)} (${spread(st.plain)})\n`,
  );
  const o = overhead(times.cli, times.plain);
  rows.push(
    { figure: `large: ${info.label}`, value: `${info.files} files`, spread: `${mb(info.bytes)} (mirror ${mb(info.mirror_bytes)})` },
    { figure: 'large: instance check without gold (F2P fail, P2P pass)', value: checkOk ? 'ok' : 'WRONG', goal: 'ok', verdict: checkOk ? 'PASS' : 'FAIL' },
    { figure: 'large: run-one --gold, warm mirror (wall)', value: sec(st.cli.median), spread: spread(st.cli), goal: `< ${LARGE_GOAL_S}s`, verdict: verdict(st.cli.median < LARGE_GOAL_S) },
    { figure: 'large: resolved', value: `${resolved}/${runs}`, goal: 'all', verdict: resolved === runs ? 'PASS' : 'FAIL' },
    { figure: 'large: result.json duration_s', value: sec(st.internal.median), spread: spread(st.internal) },
    ...[...stageTimes].map(([name, xs]) => ({ figure: `large:   stage ${name}`, value: sec(median(xs)), spread: spread(stats(xs)) })),
    { figure: 'large: plain-instance.sh', value: sec(st.plain.median), spread: spread(st.plain) },
    { figure: `large overhead run-one vs plain (paired ${pct(o.paired)})`, value: pct(o.ofMedians), goal: '(info)' },
    { figure: 'large: re-run from snapshot (wall)', value: sec(median(times.rerun)), spread: spread(stats(times.rerun)) },
    ratioRow('large: re-run from snapshot vs plain', times.rerun, times.plain, RERUN_LARGE_GOAL),
  );
}

// ---------------------------------------------------------------------------
// 4. snapshots (issue #10): first run, re-run with another patch, a batch that installs once

const FIRST_RUN_GOAL = 1.15;
const RERUN_GOAL = 0.6;
const RERUN_LARGE_GOAL = 0.5;

function ratioRow(figure: string, a: number[], b: number[], goal: number): Row {
  const r = median(a) / median(b);
  return { figure: `${figure} (x plain)`, value: `${r.toFixed(2)}x`, goal: `<= ${goal}x`, verdict: verdict(r <= goal) };
}

async function snapshotSection(tasks: Task[], taskId: string, runs: number, tmp: string): Promise<void> {
  const task = findTask(tasks, taskId);
  const image = await resolveImage(task.image);
  const plain = await plainArgs(task, image);
  const runsDir = path.join(tmp, 'snapshots');
  // "Another patch": the task's fix as a file of its own (the snapshot holds no patch, so any patch starts the same).
  const other = path.join(tmp, 'other.patch');
  fs.copyFileSync(resolveTaskPatchPath(task)!, other);
  const cli = (extra: string[]) => ['tsx', 'scripts/run-one.ts', '--task-id', taskId, '--quiet', '--runs-dir', runsDir, ...extra];
  // The same runs with every engine call through the docker CLI (as before the engine API client).
  const viaCli = { SWE_HARNESS_DOCKER_API: '0' };
  const kinds = {
    first: () => timeCommand('npx', cli(['--task-patch', '--refresh-snapshot'])).s,
    'first-cli': () => timeCommand('npx', cli(['--task-patch', '--refresh-snapshot']), [0], viaCli).s,
    'first-node': () => timeCommand(process.execPath, ['--import', ...cli(['--task-patch', '--refresh-snapshot'])]).s,
    rerun: () => timeCommand('npx', cli(['--patch', other])).s,
    'rerun-cli': () => timeCommand('npx', cli(['--patch', other]), [0], viaCli).s,
    'rerun-node': () => timeCommand(process.execPath, ['--import', ...cli(['--patch', other])]).s,
    plain: () => timeCommand('bash', plain).s,
  } as const;
  type Kind = keyof typeof kinds;
  const times: Record<Kind, number[]> = { first: [], 'first-cli': [], 'first-node': [], rerun: [], 'rerun-cli': [], 'rerun-node': [], plain: [] };
  say(`\n== snapshots: ${taskId}; first run (--refresh-snapshot), re-run with another patch, plain script; warm-up...`);
  for (const k of Object.keys(kinds) as Kind[]) await kinds[k]();
  for (let i = 0; i < runs; i++) {
    for (const k of Object.keys(kinds) as Kind[]) times[k].push(await kinds[k]());
    say(`run ${i + 1}/${runs}: ${(Object.keys(times) as Kind[]).map((k) => `${k} ${sec(times[k].at(-1)!)}`).join(', ')}`);
  }
  for (const k of Object.keys(times) as Kind[]) rows.push({ figure: `snapshots ${taskId}: ${k}`, value: sec(median(times[k])), spread: spread(stats(times[k])) });
  rows.push(
    ratioRow(`snapshots: first run (npx) vs plain`, times.first, times.plain, FIRST_RUN_GOAL),
    ratioRow(`snapshots: re-run, another patch (npx) vs plain`, times.rerun, times.plain, RERUN_GOAL),
    { ...ratioRow(`snapshots: first run (node --import tsx) vs plain`, times['first-node'], times.plain, FIRST_RUN_GOAL), goal: '(info)', verdict: undefined },
    { ...ratioRow(`snapshots: re-run (node --import tsx) vs plain`, times['rerun-node'], times.plain, RERUN_GOAL), goal: '(info)', verdict: undefined },
    { ...ratioRow(`snapshots: first run, docker CLI only (SWE_HARNESS_DOCKER_API=0) vs plain`, times['first-cli'], times.plain, FIRST_RUN_GOAL), goal: '(info)', verdict: undefined },
    { ...ratioRow(`snapshots: re-run, docker CLI only (SWE_HARNESS_DOCKER_API=0) vs plain`, times['rerun-cli'], times.plain, RERUN_GOAL), goal: '(info)', verdict: undefined },
  );

  // run-one --watch: from a save of the patch file to the run's result, the process kept between runs.
  say('--watch: one process, the patch file saved with new content once per repetition, plain script in between...');
  const w = await watchTimes(taskId, other, path.join(tmp, 'watch'), runs, plain);
  rows.push(
    { figure: `snapshots ${taskId}: --watch, save to result`, value: sec(median(w.watch)), spread: `${spread(stats(w.watch))}; ${w.passed}/${runs} passed` },
    { ...ratioRow(`snapshots: re-run under --watch vs plain`, w.watch, w.plain, RERUN_GOAL), goal: '(info)', verdict: undefined },
  );

  // A batch of N predictions for one instance, 2 workers: one install, the rest from the snapshot.
  const [inst] = await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') });
  const gold = patchFor(inst!, { kind: 'task' })!;
  const n = 4;
  const batchDir = path.join(tmp, 'snapshot-batch');
  const cfg = { ...DEFAULT_CONFIG, runsDir: batchDir, snapshots: { ...DEFAULT_CONFIG.snapshots, refresh: true } };
  const t = performance.now();
  await runBatch(Array.from({ length: n }, (_, i) => ({ task: inst!, patch: { ...gold, source: `prediction ${i}` } })), {
    cfg, workers: 2, image: null, timeouts: {}, redoExisting: true, signal: interrupt.signal, progress: () => {},
  });
  const wall = (performance.now() - t) / 1000;
  const results = fs.readdirSync(batchDir).filter((d) => fs.existsSync(path.join(batchDir, d, 'result.json')))
    .map((d) => JSON.parse(fs.readFileSync(path.join(batchDir, d, 'result.json'), 'utf8')) as RunResult);
  const installs = results.filter((r) => r.stages.some((x) => x.name === 'install' && x.status === 'ok')).length;
  const passed = results.filter((r) => r.status === 'passed').length;
  rows.push({ figure: `snapshots: batch of ${n} predictions, ${inst!.task_id}, 2 workers: installs`, value: String(installs), spread: `${passed}/${n} resolved, ${sec(wall)}`, goal: '1', verdict: installs === 1 && passed === n ? 'PASS' : 'MISS' });
}

/**
 * `run-one --watch` on a patch file: the first run, then per repetition one save
 * with new content (a comment line before the diff, which every apply method
 * skips) timed until the run's "watching" line, and a plain script run.
 */
async function watchTimes(taskId: string, patchFile: string, dir: string, runs: number, plain: string[]): Promise<{ watch: number[]; plain: number[]; passed: number }> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'watched.patch');
  const fix = fs.readFileSync(patchFile, 'utf8');
  fs.writeFileSync(file, fix);
  // A process group of its own, so that the end is a terminal's Ctrl-C to all of it: npx alone ignores a SIGINT.
  const child = spawn('npx', ['tsx', 'scripts/run-one.ts', '--task-id', taskId, '--patch', file, '--watch', '--runs-dir', path.join(dir, 'runs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  const count = (re: RegExp) => (stderr.match(re) ?? []).length;
  let wake = () => {};
  child.stderr.on('data', (d) => {
    stderr += d;
    wake();
  });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const results = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new HarnessError('internal', `run-one --watch gave no result ${n} within 120 s: ${stderr.trim().split('\n').pop() ?? ''}`)), 120_000);
      wake = () => {
        if (count(/^watching /gm) < n) return;
        clearTimeout(t);
        resolve();
      };
      wake();
    });
  const out = { watch: [] as number[], plain: [] as number[], passed: 0 };
  try {
    await results(1);
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      fs.writeFileSync(file, `# bench variant ${i + 1}\n${fix}`);
      await results(i + 2);
      out.watch.push((performance.now() - t) / 1000);
      out.plain.push(timeCommand('bash', plain).s);
      say(`watch ${i + 1}/${runs}: save to result ${sec(out.watch.at(-1)!)}, plain ${sec(out.plain.at(-1)!)}`);
    }
    out.passed = count(/^passed in /gm) - 1;
  } finally {
    process.kill(-child.pid!, 'SIGINT');
    await closed;
  }
  return out;
}

// ---------------------------------------------------------------------------
// 5. engines (issue #12): does throughput grow with the engines?

async function enginesSection(tasks: Task[], runs: number, tmp: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    notes.push('engines section skipped: it needs root (dockerd, ip netns, cgroups)');
    return;
  }
  const cpus = os.cpus().length;
  const { secondEngine } = await import('../tests/support/second-engine.js');
  // Each engine's containers on a CPU of its own: two small machines, as far as the tests inside can tell.
  const engines = [secondEngine(`swh-bench-a-${process.pid}`, { cpus: '0' }), secondEngine(`swh-bench-b-${process.pid}`, { cpus: String(Math.min(1, cpus - 1)) })];
  const copies = 4;
  const lines = BATCH_TASKS.flatMap((id) => {
    const t = findTask(tasks, id);
    return Array.from({ length: copies }, (_, i) => JSON.stringify({ ...t, task_id: `${id}-copy${i + 1}`, patch: resolveTaskPatchPath(t) }));
  });
  const tasksFile = path.join(tmp, 'engine-tasks.jsonl');
  fs.writeFileSync(tasksFile, `${lines.join('\n')}\n`);
  const n = lines.length;
  let seq = 0;
  const batch = (specs: string[]): { s: number; resolved: number; per: Record<string, number> } => {
    const dir = path.join(tmp, `engines-${++seq}`);
    const summaryFile = path.join(dir, 'summary.json');
    const args = ['tsx', 'scripts/run-many.ts', '--tasks', tasksFile, '--task-patch', '--no-snapshot', '--redo-existing', '--runs-dir', dir, '--summary', summaryFile, '--engine', 'local=0', ...specs.flatMap((e) => ['--engine', e])];
    const r = timeCommand('npx', args, [0, 1]);
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as { resolved: number; engines?: Array<{ engine: string; ran: number }> };
    const per = Object.fromEntries((summary.engines ?? []).filter((e) => e.ran > 0).map((e) => [e.engine, e.ran]));
    return { s: r.s, resolved: summary.resolved, per };
  };
  say(`\n== engines: two dockerds, containers on CPU 0 and CPU ${Math.min(1, cpus - 1)}; ${n} tasks per batch, 2 runs at a time per engine; starting them...`);
  try {
    for (const e of engines) await e.start();
    const [a, b] = engines.map((e) => `${e.url}=2`) as [string, string];
    say('warm-up (the image is streamed to each engine once)...');
    batch([a]);
    batch([b]);
    const times = { one: [] as number[], two: [] as number[] };
    let resolved = 0;
    let split = '';
    for (let i = 0; i < runs; i++) {
      const one = batch([a]);
      const two = batch([a, b]);
      times.one.push(one.s);
      times.two.push(two.s);
      resolved += one.resolved + two.resolved;
      split = Object.values(two.per).join('+');
      say(`run ${i + 1}/${runs}: one engine ${sec(one.s)}, two engines ${sec(two.s)} (tasks per engine ${split})`);
    }
    const tpm = (s: number) => ((n / s) * 60).toFixed(1);
    const ratio = median(times.one) / median(times.two);
    rows.push(
      { figure: `engines: batch of ${n} on one engine (1 CPU, 2 slots)`, value: sec(median(times.one)), spread: spread(stats(times.one)) },
      { figure: `engines: the same batch on two engines (1 CPU each)`, value: sec(median(times.two)), spread: `${spread(stats(times.two))}, split ${split}` },
      { figure: 'engines: throughput one / two engines (tasks/min)', value: `${tpm(median(times.one))} / ${tpm(median(times.two))}` },
      { figure: 'engines: throughput ratio two vs one engine', value: `${ratio.toFixed(2)}x`, goal: '> 1', verdict: verdict(ratio > 1) },
      { figure: 'engines: resolved (all runs)', value: `${resolved}/${2 * n * runs}`, goal: 'all', verdict: resolved === 2 * n * runs ? 'PASS' : 'FAIL' },
    );
    notes.push('engines: both dockerds, their containerd and this process share the machine; only the containers are confined (cpuset), so the ratio is that of two small machines, not of two real hosts.');
  } finally {
    for (const e of engines) await e.remove();
  }
}

// ---------------------------------------------------------------------------

// Ctrl-C: the in-process run removes its container and the bench stops there.
const interrupt = abortOnSignals('stopping the benchmark (containers are removed)...');

await main(async () => {
  const args = parseFlags(process.argv.slice(2), {
    string: ['runs', 'batch-runs', 'large-runs', 'engine-runs', 'task-id'],
    boolean: ['help', 'skip-single', 'skip-batch', 'skip-large', 'skip-snapshots', 'engines'],
    alias: { h: 'help' },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args._.length) throw new HarnessError('usage', `unexpected argument "${args._[0]}" (see --help)`);
  const runs = intFlag(args, 'runs', 5);
  const batchRuns = intFlag(args, 'batch-runs', 3);
  const largeRuns = intFlag(args, 'large-runs', 3);
  const engineRuns = intFlag(args, 'engine-runs', 2);
  const taskId = stringFlag(args, 'task-id') ?? 'demo-statskit';
  const tasks = await loadTasks(path.join(ROOT, 'seed_tasks.jsonl'));
  const tmp = fs.mkdtempSync(path.join(ROOT, 'sandbox', 'bench-'));
  say(`bench: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; temp runs in ${path.relative(ROOT, tmp)}`);
  try {
    if (!args['skip-single']) await singleSection(tasks, taskId, runs, tmp);
    if (!args['skip-batch']) await batchSection(tasks, batchRuns, tmp);
    if (!args['skip-snapshots']) await snapshotSection(tasks, taskId, runs, tmp);
    if (!args['skip-large']) await largeSection(largeRuns, tmp);
    if (args.engines) await enginesSection(tasks, engineRuns, tmp);
  } catch (err) {
    // What was measured so far still goes out; the run directories stay for a look.
    notes.push(`stopped early; run directories kept in ${path.relative(ROOT, tmp)}`);
    printTable();
    throw err;
  }
  printTable();
  fs.rmSync(tmp, { recursive: true, force: true });
  return 0;
});
