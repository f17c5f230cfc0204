/**
 * Instances whose suites run under their projects' own runners, end to end on
 * the real engine: django's tests/runtests.py (log parser "django") and sympy's
 * bin/test ("sympy"), on the fixture repos tests/fixtures/minidjango and
 * minisympy with tests/fixtures/runner-instances.jsonl and runner-specs.json.
 * Their FAIL_TO_PASS / PASS_TO_PASS ids are the keys the parsers produced from
 * real runs; swe-harness__minidjango-2 is minidjango-1 with the ids of a
 * Python 3.9 run (`test_x (app.tests.Class)`), graded in the image's 3.11.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import type { PatchInput } from '../../scripts/lib/core/types.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTaskSet, patchFor } from '../../scripts/lib/task/taskset.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { runnerForTask } from '../../scripts/lib/testing/runner.js';
import { readJsonl } from '../support/helpers.js';

const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
const INSTANCES = path.join(FIXTURES, 'runner-instances.jsonl');
const SPECS = path.join(FIXTURES, 'runner-specs.json');
const DJANGO = 'swe-harness__minidjango-1';
const DJANGO_OLD_IDS = 'swe-harness__minidjango-2';
const SYMPY = 'swe-harness__minisympy-1';
/** The PASS_TO_PASS test each fixture's break.diff breaks (the docstring is django's id for it). */
const BROKEN: Record<string, string> = {
  [DJANGO]: 'Accented letters become their ASCII base letters.',
  [DJANGO_OLD_IDS]: 'Accented letters become their ASCII base letters.',
  [SYMPY]: 'test_taylor_polynomial',
};
const fixtureOf = (id: string) => (id === SYMPY ? 'minisympy' : 'minidjango');

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-runners-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir };
const timeouts = { clone: 60, install: 120, test: 90 };
const rows = readJsonl(INSTANCES);
let tasks: InstanceTask[];

beforeAll(async () => {
  tasks = (await loadTaskSet({ instancesFile: INSTANCES, specsFiles: [SPECS] })).filter(isInstanceTask);
  expect(tasks.map((t) => t.task_id)).toEqual([DJANGO, DJANGO_OLD_IDS, SYMPY]);
});

const task = (id: string) => tasks.find((t) => t.task_id === id)!;
const breakPatch = (id: string): PatchInput => ({ text: fs.readFileSync(path.join(FIXTURES, fixtureOf(id), 'break.diff'), 'utf8'), source: 'break.diff' });

describe('the runner instances file', () => {
  it.each([DJANGO, DJANGO_OLD_IDS, SYMPY])('pins %s to the commit its fixture builds', async (id) => {
    const row = rows.find((r) => r.instance_id === id)!;
    const { head } = await ensureFixture(fixtureOf(id));
    expect(row.repo).toBe(`swe-harness/${fixtureOf(id)}`);
    expect(row.base_commit, `${id}: runner-instances.jsonl base_commit is stale; the fixture builds ${head}`).toBe(head);
  });

  it('takes the test command and log parser from the specs, and gives django labels, not file paths', () => {
    const dj = task(DJANGO);
    expect(dj.log_parser).toBe('django');
    expect(dj.tests).toEqual(['tests/slugged_models/tests.py', 'tests/text_utils/tests.py']);
    const argv = runnerForTask(dj).argv({ k: null, tests: dj.tests, command: dj.test_cmd });
    expect(argv.slice(-2)).toEqual(['slugged_models.tests', 'text_utils.tests']);
    expect(task(SYMPY).log_parser).toBe('sympy');
    expect(runnerForTask(task(SYMPY)).argv({ k: null, tests: task(SYMPY).tests, command: task(SYMPY).test_cmd }).slice(-1)).toEqual([
      'minisympy/tests/test_calculus.py',
    ]);
  });

  it('writes minidjango-2 with the Python < 3.11 ids of the same tests, docstring ids unchanged', () => {
    const py311 = task(DJANGO);
    const old = task(DJANGO_OLD_IDS);
    expect(old.fail_to_pass).toContain('test_slug_of_decorated_title (slugged_models.tests.ArticleSlugTests)');
    expect(py311.fail_to_pass).toContain('test_slug_of_decorated_title (slugged_models.tests.ArticleSlugTests.test_slug_of_decorated_title)');
    expect(old.pass_to_pass).toContain('Accented letters become their ASCII base letters.');
    expect(old.pass_to_pass).toHaveLength(py311.pass_to_pass.length);
  });
});

describe('runner instances on the real engine', () => {
  it.each([DJANGO, DJANGO_OLD_IDS, SYMPY])('resolves %s with its gold patch', async (id) => {
    const t = task(id);
    const { result } = await runTask(t, { cfg, timeouts, patch: patchFor(t, { kind: 'task' }) });
    expect(result.error).toBeNull();
    expect(result.status).toBe('passed');
    expect(result.resolved).toBe(true);
    expect(result.grading!.fail_to_pass).toEqual({ success: t.fail_to_pass, failure: [] });
    expect(result.grading!.pass_to_pass).toEqual({ success: t.pass_to_pass, failure: [] });
    const keys = Object.keys(result.after!.tests);
    if (id === DJANGO_OLD_IDS) {
      // Python 3.11 printed the new form; the published old form still matched it.
      expect(keys).toContain('test_slug_of_decorated_title (slugged_models.tests.ArticleSlugTests.test_slug_of_decorated_title)');
      expect(keys).not.toContain('test_slug_of_decorated_title (slugged_models.tests.ArticleSlugTests)');
    } else {
      // The published ids are the parser's own keys, verbatim.
      for (const tid of [...t.fail_to_pass, ...t.pass_to_pass]) expect(result.after!.tests[tid], tid).toBe('PASSED');
    }
    if (id !== SYMPY) {
      // Only the labels' apps ran: utils_misc, which the test patch does not touch, did not.
      expect(keys.filter((k) => k.includes('utils_misc') || k.includes('MiscTests'))).toEqual([]);
      expect(result.after!.counts.passed).toBe(11);
    } else {
      // sympy tags the last test of a file with [OK] on its line: SWE-bench's parser never sees it.
      expect(keys).not.toContain('test_bad_order');
      expect(result.after!.counts.passed).toBe(8);
    }
  });

  it.each([DJANGO, DJANGO_OLD_IDS, SYMPY])('leaves %s unresolved with the test patch only', async (id) => {
    const t = task(id);
    const { result } = await runTask(t, { cfg, timeouts, patch: null });
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.grading!.fail_to_pass).toEqual({ success: [], failure: t.fail_to_pass });
    expect(result.grading!.pass_to_pass).toEqual({ success: t.pass_to_pass, failure: [] });
  });

  it.each([DJANGO, DJANGO_OLD_IDS, SYMPY])('leaves %s unresolved with a fix that breaks a PASS_TO_PASS test, naming it', async (id) => {
    const t = task(id);
    const { result } = await runTask(t, { cfg, timeouts, patch: breakPatch(id) });
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.grading!.fail_to_pass).toEqual({ success: t.fail_to_pass, failure: [] });
    expect(result.grading!.pass_to_pass.failure).toEqual([BROKEN[id]]);
    expect(result.after!.tests[BROKEN[id]!]).toBe('FAILED');
  });

  it('hands runtests.py the test labels made from the touched files', async () => {
    // The same test command behind a shell that first prints what it was given.
    const t = { ...task(DJANGO), test_cmd: `sh -c 'echo "runtests.py got: $*"; exec "$0" "$@"' ${task(DJANGO).test_cmd}` };
    const { result, runDir } = await runTask(t, { cfg, timeouts, patch: patchFor(t, { kind: 'task' }) });
    expect(result.resolved).toBe(true);
    const log = fs.readFileSync(path.join(runDir, 'tests_after.log'), 'utf8');
    expect(log).toContain('runtests.py got: --verbosity 2 --settings=test_sqlite --parallel 1 slugged_models.tests text_utils.tests\n');
  });

  it('grades the same way through run-one on the command line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-runners-cli-'));
    const args = ['--instances', INSTANCES, '--specs', SPECS, '--task-id', SYMPY, '--gold', '--json', '--quiet', '--runs-dir', dir, '--test-timeout', '90'];
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('passed');
    expect(result.grading.fail_to_pass.success).toEqual(task(SYMPY).fail_to_pass);
  });
});
