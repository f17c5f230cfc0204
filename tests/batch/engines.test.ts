/**
 * A batch over several engines, with engines that are stand-ins (no Docker):
 * the split by slots, an engine lost mid-batch handing its tasks to the
 * others, an engine that never answers, every engine lost, and Ctrl-C.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch, type BatchItem, type BatchOptions, type EngineSlots } from '../../scripts/lib/batch/batch.js';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { EXIT_CODES, HarnessError } from '../../scripts/lib/core/errors.js';
import { defaultEngine } from '../../scripts/lib/engine/docker.js';
import type { Engine } from '../../scripts/lib/engine/engine.js';
import { blankResult } from '../../scripts/lib/run/outcome.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import { makeTask } from '../../scripts/lib/task/tasks.js';

/** A stand-in engine: it answers until `kill()`, and counts the runs it holds at once. */
class FakeEngine {
  readonly name = 'fake';
  readonly sharesHostFiles = true;
  alive = true;
  running = 0;
  most = 0;
  constructor(readonly label: string) {}
  kill(): void {
    this.alive = false;
  }
  async check(): Promise<void> {
    if (!this.alive) throw new HarnessError('engine', `Docker engine not reachable at ${this.label} (gone)`);
  }
  async inspectImage(name: string) {
    return { name, id: 'sha256:fake', created: '', labels: {}, size: 0 };
  }
}

const items = (n: number): BatchItem[] => Array.from({ length: n }, (_, i) => ({ task: makeTask({ task_id: `t${i}`, repo: 'fixture:statskit', ref: 'abc' }), patch: null }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A run on whatever engine the batch gives it (the default engine inside the
 * run): passes, or, when that engine dies during the run, an `error` naming it.
 */
function runOne(onRun?: (e: FakeEngine, n: number) => void): { fn: NonNullable<BatchOptions['runOne']>; ranOn: Map<string, string[]> } {
  const ranOn = new Map<string, string[]>();
  let n = 0;
  const fn: NonNullable<BatchOptions['runOne']> = async (item) => {
    const e = defaultEngine() as unknown as FakeEngine;
    e.running++;
    e.most = Math.max(e.most, e.running);
    onRun?.(e, n++);
    await sleep(15);
    e.running--;
    const result: RunResult = { ...blankResult(item.task), engine: e.label, status: 'passed', exit_code: 0, duration_s: 0.015 };
    if (!e.alive) Object.assign(result, { status: 'error', exit_code: EXIT_CODES.engine, error: `Docker engine not reachable at ${e.label} (lost)` });
    ranOn.set(item.task.task_id, [...(ranOn.get(item.task.task_id) ?? []), `${e.label}:${result.status}`]);
    return { result, resultFile: `/nowhere/${item.task.task_id}-${e.label}/result.json` };
  };
  return { fn, ranOn };
}

function batch(engines: FakeEngine[], slots: number[], run: BatchOptions['runOne'], signal = new AbortController().signal) {
  const lines: string[] = [];
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-engines-'));
  const opts: BatchOptions = {
    cfg: { ...DEFAULT_CONFIG, runsDir },
    workers: 1,
    image: 'img:1',
    timeouts: {},
    redoExisting: true,
    signal,
    progress: (line) => lines.push(line),
    runOne: run,
    engines: engines.map((e, i): EngineSlots => ({ engine: e as unknown as Engine, slots: slots[i]! })),
  };
  return { opts, lines, runsDir };
}

describe('a batch over several engines', () => {
  it('spreads the tasks over the engines within their slots, each task once, each entry naming its engine', async () => {
    const [a, b] = [new FakeEngine('A'), new FakeEngine('B')];
    const { fn, ranOn } = runOne();
    const { opts, lines } = batch([a, b], [2, 3], fn);
    const s = await runBatch(items(20), opts);
    expect(s.tasks).toHaveLength(20);
    expect(new Set(s.tasks.map((t) => t.task_id)).size).toBe(20);
    expect([...ranOn.values()].every((runs) => runs.length === 1)).toBe(true);
    expect(s.counts).toEqual({ passed: 20 });
    expect(a.most).toBeLessThanOrEqual(2);
    expect(b.most).toBeLessThanOrEqual(3);
    const on = (label: string) => s.tasks.filter((t) => t.engine === label).length;
    expect(on('A')).toBeGreaterThan(0);
    expect(on('B')).toBeGreaterThan(0);
    expect(on('A') + on('B')).toBe(20);
    expect(s.engines).toEqual([
      { engine: 'A', slots: 2, ran: on('A'), lost: null },
      { engine: 'B', slots: 3, ran: on('B'), lost: null },
    ]);
    expect(s.moved).toEqual([]);
    expect(s.workers).toBe(5);
    // The progress line counts per engine.
    expect(lines.at(-1)).toMatch(/^\[20\/20\] .* · A \d+ · B \d+$/);
  });

  it('moves the tasks of an engine lost mid-batch to the others: no task counted twice, the lost runs listed', async () => {
    const [a, b] = [new FakeEngine('A'), new FakeEngine('B')];
    // B dies during the fifth run of the batch; its runs in flight then end as errors naming it.
    const { fn, ranOn } = runOne((e, n) => n === 4 && b.kill());
    const { opts, lines } = batch([a, b], [1, 2], fn);
    const s = await runBatch(items(12), opts);
    expect(s.tasks).toHaveLength(12);
    expect(new Set(s.tasks.map((t) => t.task_id)).size).toBe(12);
    // Every task counted once, and passed: the lost runs ran again on A.
    expect(s.counts).toEqual({ passed: 12 });
    expect(s.engines!.find((e) => e.engine === 'B')!.lost).toMatch(/Docker engine not reachable at B/);
    expect(s.moved!.length).toBeGreaterThan(0);
    for (const m of s.moved!) {
      expect(m.engine).toBe('B');
      expect(ranOn.get(m.task_id)).toEqual(['B:error', 'A:passed']);
      expect(s.tasks.find((t) => t.task_id === m.task_id)).toMatchObject({ engine: 'A', status: 'passed' });
    }
    const ranB = s.tasks.filter((t) => t.engine === 'B').length;
    expect(s.engines!.find((e) => e.engine === 'B')!.ran).toBe(ranB);
    expect(lines.some((l) => /^engine B lost \(.*\): its tasks move to A$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/ · B \d+ lost$/);
  });

  it('gives no task to an engine that does not answer at the start', async () => {
    const [a, b] = [new FakeEngine('A'), new FakeEngine('B')];
    b.kill();
    const { fn } = runOne();
    const { opts } = batch([a, b], [2, 2], fn);
    const s = await runBatch(items(5), opts);
    expect(s.tasks.map((t) => t.engine)).toEqual(['A', 'A', 'A', 'A', 'A']);
    expect(s.engines).toEqual([
      { engine: 'A', slots: 2, ran: 5, lost: null },
      { engine: 'B', slots: 2, ran: 0, lost: expect.stringMatching(/not reachable at B/) },
    ]);
  });

  it('with every engine lost, keeps the last lost runs and records the tasks never started as engine errors', async () => {
    const [a, b] = [new FakeEngine('A'), new FakeEngine('B')];
    const { fn } = runOne((e, n) => {
      if (n === 1) b.kill();
      if (n === 2) a.kill();
    });
    const { opts } = batch([a, b], [1, 1], fn);
    const s = await runBatch(items(6), opts);
    expect(s.tasks).toHaveLength(6);
    expect(new Set(s.tasks.map((t) => t.task_id)).size).toBe(6);
    expect(s.counts.error).toBeGreaterThan(0);
    const never = s.tasks.filter((t) => t.status === 'error' && !t.engine);
    expect(never.length).toBeGreaterThan(0);
    for (const t of never) expect(JSON.parse(fs.readFileSync(t.result_file!, 'utf8'))).toMatchObject({ status: 'error', exit_code: EXIT_CODES.engine, error: expect.stringMatching(/^no engine left to run it/) });
    expect(s.engines!.every((e) => e.lost)).toBe(true);
  });

  it('stops taking tasks on Ctrl-C, on every engine', async () => {
    const [a, b] = [new FakeEngine('A'), new FakeEngine('B')];
    const ac = new AbortController();
    const { fn } = runOne((e, n) => n === 3 && ac.abort());
    const { opts } = batch([a, b], [1, 1], fn, ac.signal);
    const s = await runBatch(items(10), opts);
    expect(s.interrupted).toBe(true);
    expect(s.tasks.length).toBeLessThan(10);
    expect(a.running + b.running).toBe(0);
  });
});
