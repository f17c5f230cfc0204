import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readResult, shortTail, TAIL_LINES } from '../../scripts/lib/run/result.js';
import { indexDone } from '../../scripts/lib/batch/batch.js';
import { compactInstanceRun, inlineV1Run, inlineV2Run, TEST_LOG } from '../support/report-fixtures.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'result-layout-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the compact result.json', () => {
  it('keeps the leading keys in order, the short fields inline and the details beside it', () => {
    const run = path.join(dir, 'run');
    const full = compactInstanceRun(run);
    const text = fs.readFileSync(path.join(run, 'result.json'), 'utf8');
    const onDisk = JSON.parse(text);
    expect(Object.keys(onDisk).slice(0, 7)).toEqual(['task_id', 'repo', 'ref', 'pytest_k', 'status', 'duration_s', 'tail']);
    expect(Object.keys(onDisk).at(-1)).toBe('details');
    expect(onDisk.after).toEqual({ status: 'failed', exit_code: 1, collected: 4, counts: full.after!.counts, note: null });
    expect(onDisk.grading).toBeUndefined();
    expect(onDisk.resolved).toBe(false);
    expect(onDisk.tail.split('\n').length).toBeLessThanOrEqual(TAIL_LINES);
    expect(onDisk.details).toEqual({ tests: 'tests.json', tests_before_tail: 'tests_before.tail.txt', tests_after_tail: 'tests_after.tail.txt', tail: 'tests_after.tail.txt', report: 'report.json' });
    expect(text.length).toBeLessThan(3000);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'tests.json'), 'utf8')).after).toEqual(full.after!.tests);
  });

  it('reads back into the full result, grading from report.json', () => {
    const run = path.join(dir, 'run');
    const full = compactInstanceRun(run);
    expect(readResult(path.join(run, 'result.json'))).toEqual(full);
  });

  it('reads the older inline layouts as they are', () => {
    inlineV1Run(path.join(dir, 'v1'));
    inlineV2Run(path.join(dir, 'v2'));
    const v1 = readResult(path.join(dir, 'v1', 'result.json'));
    expect(v1.after!.tests).toEqual({ 'tests/test_a.py::test_one': 'PASSED', 'tests/test_a.py::test_two': 'PASSED' });
    expect(v1.resolved).toBeUndefined();
    const v2 = readResult(path.join(dir, 'v2', 'result.json'));
    expect(v2.grading!.resolved).toBe(true);
    expect(v2.cache_key).toBe('beef');
  });

  it('says why a result cannot be read', () => {
    expect(() => readResult(path.join(dir, 'nope', 'result.json'))).toThrow(/no such file/);
    fs.writeFileSync(path.join(dir, 'result.json'), '{"task_id": "x", "sta');
    expect(() => readResult(path.join(dir, 'result.json'))).toThrow(/JSON/);
    fs.writeFileSync(path.join(dir, 'result.json'), '[]');
    expect(() => readResult(path.join(dir, 'result.json'))).toThrow(/not a run result \(no status\)/);
  });

  it('skip-existing finds results of both layouts by cache key', () => {
    compactInstanceRun(path.join(dir, 'a'));
    inlineV2Run(path.join(dir, 'b'));
    fs.mkdirSync(path.join(dir, 'c'));
    fs.writeFileSync(path.join(dir, 'c', 'result.json'), '{broken');
    const done = indexDone(dir);
    expect([...done.keys()].sort()).toEqual(['beef', 'c0ffee']);
    expect(done.get('c0ffee')!.result.status).toBe('failed');
  });

  it('cuts the tail to its last lines', () => {
    expect(shortTail(TEST_LOG).split('\n')).toEqual(TEST_LOG.split('\n').slice(-TAIL_LINES));
    expect(shortTail('a\nb\n')).toBe('a\nb\n');
    expect(shortTail('x'.repeat(5000)).length).toBe(2000);
  });
});
