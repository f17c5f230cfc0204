import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../scripts/lib/core/config.js';
import type { TestStatus } from '../../../scripts/lib/core/types.js';
import { LOG_PARSERS, gradeWithParser } from '../../../scripts/lib/testing/parsers/index.js';
import { parseSympyLog, parseSympyOutput } from '../../../scripts/lib/testing/parsers/sympy.js';

const sample = (name: string): string => fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'sympy-output', name), 'utf8');

describe('parseSympyLog on real bin/test -C --verbose output', () => {
  it.each<[string, Record<string, TestStatus>]>([
    [
      'mixed.txt',
      {
        'pkg/tests/test_outcomes.py:test_error': 'FAILED',
        'pkg/tests/test_outcomes.py:test_fail': 'FAILED',
        'pkg/tests/test_second.py:test_second_fail': 'FAILED',
        test_pass: 'PASSED',
        test_fail: 'FAILED',
        test_error: 'ERROR',
        test_raises: 'PASSED',
      },
    ],
    ['all-pass.txt', { test_one: 'PASSED' }],
    ['import-error.txt', { test_one: 'PASSED' }],
  ])('reads %s exactly as SWE-bench does', (file, expected) => {
    expect(parseSympyLog(sample(file))).toEqual(expected);
  });

  const statuses = parseSympyLog(sample('mixed.txt'));
  it.each<[string, string, TestStatus | undefined]>([
    ['a passing test (`test_x ok`)', 'test_pass', 'PASSED'],
    ['a failing test (`test_x F`)', 'test_fail', 'FAILED'],
    ['an erroring test (`test_x E`)', 'test_error', 'ERROR'],
    ['a failure-report header as a failed path:name id', 'pkg/tests/test_outcomes.py:test_fail', 'FAILED'],
    ['an exception-report header as failed too', 'pkg/tests/test_outcomes.py:test_error', 'FAILED'],
    ['a skipped test as missing', 'test_skip', undefined],
    ['an expected failure (f) as missing', 'test_expected_failure', undefined],
    ['an unexpected pass (X) as missing', 'test_unexpected_pass', undefined],
    ['a slow test left out (w) as missing', 'test_slow_one', undefined],
    ['a test whose ok follows printed output as missing', 'test_prints', undefined],
    ["a file's last test, tagged [FAIL] on its line, only by its header", 'test_second_fail', undefined],
  ])('gives %s', (_name, id, status) => {
    expect(statuses[id]).toBe(status);
  });

  it("misses a file's last passing test, which carries the [OK] tag", () => {
    expect(parseSympyLog(sample('all-pass.txt')).test_two).toBeUndefined();
  });

  it.each<[string, string, Record<string, TestStatus>]>([
    ['a later line for the same name', 'test_a F\ntest_a ok\n', { test_a: 'PASSED' }],
    ['indented lines', '   test_b E  \n', { test_b: 'ERROR' }],
    ['lines not starting with test_', 'check_x ok\nfoo_test F\n', {}],
    ['a header with a nested path', '____ sympy/core/tests/test_basic.py:test_equality ____\n', { 'sympy/core/tests/test_basic.py:test_equality': 'FAILED' }],
  ])('handles %s', (_name, log, expected) => {
    expect(parseSympyLog(log)).toEqual(expected);
  });
});

describe('parseSympyOutput', () => {
  it.each([
    ['a run with failures', 'mixed.txt', 1, 'failed', { passed: 4, failed: 2, errors: 1, skipped: 2, xfailed: 1, xpassed: 1 }, null],
    ['a run that passed', 'all-pass.txt', 0, 'passed', { passed: 2, failed: 0, errors: 0, skipped: 0, xfailed: 0, xpassed: 0 }, null],
    ['a run with a file that cannot be imported', 'import-error.txt', 1, 'failed', { passed: 2, failed: 0, errors: 1, skipped: 0, xfailed: 0, xpassed: 0 }, null],
  ] as const)('summarises %s from the wrapped "tests finished" line', (_name, file, exit, status, counts, note) => {
    expect(parseSympyOutput(sample(file), exit, 3)).toMatchObject({ status, exit_code: exit, counts, note, tests: parseSympyLog(sample(file)) });
  });

  it.each([
    ['a killed run as an error', 'test_a ok\n', null, 'error'],
    ['output without a summary as an error', 'Traceback (most recent call last):\n', 1, 'error'],
    ['a run of no tests as failed', '= tests finished: in 0.00 seconds =\n', 0, 'failed'],
  ] as const)('treats %s', (_name, out, exit, status) => {
    expect(parseSympyOutput(out, exit, 3).status).toBe(status);
  });
});

describe('grading sympy ids', () => {
  it('passes F2P ids that passed and fails the ones SWE-bench cannot see', () => {
    const g = gradeWithParser(LOG_PARSERS.sympy, { fail_to_pass: ['test_pass', 'test_raises'], pass_to_pass: ['test_fail', 'test_skip'] }, parseSympyLog(sample('mixed.txt')), []);
    expect(g).toEqual({
      resolved: false,
      fail_to_pass: { success: ['test_pass', 'test_raises'], failure: [] },
      pass_to_pass: { success: [], failure: ['test_fail', 'test_skip'] },
    });
  });
});
