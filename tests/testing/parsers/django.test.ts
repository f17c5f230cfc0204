import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../scripts/lib/core/config.js';
import type { TestStatus } from '../../../scripts/lib/core/types.js';
import { normalizeDjangoId, normalizeDjangoStatuses, parseDjangoLog, parseDjangoOutput } from '../../../scripts/lib/testing/parsers/django.js';
import { LOG_PARSERS, gradeWithParser } from '../../../scripts/lib/testing/parsers/index.js';

const sample = (name: string): string => fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'django-output', name), 'utf8');

/** What SWE-bench's parse_log_django returns for py311-mixed.txt (computed with its Python code). */
const PY311_MIXED: Record<string, TestStatus> = {
  'test_count_wrong (dbapp.tests.ItemTests.test_count_wrong)': 'FAILED',
  'test_create (dbapp.tests.ItemTests.test_create)': 'PASSED',
  'test_errors (basic.tests.BasicTests.test_errors)': 'ERROR',
  'test_fails (basic.tests.BasicTests.test_fails)': 'FAILED',
  'test_passes (basic.tests.BasicTests.test_passes)': 'PASSED',
  'test_skipped (basic.tests.BasicTests.test_skipped)': 'SKIPPED',
  'A documented erroring test.': 'ERROR',
  'A documented failing test.': 'FAILED',
  "A documented test is shown by its docstring's first line.": 'PASSED',
  'A documented skipped test.': 'SKIPPED',
  'test_prints_ok_word (printing.tests.PrintingTests.test_prints_ok_word)': 'PASSED',
  'test_prints_then_passes (printing.tests.PrintingTests.test_prints_then_passes)': 'PASSED',
  'test_writes_stderr_then_passes (printing.tests.PrintingTests.test_writes_stderr_then_passes)': 'PASSED',
  'Two tests share this docstring line.': 'PASSED',
  test_errors: 'ERROR',
  test_documented_error: 'ERROR',
  test_prints_then_errors: 'ERROR',
  test_count_wrong: 'FAILED',
  test_fails: 'FAILED',
  test_documented_fail: 'FAILED',
  test_prints_ok_word: 'FAILED',
  test_prints_then_fails: 'FAILED',
  test_same: 'FAILED',
};

/** The same run on Python 3.9: ids in the `test_x (mod.Class)` form, statuses identical. */
const PY39_MIXED: Record<string, TestStatus> = Object.fromEntries(
  Object.entries(PY311_MIXED).map(([k, v]) => [k.replace(/^(\S+) \((\S+)\.\1\)$/, '$1 ($2)'), v]),
);

describe('parseDjangoLog on real runtests.py --verbosity 2 output', () => {
  it.each<[string, Record<string, TestStatus>]>([
    ['py311-mixed.txt', PY311_MIXED],
    ['py39-mixed.txt', PY39_MIXED],
    [
      'py311-all-ok.txt',
      {
        'test_create (dbapp.tests.ItemTests.test_create)': 'PASSED',
        "A documented test is shown by its docstring's first line.": 'PASSED',
        'test_prints_then_passes (printing.tests.PrintingTests.test_prints_then_passes)': 'PASSED',
      },
    ],
    [
      'py311-bad-label.txt',
      {
        'test_passes (basic.tests.BasicTests.test_passes)': 'PASSED',
        'nosuchmodule (unittest.loader._FailedTest.nosuchmodule)': 'ERROR',
        nosuchmodule: 'ERROR',
      },
    ],
  ])('reads %s exactly as SWE-bench does', (file, expected) => {
    expect(parseDjangoLog(sample(file))).toEqual(expected);
  });

  const statuses = parseDjangoLog(sample('py311-mixed.txt'));
  it.each<[string, string, TestStatus | undefined]>([
    ['a passing test by its full id', 'test_passes (basic.tests.BasicTests.test_passes)', 'PASSED'],
    ['a failing test by its full id', 'test_fails (basic.tests.BasicTests.test_fails)', 'FAILED'],
    ['a failing test by its bare name, from the FAIL: report header', 'test_fails', 'FAILED'],
    ['an erroring test by its full id', 'test_errors (basic.tests.BasicTests.test_errors)', 'ERROR'],
    ["a skipped test (`skipped '...'`)", 'test_skipped (basic.tests.BasicTests.test_skipped)', 'SKIPPED'],
    ['a documented test by its docstring line alone', "A documented test is shown by its docstring's first line.", 'PASSED'],
    ['a documented skipped test by its docstring line', 'A documented skipped test.', 'SKIPPED'],
    ['a test whose ok follows its printed output', 'test_prints_then_passes (printing.tests.PrintingTests.test_prints_then_passes)', 'PASSED'],
    ['a test whose ok follows a stderr line', 'test_writes_stderr_then_passes (printing.tests.PrintingTests.test_writes_stderr_then_passes)', 'PASSED'],
    ['a failing test that printed a line starting with "ok" as passed (SWE-bench\'s quirk)', 'test_prints_ok_word (printing.tests.PrintingTests.test_prints_ok_word)', 'PASSED'],
    ['two tests sharing a docstring line by the later line', 'Two tests share this docstring line.', 'PASSED'],
    ['an expected failure as missing', 'test_expected_failure (basic.tests.BasicTests.test_expected_failure)', undefined],
    ['an unexpected success as missing', 'test_unexpected_success (basic.tests.BasicTests.test_unexpected_success)', undefined],
    ['a test whose printed text runs into its ok as missing', 'test_prints_without_newline (printing.tests.PrintingTests.test_prints_without_newline)', undefined],
    ['a failure after printed output only by its bare name', 'test_prints_then_fails (printing.tests.PrintingTests.test_prints_then_fails)', undefined],
    ['a migration line "Applying ...... OK" as no test', 'Applying contenttypes.0001_initial', undefined],
  ])('gives %s', (_name, id, status) => {
    expect(statuses[id]).toBe(status);
  });
});

describe('parseDjangoLog special cases of SWE-bench', () => {
  it.each<[string, string, Record<string, TestStatus>]>([
    [
      'a "Testing against Django installed in" message run into a test line',
      "test_a (m.T) ... Testing against Django installed in '/x' with up to 8 processes\nSystem check identified no issues (0 silenced).\nok\n",
      { 'test_a (m.T)': 'PASSED' },
    ],
    ['an "Internal Server Error" log run into a test line', 'test_b (m.T) ... Internal Server Error: /path/\nok\n', { 'test_b (m.T)': 'PASSED' }],
    ['a system check message run into a test line', 'test_c (m.T) ... System check identified no issues (0 silenced)\nok', { 'test_c (m.T)': 'PASSED' }],
    ['the --version help text', '  --version is equivalent to version\n', { '--version is equivalent to version': 'PASSED' }],
    [
      "django__django-7188's migration line before a test",
      'Applying sites.0002_alter_domain_unique...test_no_migrations (m.T) ... ok\n',
      { 'test_no_migrations (m.T)': 'PASSED' },
    ],
    ['the " ...  OK" and " ... OK" pass suffixes', 'test_d (m.T) ...  OK\ntest_e (m.T) ... OK\n', { 'test_d (m.T)': 'PASSED', 'test_e (m.T)': 'PASSED' }],
    ['CRLF line ends', 'test_f (m.T) ... ok\r\ntest_g (m.T) ... FAIL\r\n', { 'test_f (m.T)': 'PASSED', 'test_g (m.T)': 'FAILED' }],
    ['a later line for the same test', 'test_h (m.T) ... FAIL\ntest_h (m.T) ... ok\n', { 'test_h (m.T)': 'PASSED' }],
    ['a bare "FAIL:" line (which would crash SWE-bench) as nothing', 'FAIL:\n', {}],
  ])('handles %s', (_name, log, expected) => {
    expect(parseDjangoLog(log)).toEqual(expected);
  });
});

describe('normalizeDjangoId', () => {
  it.each([
    ['test_x (app.mod.Class.test_x)', 'test_x (app.mod.Class)'],
    ['test_x (app.mod.Class)', 'test_x (app.mod.Class)'],
    ['test_x (app.mod.Class.test_y)', 'test_x (app.mod.Class.test_y)'],
    ['nosuchmodule (unittest.loader._FailedTest.nosuchmodule)', 'nosuchmodule (unittest.loader._FailedTest)'],
    ['A documented test (with words.in.parens).', 'A documented test (with words.in.parens).'],
    ['test_x', 'test_x'],
  ])('maps %j to %j', (id, normal) => {
    expect(normalizeDjangoId(id)).toBe(normal);
  });

  it('lets the later line win where two ids fall together', () => {
    expect(normalizeDjangoStatuses({ 'test_x (m.C.test_x)': 'FAILED', 'test_x (m.C)': 'PASSED' })).toEqual({ 'test_x (m.C)': 'PASSED' });
    expect(normalizeDjangoStatuses({ 'test_x (m.C)': 'PASSED', 'test_x (m.C.test_x)': 'FAILED' })).toEqual({ 'test_x (m.C)': 'FAILED' });
  });
});

describe('grading django ids published in either form', () => {
  const django = LOG_PARSERS.django;
  const inst = {
    fail_to_pass: ['test_passes (basic.tests.BasicTests)', "A documented test is shown by its docstring's first line."],
    pass_to_pass: ['test_skipped (basic.tests.BasicTests)', 'test_create (dbapp.tests.ItemTests)'],
  };
  it.each([
    ['old-form ids against a Python 3.11 run', 'py311-mixed.txt', inst],
    [
      'new-form ids against a Python 3.9 run',
      'py39-mixed.txt',
      {
        fail_to_pass: inst.fail_to_pass.map((id) => id.replace(/^(\S+) \((\S+)\)$/, '$1 ($2.$1)')),
        pass_to_pass: inst.pass_to_pass.map((id) => id.replace(/^(\S+) \((\S+)\)$/, '$1 ($2.$1)')),
      },
    ],
  ])('resolves %s, reporting the ids as published', (_name, file, expected) => {
    const g = gradeWithParser(django, expected, parseDjangoLog(sample(file)), []);
    expect(g).toEqual({
      resolved: true,
      fail_to_pass: { success: expected.fail_to_pass, failure: [] },
      pass_to_pass: { success: expected.pass_to_pass, failure: [] },
    });
  });

  it('fails failing, erroring, missing and expected-failure tests', () => {
    const ids = [
      'test_fails (basic.tests.BasicTests)',
      'test_errors (basic.tests.BasicTests)',
      'test_expected_failure (basic.tests.BasicTests)',
      'test_nowhere (basic.tests.BasicTests)',
      'test_skipped (basic.tests.BasicTests)',
    ];
    const g = gradeWithParser(django, { fail_to_pass: ids, pass_to_pass: [] }, parseDjangoLog(sample('py311-mixed.txt')), []);
    expect(g.resolved).toBe(false);
    expect(g.fail_to_pass).toEqual({ success: [], failure: ids });
  });
});

describe('parseDjangoOutput', () => {
  it.each([
    ['a run with failures', 'py311-mixed.txt', 1, 'failed', { passed: 7, failed: 6, errors: 3, skipped: 2, xfailed: 1, xpassed: 1 }, null],
    ['a run that passed', 'py311-all-ok.txt', 0, 'passed', { passed: 3, failed: 0, errors: 0, skipped: 0, xfailed: 0, xpassed: 0 }, null],
    ['a run with an unknown label', 'py311-bad-label.txt', 1, 'failed', { passed: 1, failed: 0, errors: 1, skipped: 0, xfailed: 0, xpassed: 0 }, null],
  ] as const)('summarises %s from unittest\'s own counts', (_name, file, exit, status, counts, note) => {
    const s = parseDjangoOutput(sample(file), exit, 5);
    expect(s).toMatchObject({ status, exit_code: exit, counts, note });
    expect(s.collected).toBe(Object.values(counts as Record<string, number>).reduce((a: number, b: number) => a + b, 0));
    expect(s.tests).toEqual(parseDjangoLog(sample(file)));
    expect(s.tail.split('\n')).toHaveLength(5);
  });

  it.each([
    ['a killed run as an error', 'test_a (m.T) ... ok\n', null, 'error', 'unittest did not finish (no exit code)'],
    ['output without a unittest summary as an error', 'Traceback (most recent call last):\nImportError: x\n', 1, 'error', 'no unittest summary in the output (exit code 1)'],
    ['a run of no tests as failed', '\nRan 0 tests in 0.000s\n\nOK\n', 0, 'failed', 'no tests ran (exit code 0)'],
    ['an OK summary with a non-zero exit as failed', 'x ... ok\n\nRan 1 test in 0.001s\n\nOK\n', 1, 'failed', 'exit code 1 but the unittest summary reports no failure'],
  ] as const)('treats %s', (_name, out, exit, status, note) => {
    expect(parseDjangoOutput(out, exit, 3)).toMatchObject({ status, note });
  });
});
