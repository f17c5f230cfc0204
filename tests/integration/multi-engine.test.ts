/**
 * run-many over two engines at once: this machine's and a second dockerd in
 * its own network namespace (tests/support/second-engine.ts), reached only
 * through its socket. A batch split over both, Ctrl-C across both, and the
 * second engine killed mid-batch (its tasks finish on the first, no task
 * counted twice). Needs root (dockerd, ip netns).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../scripts/lib/batch/batch.js';
import { OWNER_LABELS, ROOT } from '../../scripts/lib/core/config.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import { secondEngine } from '../support/second-engine.js';

const ROOT_USER = process.getuid?.() === 0;
const engine2 = secondEngine(`swh-multi-${process.pid}`);
const URL = engine2.url;
/** Stage limits with room for a loaded 2-core machine. */
const LIMITS = ['--clone-timeout', '60', '--install-timeout', '120', '--test-timeout', '90'];

const made: string[] = [];
const tmpDir = (tag: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `swe-harness-multi-${tag}-`));
  made.push(d);
  return d;
};

/** A tasks file holding `n` copies of a shipped task under ids `<id>-<i>`. */
function copiesOf(taskId: string, n: number, dir: string): string {
  const row = fs.readFileSync(path.join(ROOT, 'seed_tasks.jsonl'), 'utf8').split('\n').find((l) => l.includes(`"task_id": "${taskId}"`))!;
  const task = JSON.parse(row) as Record<string, unknown>;
  const file = path.join(dir, 'tasks.jsonl');
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ ...task, task_id: `${taskId}-${i}` })).join('\n') + '\n');
  return file;
}

function runMany(args: string[]): { child: ChildProcess; done: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-many.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, done, stderr: () => stderr };
}

const summaryOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as BatchSummary;
const resultOf = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as RunResult;

/** Ids of the containers a harness process (by pid) holds on an engine. */
function containersOf(pid: number, engine: 'local' | 'second'): string[] {
  const args = ['ps', '-aq', '--filter', `label=${OWNER_LABELS.pid}=${pid}`];
  const r = engine === 'second' ? engine2.docker(args) : spawnSync('docker', args, { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean);
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!ROOT_USER)('run-many over two engines', () => {
  beforeAll(async () => {
    await engine2.start();
  }, 120_000);

  afterAll(async () => {
    await engine2.remove();
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('splits a batch over both engines: both used, every task graded once, each result naming its engine', async () => {
    const dir = tmpDir('split');
    const run = runMany(['--tasks', copiesOf('demo-statskit', 6, dir), '--task-patch', '--engine', 'local=2', '--engine', `${URL}=2`, '--runs-dir', path.join(dir, 'runs'), ...LIMITS]);
    expect(await run.done, run.stderr()).toBe(0);
    const s = summaryOf(path.join(dir, 'runs'));
    expect(s).toMatchObject({ total: 6, ran: 6, resolved: 6, workers: 4, interrupted: false, moved: [] });
    expect(s.tasks.map((t) => t.task_id).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `demo-statskit-${i}`));
    const engines = s.tasks.map((t) => t.engine);
    expect(engines).toContain('local');
    expect(engines).toContain(URL);
    for (const t of s.tasks) expect(resultOf(t.result_file!)).toMatchObject({ task_id: t.task_id, status: 'passed', engine: t.engine });
    // One result per task on disk: nothing ran twice.
    expect(fs.readdirSync(path.join(dir, 'runs')).filter((d) => fs.existsSync(path.join(dir, 'runs', d, 'result.json')))).toHaveLength(6);
    expect(s.engines).toEqual([
      { engine: 'local', slots: 2, ran: engines.filter((e) => e === 'local').length, lost: null },
      { engine: URL, slots: 2, ran: engines.filter((e) => e === URL).length, lost: null },
    ]);
    // The progress line counts per engine; the image was streamed to the second engine (it had none).
    expect(run.stderr()).toMatch(new RegExp(`^\\[6/6\\] .* · local \\d+ · ${URL.replace(/[/.]/g, '\\$&')} \\d+$`, 'm'));
    expect(engine2.docker(['images', '-q']).stdout.trim()).not.toBe('');
  }, 600_000);

  it('Ctrl-C across engines: exit 130, the runs interrupted, nothing left on either engine', async () => {
    const dir = tmpDir('sigint');
    const run = runMany(['--tasks', copiesOf('probe-sleep', 4, dir), '--engine', 'local=1', '--engine', `${URL}=1`, '--runs-dir', path.join(dir, 'runs'), ...LIMITS]);
    const pid = run.child.pid!;
    await until('a run in flight on each engine', () => containersOf(pid, 'local').length > 0 && containersOf(pid, 'second').length > 0, 180_000);
    await new Promise((r) => setTimeout(r, 5000));
    run.child.kill('SIGINT');
    expect(await run.done, run.stderr()).toBe(130);
    expect(containersOf(pid, 'local')).toEqual([]);
    expect(containersOf(pid, 'second')).toEqual([]);
    const s = summaryOf(path.join(dir, 'runs'));
    expect(s.interrupted).toBe(true);
    expect(s.tasks.map((t) => [t.status, t.engine]).sort()).toEqual([['interrupted', 'local'], ['interrupted', URL]].sort());
  }, 600_000);

  it('the second engine killed mid-batch: its tasks finish on the first, none counted twice, the lost runs errors naming it', async () => {
    const dir = tmpDir('lost');
    const runs = path.join(dir, 'runs');
    const run = runMany(['--tasks', copiesOf('demo-statskit', 6, dir), '--task-patch', '--engine', 'local=1', '--engine', `${URL}=2`, '--runs-dir', runs, '--no-snapshot', ...LIMITS]);
    await until('a run in flight on the second engine', () => containersOf(run.child.pid!, 'second').length > 0, 180_000);
    await new Promise((r) => setTimeout(r, 2000));
    await engine2.stop();
    expect(await run.done, run.stderr()).toBe(0);
    const s = summaryOf(runs);
    // Every task once, every one resolved: the lost runs ran again on the local engine.
    expect(s.tasks.map((t) => t.task_id).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `demo-statskit-${i}`));
    expect(s).toMatchObject({ total: 6, resolved: 6, interrupted: false });
    expect(s.engines!.find((e) => e.engine === URL)!.lost).toContain(URL);
    expect(s.moved!.length).toBeGreaterThan(0);
    for (const m of s.moved!) {
      expect(m.engine).toBe(URL);
      // The lost run's result stays on disk, an error naming the engine; the one counted is the re-run on the local engine.
      expect(resultOf(m.result_file!)).toMatchObject({ task_id: m.task_id, status: 'error', engine: URL, error: expect.stringContaining(URL) });
      const counted = s.tasks.find((t) => t.task_id === m.task_id)!;
      expect(counted).toMatchObject({ engine: 'local', status: 'passed' });
      expect(counted.result_file).not.toBe(m.result_file);
    }
    expect(run.stderr()).toMatch(new RegExp(`engine ${URL.replace(/[/.]/g, '\\$&')} lost \\(.*\\): its tasks move to local`));
    expect(containersOf(run.child.pid!, 'local')).toEqual([]);
  }, 600_000);
});
