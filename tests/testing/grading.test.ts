import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/core/config.js';
import { cutForm, gradeInstance, matchTestIds, matchTestStatus, swebenchRewrites } from '../../scripts/lib/testing/grading.js';
import { parsePytestOutput } from '../../scripts/lib/testing/pytest.js';
import type { TestStatus } from '../../scripts/lib/core/types.js';

const FILES = ['tests/test_a.py', 'tests/test_b.py'];

/** A status map as pytest.ts builds it: full node ids, spaces kept. */
const STATUSES: Record<string, TestStatus> = {
  'tests/test_a.py::test_plain': 'PASSED',
  'tests/test_a.py::test_label[two words]': 'PASSED',
  'tests/test_a.py::test_label[two things]': 'FAILED',
  'tests/test_a.py::test_label[one]': 'PASSED',
  'tests/test_a.py::test_param[1]': 'PASSED',
  'tests/test_a.py::test_param[2]': 'PASSED',
  'tests/test_a.py::TestThing::test_method': 'FAILED',
  'tests/test_a.py::TestThing::test_other[x-y]': 'PASSED',
  'tests/test_a.py::test_expected_fail': 'XFAIL',
  'tests/test_a.py::test_unexpected_pass': 'XPASS',
  'tests/test_a.py::test_skipped': 'SKIPPED',
  'tests/test_b.py::test_plain': 'ERROR',
  'tests/test_b.py::test_only_b': 'PASSED',
  'tests/other/test_c.py::test_only_c': 'PASSED',
  'tests/test_a.py::test_path[/home/user/data/file.txt]': 'PASSED',
  'tests/test_a.py::test_click[MouseButton.LEFT-expected0]': 'PASSED',
  'tests/test_b.py::test_url[http://x/y]': 'PASSED',
};

describe('cutForm and swebenchRewrites', () => {
  it.each([
    ['tests/t.py::test_x', 'tests/t.py::test_x'],
    ['tests/t.py::test_x[two words]', 'tests/t.py::test_x[two'],
    ['tests/t.py::test_x[a\tb]', 'tests/t.py::test_x[a'],
    ['tests/t.py::test_x[a-b]', 'tests/t.py::test_x[a-b]'],
  ])('cuts %j to %j', (id, cut) => {
    expect(cutForm(id)).toBe(cut);
  });

  it.each([
    ['t.py::test_p[/home/u/x.txt]', 't.py::test_p[/x.txt]'],
    ['t.py::test_p[//server/x]', 't.py::test_p[//server/x]'],
    ['t.py::test_p[/a/*.py]', 't.py::test_p[/a/*.py]'],
    ['t.py::test_p[rel/x]', 't.py::test_p[rel/x]'],
    ['t.py::test_c[MouseButton.RIGHT-1]', 't.py::test_c[3-1]'],
    ['t.py::test_plain', 't.py::test_plain'],
  ])('rewrites %j to %j as SWE-bench\'s per-repo parsers do', (id, rewritten) => {
    expect(swebenchRewrites(id)).toBe(rewritten);
  });
});

describe('matchTestStatus', () => {
  it.each<[string, string, string[]]>([
    ['a full node id exactly', 'tests/test_a.py::test_plain', ['tests/test_a.py::test_plain']],
    ['a full node id with spaces exactly', 'tests/test_a.py::test_label[two words]', ['tests/test_a.py::test_label[two words]']],
    ['a node id cut at the first space (every test with that cut form)', 'tests/test_a.py::test_label[two', ['tests/test_a.py::test_label[two words]', 'tests/test_a.py::test_label[two things]']],
    ['a parametrised id', 'tests/test_a.py::test_param[2]', ['tests/test_a.py::test_param[2]']],
    ['a Class::test id', 'tests/test_a.py::TestThing::test_method', ['tests/test_a.py::TestThing::test_method']],
    ['a bare name within the touched files (all files with it)', 'test_plain', ['tests/test_a.py::test_plain', 'tests/test_b.py::test_plain']],
    ['a bare name only in one touched file', 'test_only_b', ['tests/test_b.py::test_only_b']],
    ['a bare name in a file that was not touched', 'test_only_c', []],
    ['a bare name without its parameters (every parametrisation)', 'test_param', ['tests/test_a.py::test_param[1]', 'tests/test_a.py::test_param[2]']],
    ['a bare name with its parameters', 'test_param[1]', ['tests/test_a.py::test_param[1]']],
    ['a bare name with cut parameters', 'test_label[two', ['tests/test_a.py::test_label[two words]', 'tests/test_a.py::test_label[two things]']],
    ['a bare method name', 'test_method', ['tests/test_a.py::TestThing::test_method']],
    ['a bare Class::test name', 'TestThing::test_other[x-y]', ['tests/test_a.py::TestThing::test_other[x-y]']],
    ['a bare Class::test name without parameters', 'TestThing::test_other', ['tests/test_a.py::TestThing::test_other[x-y]']],
    ['a bare name under the wrong class', 'OtherThing::test_method', []],
    ['a requests-style shortened path parameter', 'tests/test_a.py::test_path[/file.txt]', ['tests/test_a.py::test_path[/home/user/data/file.txt]']],
    ['a matplotlib-style mouse button parameter', 'tests/test_a.py::test_click[1-expected0]', ['tests/test_a.py::test_click[MouseButton.LEFT-expected0]']],
    ['a full id of a test that did not run', 'tests/test_a.py::test_missing', []],
    ['a full id in another file (no bare-name fallback for paths)', 'tests/test_x.py::test_plain', []],
    ['a parametrised bare name with unknown parameters', 'test_param[3]', []],
    ['a prefix of a name', 'test_pla', []],
    ['a bare name with a slash in its parameters', 'test_url[http://x/y]', ['tests/test_b.py::test_url[http://x/y]']],
  ])('matches %s', (_name, expected, ids) => {
    expect(matchTestIds(expected, STATUSES, FILES)).toEqual(ids);
    expect(matchTestStatus(expected, STATUSES, FILES)).toEqual(ids.map((id) => STATUSES[id]));
  });

  it('prefers an exact parameter match over every parametrisation', () => {
    const statuses: Record<string, TestStatus> = { 't.py::test_x': 'PASSED', 't.py::test_x[1]': 'FAILED' };
    expect(matchTestIds('test_x', statuses, ['t.py'])).toEqual(['t.py::test_x']);
  });

  it('looks at every run test for a bare name when no test file is known', () => {
    expect(matchTestIds('test_only_c', STATUSES, [])).toEqual(['tests/other/test_c.py::test_only_c']);
  });

  it('accepts test files written with a leading ./', () => {
    expect(matchTestIds('test_only_b', STATUSES, ['./tests/test_b.py'])).toEqual(['tests/test_b.py::test_only_b']);
  });

  it('returns nothing for an empty status map', () => {
    expect(matchTestStatus('test_plain', {}, FILES)).toEqual([]);
  });
});

describe('gradeInstance', () => {
  const statuses: Record<string, TestStatus> = {
    't.py::test_fixed': 'PASSED',
    't.py::test_fixed_too[a b]': 'PASSED',
    't.py::test_still_broken': 'FAILED',
    't.py::test_old': 'PASSED',
    't.py::test_old_broken': 'FAILED',
    't.py::test_old_error': 'ERROR',
    't.py::test_xfail': 'XFAIL',
    't.py::test_xpass': 'XPASS',
    't.py::test_skip': 'SKIPPED',
    't.py::test_mixed[1]': 'PASSED',
    't.py::test_mixed[2]': 'FAILED',
  };
  const files = ['t.py'];

  it.each<[string, string[], string[], boolean]>([
    ['resolved when every FAIL_TO_PASS and PASS_TO_PASS test passes', ['t.py::test_fixed', 't.py::test_fixed_too[a'], ['t.py::test_old'], true],
    ['unresolved when a FAIL_TO_PASS test still fails', ['t.py::test_fixed', 't.py::test_still_broken'], ['t.py::test_old'], false],
    ['unresolved when a PASS_TO_PASS test breaks', ['t.py::test_fixed'], ['t.py::test_old', 't.py::test_old_broken'], false],
    ['unresolved when a PASS_TO_PASS test errors', ['t.py::test_fixed'], ['t.py::test_old_error'], false],
    ['unresolved when an expected test did not run at all', ['t.py::test_fixed', 't.py::test_gone'], [], false],
    ['resolved with an XFAIL counted as a pass (SWE-bench test_passed)', ['t.py::test_xfail'], ['t.py::test_xfail'], true],
    ['unresolved with an XPASS, which SWE-bench never records', ['t.py::test_xpass'], [], false],
    ['unresolved with a skipped FAIL_TO_PASS test', ['t.py::test_skip'], [], false],
    ['resolved with a skipped PASS_TO_PASS test (SWE-bench test_maintained)', ['t.py::test_fixed'], ['t.py::test_skip'], true],
    ['unresolved when one of several tests an id denotes fails', ['test_mixed'], [], false],
    ['resolved with an empty FAIL_TO_PASS when PASS_TO_PASS passes (empty rate counts as 1)', [], ['t.py::test_old'], true],
    ['resolved with both lists empty, as SWE-bench computes it', [], [], true],
  ])('is %s', (_name, f2p, p2p, resolved) => {
    expect(gradeInstance({ fail_to_pass: f2p, pass_to_pass: p2p }, statuses, files).resolved).toBe(resolved);
  });

  it('reports success and failure per list in the shape of SWE-bench\'s tests_status', () => {
    const grading = gradeInstance(
      {
        fail_to_pass: ['t.py::test_fixed', 't.py::test_still_broken', 'test_gone'],
        pass_to_pass: ['t.py::test_old', 't.py::test_old_broken', 'test_skip'],
      },
      statuses,
      files,
    );
    expect(grading).toEqual({
      resolved: false,
      fail_to_pass: { success: ['t.py::test_fixed'], failure: ['t.py::test_still_broken', 'test_gone'] },
      pass_to_pass: { success: ['t.py::test_old', 'test_skip'], failure: ['t.py::test_old_broken'] },
    });
  });
});

/**
 * SWE-bench's `_parse_pytest_result_line` / `parse_log_pytest`, ported line
 * for line, to produce the ids a dataset built from this output would publish.
 */
function swebenchParseLogPytest(log: string): Record<string, string> {
  const statuses = ['FAILED', 'PASSED', 'SKIPPED', 'ERROR', 'XFAIL'];
  const statusFirst = new RegExp(`^(${statuses.join('|')})\\s+(\\S+)`);
  const map: Record<string, string> = {};
  for (const line of log.split('\n')) {
    const m = statusFirst.exec(line);
    if (!m) continue;
    let name = m[2]!;
    if (m[1] === 'FAILED') name = line.replace(/ - /g, ' ').split(/\s+/).filter(Boolean)[1]!;
    if (m[1] === 'SKIPPED' && /^\[\d+\]/.test(name)) continue;
    map[name] = m[1]!;
  }
  return map;
}

describe('grading real pytest output with the ids SWE-bench would publish', () => {
  const dir = path.join(ROOT, 'tests', 'fixtures', 'pytest-output');

  it.each([
    ['py7-params.txt', 1],
    ['py9-params.txt', 1],
    ['py7-xfail-xpass.txt', 1],
    ['py7-some-fail.txt', 1],
    ['py7-skipped.txt', 0],
  ])('finds every test SWE-bench parsed from %s, with a status that grades alike', (file, exit) => {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const ours = parsePytestOutput(text, exit, 30).tests;
    const theirs = swebenchParseLogPytest(text);
    expect(Object.keys(theirs).length).toBeGreaterThan(0);
    for (const [id, status] of Object.entries(theirs)) {
      const got = matchTestStatus(id, ours, []);
      expect(got.length, id).toBeGreaterThan(0);
      const swebenchPasses = status === 'PASSED' || status === 'XFAIL';
      // A cut id may stand for several tests; it passes only if all of them do.
      if (got.length === 1) expect(got[0] === 'PASSED' || got[0] === 'XFAIL', id).toBe(swebenchPasses);
      else if (swebenchPasses === false) expect(got.every((s) => s === 'PASSED' || s === 'XFAIL'), id).toBe(false);
    }
  });

  it('grades the parametrised sample as SWE-bench would', () => {
    const text = fs.readFileSync(path.join(dir, 'py7-params.txt'), 'utf8');
    const tests = parsePytestOutput(text, 1, 30).tests;
    const grading = gradeInstance(
      {
        fail_to_pass: ['proj/tests/test_params.py::test_dash[ok', 'proj/tests/test_params.py::test_str[two'],
        pass_to_pass: ['proj/tests/test_params.py::test_str[x]y]', 'proj/tests/test_params.py::test_pair[1-2]'],
      },
      tests,
      ['proj/tests/test_params.py'],
    );
    expect(grading).toEqual({
      resolved: false,
      fail_to_pass: { success: ['proj/tests/test_params.py::test_dash[ok'], failure: ['proj/tests/test_params.py::test_str[two'] },
      pass_to_pass: { success: ['proj/tests/test_params.py::test_str[x]y]', 'proj/tests/test_params.py::test_pair[1-2]'], failure: [] },
    });
  });
});
