/**
 * run-many as a user meets it: a real process over the shipped SWE-bench
 * instances and predictions, two workers, a warm cache of earlier results,
 * and Ctrl-C in the middle of a batch.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../scripts/lib/batch/batch.js';
import { ROOT } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import type { RunResult } from '../../scripts/lib/run/result.js';

const STATSKIT = 'swe-harness__statskit-1';
const FRAMETOOLS = 'swe-harness__frametools-1';
const PREDS_JSONL = 'tests/fixtures/preds/preds.jsonl';
const PREDS_JSON = 'tests/fixtures/preds/preds.json';
const INSTANCES = ['--instances', 'tasks/instances.jsonl'];
/** Two workers, and stage limits with room for a loaded 2-core machine (the defaults are tuned for speed). */
const RUN_FLAGS = ['--workers', '2', '--clone-timeout', '60', '--install-timeout', '120', '--test-timeout', '60'];

const tmpDir = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `swe-harness-many-${tag}-`));

function runMany(args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-many.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

function summaryOf(runsDir: string): BatchSummary {
  return JSON.parse(fs.readFileSync(path.join(runsDir, 'summary.json'), 'utf8')) as BatchSummary;
}

/** Every result.json under a runs dir, by run directory name. */
function resultsIn(runsDir: string): Map<string, RunResult> {
  const out = new Map<string, RunResult>();
  for (const d of fs.readdirSync(runsDir).sort()) {
    const file = path.join(runsDir, d, 'result.json');
    if (fs.existsSync(file)) out.set(d, JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult);
  }
  return out;
}

const resolvedIds = (s: BatchSummary) => s.tasks.filter((t) => t.resolved).map((t) => t.task_id).sort();
const ranIds = (s: BatchSummary) => s.tasks.filter((t) => !t.skipped).map((t) => t.task_id).sort();
const progressLines = (stderr: string) => stderr.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));

describe('run-many over SWE-bench instances with a predictions file', () => {
  // One runs dir for the whole sequence: the cache of results is what is under test.
  const runsDir = tmpDir('cache');
  /** `task_id cache_key` of the first run's results. */
  let firstKeys: string[] = [];
  const keysIn = (dir: string) => [...resultsIn(dir).values()].map((r) => `${r.task_id} ${r.cache_key}`).sort();

  it('runs every predicted instance with 2 workers and writes a summary', () => {
    const r = runMany([...INSTANCES, '--predictions', PREDS_JSONL, ...RUN_FLAGS, '--runs-dir', runsDir]);
    // The frametools prediction is a wrong patch: not every task resolved.
    expect(r.code, r.stderr).toBe(1);
    const s = summaryOf(runsDir);
    expect(s).toMatchObject({ total: 2, ran: 2, skipped_existing: 0, interrupted: false, workers: 2, resolved: 1, resolved_rate: 0.5 });
    expect(s.counts).toEqual({ passed: 1, failed: 1 });
    expect(s.duration_s.p50).toBeGreaterThan(0);
    expect(s.duration_s.p95).toBeGreaterThanOrEqual(s.duration_s.p50);
    expect(s.duration_s.max).toBeGreaterThanOrEqual(s.duration_s.p95);
    expect(s.tokens).toBeNull();
    expect(s.tasks.map((t) => [t.task_id, t.status, t.resolved, t.skipped]).sort()).toEqual([
      [FRAMETOOLS, 'failed', false, false],
      [STATSKIT, 'passed', true, false],
    ]);
    for (const t of s.tasks) {
      const result = JSON.parse(fs.readFileSync(t.result_file!, 'utf8')) as RunResult;
      expect(result.task_id).toBe(t.task_id);
      expect(result.cache_key).toMatch(/^[0-9a-f]{32}$/);
      expect(result.patch!.source).toBe(`${PREDS_JSONL}#${t.task_id}`);
    }
    // Not a terminal: one progress line per completed task, none repeated at the end.
    const lines = progressLines(r.stderr);
    expect(lines).toHaveLength(2);
    const t = String.raw`(?:\d+m\d\d|\d+)s`; // 9s, 1m05s
    expect(lines[0]).toMatch(new RegExp(String.raw`^\[1/2\] resolved [01] · failed [01] · errors 0 · ${t} elapsed · ETA ${t}$`));
    expect(lines[1]).toMatch(new RegExp(String.raw`^\[2/2\] resolved 1 · failed 1 · errors 0 · ${t} elapsed$`));
    expect(r.stderr).toMatch(/resolved 1\/2 \(50\.0%\)/);
    expect(r.stderr).toMatch(/summary: /);
    firstKeys = keysIn(runsDir);
    expect(firstKeys).toHaveLength(2);
  });

  it('reads the preds.json dict as the same predictions: same cache keys, so nothing runs again, same resolved set', () => {
    // (The dict format also runs for real below, with one patch changed.)
    const r = runMany([...INSTANCES, '--predictions', PREDS_JSON, ...RUN_FLAGS, '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(1);
    const s = summaryOf(runsDir);
    expect(s).toMatchObject({ total: 2, ran: 0, skipped_existing: 2, resolved: 1 });
    expect(resolvedIds(s)).toEqual([STATSKIT]);
    expect(keysIn(runsDir)).toEqual(firstKeys);
  });

  it('skips every task on a second run, quickly, from the results already there', () => {
    const before = resultsIn(runsDir).size;
    const r = runMany([...INSTANCES, '--predictions', PREDS_JSONL, ...RUN_FLAGS, '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(1);
    const s = summaryOf(runsDir);
    expect(s).toMatchObject({ total: 2, ran: 0, skipped_existing: 2, resolved: 1 });
    expect(s.tasks.every((t) => t.skipped)).toBe(true);
    expect(s.counts).toEqual({ passed: 1, failed: 1 });
    expect(resultsIn(runsDir).size).toBe(before); // no new run directory
    expect(s.wall_s).toBeLessThan(3);
    expect(r.seconds).toBeLessThan(10); // node + tsx start-up included
    expect(progressLines(r.stderr).at(-1)).toMatch(/^\[2\/2\] resolved 1 · failed 1 · errors 0 · skipped 2 · /);
  });

  it('runs everything again with --redo-existing', () => {
    const r = runMany([...INSTANCES, '--predictions', PREDS_JSONL, ...RUN_FLAGS, '--runs-dir', runsDir, '--redo-existing']);
    expect(r.code, r.stderr).toBe(1);
    const s = summaryOf(runsDir);
    expect(s).toMatchObject({ total: 2, ran: 2, skipped_existing: 0, resolved: 1 });
    expect(ranIds(s)).toEqual([FRAMETOOLS, STATSKIT]);
  });

  it('re-runs only the instance whose predicted patch changed (the cache key holds the patch hash)', () => {
    // The same predictions as a preds.json dict, with the frametools patch replaced by its fix.
    const dict = JSON.parse(fs.readFileSync(path.join(ROOT, PREDS_JSON), 'utf8'));
    dict[FRAMETOOLS].model_patch = fs.readFileSync(path.join(ROOT, 'tasks/frametools/fix.patch'), 'utf8');
    const file = path.join(tmpDir('preds'), 'preds.json');
    fs.writeFileSync(file, JSON.stringify(dict, null, 2));
    const r = runMany([...INSTANCES, '--predictions', file, ...RUN_FLAGS, '--runs-dir', runsDir]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(runsDir);
    expect(s).toMatchObject({ total: 2, ran: 1, skipped_existing: 1, resolved: 2, resolved_rate: 1 });
    expect(ranIds(s)).toEqual([FRAMETOOLS]);
    expect(s.counts).toEqual({ passed: 2 });
  });

  it.each([
    // Exit 0 only when every selected task resolved (the frametools prediction does not).
    [['--slice', '0:1'], [STATSKIT], 0],
    // A negative bound must be attached with "=": minimist takes a separate "-1:" for an option.
    [['--slice=-1:'], [FRAMETOOLS], 1],
    [['--filter', 'frametools'], [FRAMETOOLS], 1],
    [['--filter', '^swe-harness__', '--slice', ':5'], [STATSKIT, FRAMETOOLS], 1],
  ])('selects tasks with %j', (flags, ids, exitCode) => {
    const summary = path.join(tmpDir('summary'), 'summary.json');
    const r = runMany([...INSTANCES, '--predictions', PREDS_JSONL, ...RUN_FLAGS, '--runs-dir', runsDir, '--summary', summary, ...flags]);
    const s = JSON.parse(fs.readFileSync(summary, 'utf8')) as BatchSummary;
    expect(s.tasks.map((t) => t.task_id)).toEqual(ids);
    expect(s.total).toBe(ids.length);
    expect(s.skipped_existing).toBe(ids.length); // all done before: selection is all this costs
    expect(r.code, r.stderr).toBe(exitCode);
  });

  it.each([
    [['--slice', 'x'], /--slice must look like A:B .*got "x"/],
    [['--filter', '('], /--filter is not a valid regular expression/],
    [['--filter', 'no-such-instance'], /no task left to run after --filter\/--slice/],
    [['--predictions', 'tests/fixtures/preds/nope.jsonl'], /cannot read predictions file .*nope\.jsonl: no such file/],
    [['--predictions', PREDS_JSONL, '--gold'], /at most one of --predictions, --gold/],
    [['--workers', '-1'], /--workers must be a positive integer, got "-1"/],
    [['--test-timeout', '-5'], /--test-timeout must be a positive number of seconds up to 604800, got "-5"/],
    [['--test-timeout', '0x10'], /--test-timeout must be a positive number of seconds up to 604800, got "0x10"/],
  ])('refuses %j with one line and exit 2', (flags, message) => {
    const dir = tmpDir('bad');
    const r = runMany([...INSTANCES, '--runs-dir', dir, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(fs.readdirSync(dir)).toEqual([]); // nothing ran, no summary
  });
});

describe('run-many and a --runs-dir that is a file', () => {
  it('refuses it with one line naming it and exit 2', () => {
    const file = path.join(tmpDir('file'), 'runs');
    fs.writeFileSync(file, 'not a directory');
    const r = runMany([...INSTANCES, '--gold', '--runs-dir', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`error: --runs-dir "${file}" is a file, not a directory`);
  });

  it('refuses a --summary under a file before running anything, and --patch - (stdin is run-one\'s)', () => {
    const dir = tmpDir('summary');
    const file = path.join(dir, 'afile');
    fs.writeFileSync(file, 'not a directory');
    const runs = path.join(dir, 'runs');
    const r = runMany([...INSTANCES, '--gold', '--runs-dir', runs, '--summary', path.join(file, 's.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: --summary "${file}" is a file, not a directory`);
    expect(fs.existsSync(runs) ? fs.readdirSync(runs) : []).toEqual([]);
    const s = runMany([...INSTANCES, '--patch', '-', '--runs-dir', runs]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--patch - \(stdin\) is for run-one/);
  });
});

describe('run-many and Ctrl-C', () => {
  it('stops a batch on SIGINT: exit 130, an interrupted summary and results, no container left', async () => {
    const runsDir = tmpDir('sigint');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/run-many.ts', '--filter', '^probe-(sleep|ok)$', '--workers', '2', '--test-timeout', '120', '--runs-dir', runsDir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));

    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + 90_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`${what} never happened: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    // The sleeping run's container exists, and its test stage (which sleeps 300 s) has started.
    let sleepRun = '';
    await waitFor('the probe-sleep container', async () => {
      sleepRun = fs.readdirSync(runsDir).find((d) => d.endsWith('-probe-sleep')) ?? '';
      return sleepRun !== '' && (await listHarnessContainers(sleepRun)).length > 0;
    });
    await waitFor('the probe-sleep test stage', () => fs.existsSync(path.join(runsDir, sleepRun, 'tests_after.log')));
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    child.kill('SIGINT');
    const code = await closed;
    expect(code, stderr).toBe(130);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stderr).toMatch(/interrupted: finishing the runs in flight/);

    const s = summaryOf(runsDir);
    expect(s.interrupted).toBe(true);
    expect(s.counts.interrupted).toBeGreaterThanOrEqual(1);
    expect(s.tasks.find((t) => t.task_id === 'probe-sleep')).toMatchObject({ status: 'interrupted', resolved: false, skipped: false });

    const results = resultsIn(runsDir);
    const slept = results.get(sleepRun)!;
    expect(slept).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', exit_code: 130 });
    expect(slept.stages.at(-1)).toMatchObject({ name: 'tests_after', status: 'interrupted' });
    for (const [, r] of results) expect(['interrupted', 'passed']).toContain(r.status);
    for (const t of s.tasks) {
      const r = JSON.parse(fs.readFileSync(t.result_file!, 'utf8')) as RunResult;
      expect(r.status).toBe(t.status);
    }
    // No container of any run of this batch is left (other suites may have their own running).
    for (const runId of fs.readdirSync(runsDir).filter((d) => fs.statSync(path.join(runsDir, d)).isDirectory())) {
      expect(await listHarnessContainers(runId), runId).toEqual([]);
    }
  });
});
