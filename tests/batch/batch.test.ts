/** What makes a result "already done": the cache key and the index of done runs. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexDone } from '../../scripts/lib/batch/batch.js';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { cacheKey } from '../../scripts/lib/run/keys.js';
import { makeTask } from '../../scripts/lib/task/tasks.js';
import type { Task } from '../../scripts/lib/core/types.js';

const task: Task = makeTask({ task_id: 't', repo: 'fixture:statskit', ref: 'abc' });
const image = { name: 'img:1', id: 'sha256:1' };
const t = DEFAULT_CONFIG.timeouts;
const base = cacheKey(task, image, 'p1', t);

describe('cache key', () => {
  it('is stable and ignores the order of fields', () => {
    const reordered = Object.fromEntries(Object.entries(task).reverse()) as unknown as Task;
    expect(cacheKey(reordered, image, 'p1', { ...t })).toBe(base);
  });

  it.each([
    ['a changed patch', cacheKey(task, image, 'p2', t)],
    ['no patch', cacheKey(task, image, null, t)],
    ['a rebuilt image', cacheKey(task, { ...image, id: 'sha256:2' }, 'p1', t)],
    ['a longer test limit', cacheKey(task, image, 'p1', { ...t, test: t.test + 1 })],
    ['another task field', cacheKey({ ...task, pytest_k: 'x' }, image, 'p1', t)],
    ['the agent instead of a plain run', cacheKey(task, image, 'p1', t, 'agent:m')],
  ])('changes with %s', (_what, key) => {
    expect(key).not.toBe(base);
  });
});

describe('indexDone', () => {
  it('counts finished results and leaves out interrupted and errored ones and stray files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-index-'));
    const put = (name: string, body: string) => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'result.json'), body);
    };
    put('1-a', JSON.stringify({ cache_key: 'k-passed', status: 'passed' }));
    put('2-b', JSON.stringify({ cache_key: 'k-failed', status: 'failed' }));
    put('3-c', JSON.stringify({ cache_key: 'k-int', status: 'interrupted' }));
    put('4-d', JSON.stringify({ cache_key: 'k-err', status: 'error' }));
    put('5-e', '{ half written');
    put('6-f', JSON.stringify({ cache_key: 'k-rejected', status: 'patch_rejected', exit_code: 5 }));
    // Bad input (usage exit code) would fail the same way again: done. An engine error (3) is not.
    put('7-g', JSON.stringify({ cache_key: 'k-bad-input', status: 'error', exit_code: 2 }));
    put('8-h', JSON.stringify({ cache_key: 'k-engine', status: 'error', exit_code: 3 }));
    fs.writeFileSync(path.join(dir, 'summary.json'), '{}');
    expect([...indexDone(dir).keys()].sort()).toEqual(['k-bad-input', 'k-failed', 'k-passed', 'k-rejected']);
  });
});
