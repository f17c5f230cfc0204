import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/core/config.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { findTask, loadTasks, parseTasks, resolveTaskPatchPath, TASK_FIELDS } from '../../scripts/lib/task/tasks.js';
import { catchTaskError } from '../support/helpers.js';

const SEED = path.join(ROOT, 'seed_tasks.jsonl');
const GOOD = JSON.stringify({ task_id: 'good', repo: 'fixture:statskit', ref: 'main' });


describe('parseTasks', () => {
  it('fills defaults for omitted optional fields', () => {
    const [t] = parseTasks(GOOD, 'x.jsonl');
    expect(t).toEqual({
      task_id: 'good',
      repo: 'fixture:statskit',
      ref: 'main',
      pytest_k: null,
      tests: [],
      install: null,
      patch: null,
      timeouts: {},
      image: null,
      install_network: false,
      problem_statement: null,
      description: null,
    });
    expect(Object.keys(t!).sort()).toEqual([...TASK_FIELDS].sort());
  });

  it('keeps every field when given', () => {
    const row = {
      task_id: 'a.b_c-1',
      repo: 'https://github.com/pallets/markupsafe',
      ref: '2.1.5',
      pytest_k: 'escape and not slow',
      tests: ['tests/test_escape.py', 'tests/test_x.py::test_y[two words]'],
      install: 'pip install -e .',
      patch: 'tasks/x/fix.patch',
      timeouts: { clone: 120, install: 300.5, test: 1 },
      image: 'swebench-lite:py3.11',
      install_network: true,
      problem_statement: 'Issue text\nwith lines',
      description: 'desc',
    };
    expect(parseTasks(JSON.stringify(row), 'x.jsonl')).toEqual([row]);
  });

  it('ignores blank lines, comments, CRLF and a BOM; explicit nulls are accepted', () => {
    const text =
      '\uFEFF# a comment\r\n\r\n   \r\n  # indented comment\r\n' +
      JSON.stringify({ task_id: 't1', repo: '/srv/repo', ref: 'v1', pytest_k: null, install: null }) +
      '\r\n' +
      GOOD +
      '\r\n';
    const tasks = parseTasks(text, 'x.jsonl');
    expect(tasks.map((t) => t.task_id)).toEqual(['t1', 'good']);
    expect(tasks[0]!.pytest_k).toBeNull();
  });

  it('returns no tasks for an empty text', () => {
    expect(parseTasks('', 'x.jsonl')).toEqual([]);
  });

  const base = { task_id: 'bad', repo: 'fixture:statskit', ref: 'main' };
  const row = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });
  const without = (field: keyof typeof base) => {
    const copy: Record<string, unknown> = { ...base };
    delete copy[field];
    return JSON.stringify(copy);
  };

  // [case, bad line, text the message must contain (besides "file:line: ")]
  const malformed: [string, string, string][] = [
    ['bad JSON', '{"task_id": "x", "repo": ', 'invalid JSON'],
    ['trailing comma', '{"task_id": "x",}', 'invalid JSON'],
    ['not an object (array)', '[1, 2]', 'expected a JSON object, got an array'],
    ['not an object (string)', '"task"', 'expected a JSON object, got a string'],
    ['not an object (null)', 'null', 'expected a JSON object, got null'],
    ['missing task_id', without('task_id'), 'field "task_id" is required'],
    ['missing repo', without('repo'), 'field "repo" is required'],
    ['missing ref', without('ref'), 'field "ref" is required'],
    ['ref wrong type', row({ ref: 42 }), 'field "ref" must be a non-empty string, got 42'],
    ['ref empty', row({ ref: '' }), 'field "ref" must be a non-empty string, got ""'],
    ['ref option-like', row({ ref: '--upload-pack=x' }), 'field "ref"'],
    ['ref with space', row({ ref: 'a b' }), 'field "ref"'],
    ['repo wrong type', row({ repo: ['x'] }), 'field "repo" must be a non-empty string, got ["x"]'],
    ['repo option-like', row({ repo: '-oProxyCommand=x' }), 'field "repo" must not start with "-"'],
    ['repo bad fixture name', row({ repo: 'fixture:../etc' }), 'field "repo" must be "fixture:<name>"'],
    ['task_id wrong type', row({ task_id: 7 }), 'field "task_id" must be a non-empty string, got 7'],
    ['task_id with slash', row({ task_id: 'a/b' }), 'field "task_id" may only contain'],
    ['task_id with space', row({ task_id: 'a b' }), 'field "task_id" may only contain'],
    ['task_id dot-dot', row({ task_id: '..' }), 'field "task_id" may only contain'],
    ['task_id too long', row({ task_id: 'x'.repeat(200) }), 'field "task_id" must be at most'],
    ['unknown field (typo)', row({ 'pytest-k': 'x' }), 'unknown field "pytest-k" (did you mean "pytest_k"?)'],
    ['unknown fields', row({ tets: [], foo: 1 }), 'unknown fields "tets", "foo" (did you mean "tests"?)'],
    ['pytest_k wrong type', row({ pytest_k: 3 }), 'field "pytest_k" must be a non-empty string or null, got 3'],
    ['pytest_k empty', row({ pytest_k: '' }), 'field "pytest_k" must be a non-empty string or null'],
    ['install wrong type', row({ install: ['pip', 'install'] }), 'field "install" must be a non-empty string or null'],
    ['patch wrong type', row({ patch: true }), 'field "patch" must be a non-empty string or null, got true'],
    ['image wrong type', row({ image: 1 }), 'field "image" must be a non-empty string or null'],
    ['image with space', row({ image: 'a b' }), 'field "image" must be an image reference'],
    ['problem_statement wrong type', row({ problem_statement: {} }), 'field "problem_statement"'],
    ['description wrong type', row({ description: 0 }), 'field "description"'],
    ['tests not an array', row({ tests: 'tests/test_a.py' }), 'field "tests" must be an array of strings'],
    ['tests item wrong type', row({ tests: ['ok', 5] }), 'field "tests[1]" must be a non-empty string, got 5'],
    ['tests item option-like', row({ tests: ['--co'] }), 'field "tests[0]" must be a test path or node id'],
    ['install_network wrong type', row({ install_network: 'yes' }), 'field "install_network" must be true or false, got "yes"'],
    ['timeouts not an object', row({ timeouts: 30 }), 'field "timeouts" must be an object'],
    ['timeouts null', row({ timeouts: null }), 'field "timeouts" must be an object'],
    ['timeouts array', row({ timeouts: [1] }), 'field "timeouts" must be an object'],
    ['timeout negative', row({ timeouts: { clone: -1 } }), 'field "timeouts.clone" must be a positive number of seconds up to 604800, got -1'],
    ['timeout zero', row({ timeouts: { test: 0 } }), 'field "timeouts.test" must be a positive number of seconds up to 604800, got 0'],
    ['timeout string', row({ timeouts: { install: '30' } }), 'field "timeouts.install" must be a positive number of seconds up to 604800, got "30"'],
    ['timeout too long for a timer', row({ timeouts: { test: 3e9 } }), 'field "timeouts.test" must be a positive number of seconds up to 604800, got 3000000000'],
    ['timeout unknown key', row({ timeouts: { build: 3 } }), 'field "timeouts" has unknown key "build"; allowed keys: clone, install, test'],
    ['timeout key typo', row({ timeouts: { tests: 3 } }), 'field "timeouts" has unknown key "tests" (did you mean "test"?)'],
  ];

  it.each(malformed)('%s: names the file, line and field', (_name, badLine, expected) => {
    // line 1 good, 2 comment, 3 blank, 4 good, 5 bad
    const text = [GOOD, '# comment', '', JSON.stringify({ ...base, task_id: 'other' }), badLine, GOOD.replace('good', 'later')].join('\n');
    const err = catchTaskError(() => parseTasks(text, 'seed_tasks.jsonl'));
    expect(err.message.startsWith('seed_tasks.jsonl:5: ')).toBe(true);
    expect(err.message).toContain(expected);
    expect(err.message).not.toContain('\n');
  });

  it('rejects a duplicate task_id naming both lines', () => {
    const text = [GOOD, '', '# again', GOOD].join('\n');
    const err = catchTaskError(() => parseTasks(text, 'tasks.jsonl'));
    expect(err.message).toBe('tasks.jsonl:4: field "task_id": duplicate task_id "good" (lines 1 and 4)');
  });

  it('the exact message for a wrong type', () => {
    const text = ['', '', JSON.stringify({ task_id: 'x', repo: 'r', ref: 42 })].join('\n');
    const err = catchTaskError(() => parseTasks(text, 'seed_tasks.jsonl'));
    expect(err.message).toBe('seed_tasks.jsonl:3: field "ref" must be a non-empty string, got 42');
  });

  it('lists the allowed fields for an unknown one', () => {
    const err = catchTaskError(() => parseTasks(row({ zzz: 1 }), 'f.jsonl'));
    expect(err.message).toBe(`f.jsonl:1: unknown field "zzz"; allowed fields: ${TASK_FIELDS.join(', ')}`);
  });

  it('shortens long values in messages', () => {
    const err = catchTaskError(() => parseTasks(row({ ref: 'x'.repeat(500).split('') }), 'f.jsonl'));
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).toContain('...');
  });
});

describe('findTask', () => {
  const tasks = parseTasks(['a', 'b', 'c'].map((id) => JSON.stringify({ task_id: id, repo: 'r', ref: 'main' })).join('\n'), 'x');

  it('finds by id', () => {
    expect(findTask(tasks, 'b').task_id).toBe('b');
  });

  it('names the unknown id and lists the known ones', () => {
    const err = catchTaskError(() => findTask(tasks, 'x'));
    expect(err.message).toBe('unknown task id "x"; known ids: a, b, c');
  });
});

describe('resolveTaskPatchPath', () => {
  it('resolves relative paths against the project root, keeps absolute ones, null stays null', () => {
    expect(resolveTaskPatchPath({ patch: 'tasks/statskit/fix.patch' })).toBe(path.join(ROOT, 'tasks', 'statskit', 'fix.patch'));
    expect(resolveTaskPatchPath({ patch: '/tmp/x/../p.diff' })).toBe(path.normalize('/tmp/p.diff'));
    expect(resolveTaskPatchPath({ patch: null })).toBeNull();
    expect(resolveTaskPatchPath({ patch: 'p.diff' }, '/other')).toBe(path.resolve('/other', 'p.diff'));
  });
});

describe('loadTasks', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'swe-tasks-'));
    try {
      const file = path.join(dir, 'mine.jsonl');
      await fs.writeFile(file, `${GOOD}\n{"task_id": "y", "repo": "r"}\n`);
      await expect(loadTasks(file)).rejects.toThrow(`${file}:2: field "ref" is required`);
      await fs.writeFile(file, `${GOOD}\n`);
      expect((await loadTasks(file)).map((t) => t.task_id)).toEqual(['good']);
      await fs.writeFile(file, '# nothing\n\n');
      await expect(loadTasks(file)).rejects.toThrow(`${file}: no tasks in file`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing file is a task error naming it', async () => {
    const missing = path.join(os.tmpdir(), 'swe-harness-no-such-file.jsonl');
    const err = await loadTasks(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('task');
    expect((err as HarnessError).message).toBe(`cannot read task file ${missing}: no such file`);
  });
});

describe('the shipped seed_tasks.jsonl', () => {
  it('loads, has the offline demo, and every patch file exists', async () => {
    const tasks = await loadTasks(SEED);
    const demo = findTask(tasks, 'demo-statskit');
    expect(demo.repo).toBe('fixture:statskit');
    expect(demo.ref).toMatch(/^[0-9a-f]{40}$/);
    expect(demo.install_network).toBe(false);
    expect(demo.problem_statement).toBeTruthy();
    for (const t of tasks) {
      const patch = resolveTaskPatchPath(t);
      if (patch) expect(existsSync(patch), `${t.task_id}: ${patch}`).toBe(true);
      if (t.repo.startsWith('fixture:')) {
        expect(t.ref, t.task_id).toMatch(/^[0-9a-f]{40}$/);
        expect(t.install_network, t.task_id).toBe(false);
      } else {
        expect(t.description ?? '', t.task_id).toMatch(/internet/i);
      }
    }
  });

  it('has a passing-selection task, a failing task and online tasks', async () => {
    const tasks = await loadTasks(SEED);
    expect(findTask(tasks, 'statskit-passing').pytest_k).toBeTruthy();
    expect(findTask(tasks, 'frametools-failing').tests.length).toBeGreaterThan(0);
    expect(tasks.filter((t) => t.repo.startsWith('https://')).length).toBeGreaterThanOrEqual(2);
  });
});
