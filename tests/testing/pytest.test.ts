import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  STATUS_SEVERITY,
  extractMarked,
  parsePytestOutput,
  pytestCommand,
  tailLinesOf,
} from '../../scripts/lib/testing/pytest.js';
import type { TestCounts, TestStatus, TestSummary } from '../../scripts/lib/core/types.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pytest-output');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

function counts(partial: Partial<TestCounts>): TestCounts {
  return { passed: 0, failed: 0, errors: 0, skipped: 0, xfailed: 0, xpassed: 0, ...partial };
}

/** A synthetic pytest output: some noise, the summary section, the final line. */
function output(statusLines: string[], finalLine: string | null, before: string[] = []): string {
  return [
    '============================= test session starts ==============================',
    'collected 9 items',
    '',
    ...before,
    '=========================== short test summary info ============================',
    ...statusLines,
    ...(finalLine === null ? [] : [finalLine]),
    '',
  ].join('\n');
}

describe('pytestCommand', () => {
  it.each([
    {
      name: 'runs python3 -m pytest with -rA, no cache and short tracebacks by default',
      opts: { k: null, tests: [] },
      argv: ['python3', '-m', 'pytest', '-rA', '-p', 'no:cacheprovider', '--tb=short'],
    },
    {
      name: 'passes a -k expression as one argument, spaces and all',
      opts: { k: 'test_a and not slow', tests: ['tests/test_a.py'] },
      argv: ['python3', '-m', 'pytest', '-rA', '-p', 'no:cacheprovider', '--tb=short', '-k', 'test_a and not slow', 'tests/test_a.py'],
    },
    {
      name: 'keeps node ids with brackets and spaces as single arguments, in order',
      opts: { k: null, tests: ['tests/test_b.py', 'tests/test_a.py::test_x[two words]'] },
      argv: ['python3', '-m', 'pytest', '-rA', '-p', 'no:cacheprovider', '--tb=short', 'tests/test_b.py', 'tests/test_a.py::test_x[two words]'],
    },
    {
      name: 'uses the given python executable',
      opts: { k: '', tests: ['t.py'], python: '/opt/venv/bin/python' },
      argv: ['/opt/venv/bin/python', '-m', 'pytest', '-rA', '-p', 'no:cacheprovider', '--tb=short', 't.py'],
    },
  ])('$name', ({ opts, argv }) => {
    expect(pytestCommand(opts)).toEqual(argv);
  });
});

describe('extractMarked', () => {
  const N = 'n0nce42';
  it.each([
    {
      name: 'returns the text between the markers and the exit code',
      out: `setup noise\n@@SWE-HARNESS-BEGIN ${N}\nline 1\nline 2\n@@SWE-HARNESS-END ${N} exit=1\n`,
      body: 'line 1\nline 2',
      exit: 1,
      complete: true,
    },
    {
      name: 'uses the last begin marker when the wrapper printed several',
      out: `@@SWE-HARNESS-BEGIN ${N}\nold\n@@SWE-HARNESS-BEGIN ${N}\nnew\n@@SWE-HARNESS-END ${N} exit=0\n`,
      body: 'new',
      exit: 0,
      complete: true,
    },
    {
      name: 'handles two begin markers on consecutive lines',
      out: `@@SWE-HARNESS-BEGIN ${N}\n@@SWE-HARNESS-BEGIN ${N}\nonly\n@@SWE-HARNESS-END ${N} exit=0`,
      body: 'only',
      exit: 0,
      complete: true,
    },
    {
      name: 'ignores markers with another nonce printed by tests',
      out: [
        `@@SWE-HARNESS-BEGIN ${N}`,
        'real 1',
        '@@SWE-HARNESS-END fake exit=0',
        '@@SWE-HARNESS-BEGIN fake',
        `@@SWE-HARNESS-END ${N}x exit=0`,
        `@@SWE-HARNESS-BEGIN ${N}x`,
        'real 2',
        `@@SWE-HARNESS-END ${N} exit=1`,
      ].join('\n'),
      body: `real 1\n@@SWE-HARNESS-END fake exit=0\n@@SWE-HARNESS-BEGIN fake\n@@SWE-HARNESS-END ${N}x exit=0\n@@SWE-HARNESS-BEGIN ${N}x\nreal 2`,
      exit: 1,
      complete: true,
    },
    {
      name: 'stops at the first end marker after the begin marker',
      out: `@@SWE-HARNESS-BEGIN ${N}\nbody\n@@SWE-HARNESS-END ${N} exit=3\nafter\n@@SWE-HARNESS-END ${N} exit=0\n`,
      body: 'body',
      exit: 3,
      complete: true,
    },
    {
      name: 'ignores an end marker that comes before the last begin marker',
      out: `@@SWE-HARNESS-END ${N} exit=0\n@@SWE-HARNESS-BEGIN ${N}\nstill running`,
      body: 'still running',
      exit: null,
      complete: false,
    },
    {
      name: 'reports an incomplete run when the end marker is missing (killed run)',
      out: `@@SWE-HARNESS-BEGIN ${N}\ncollected 3 items\n\ntests/test_slow.py ..`,
      body: 'collected 3 items\n\ntests/test_slow.py ..',
      exit: null,
      complete: false,
    },
    {
      name: 'returns the whole output when the begin marker is missing',
      out: 'sh: 1: python3: not found\n',
      body: 'sh: 1: python3: not found\n',
      exit: null,
      complete: false,
    },
    {
      name: 'accepts an end marker that follows output without a final newline',
      out: `@@SWE-HARNESS-BEGIN ${N}\npartial line@@SWE-HARNESS-END ${N} exit=137\n`,
      body: 'partial line',
      exit: 137,
      complete: true,
    },
    {
      name: 'accepts CRLF line ends around the markers',
      out: `@@SWE-HARNESS-BEGIN ${N}\r\nline\r\n@@SWE-HARNESS-END ${N} exit=2\r\n`,
      body: 'line',
      exit: 2,
      complete: true,
    },
    {
      name: 'returns an empty body for a command that printed nothing',
      out: `@@SWE-HARNESS-BEGIN ${N}\n@@SWE-HARNESS-END ${N} exit=0\n`,
      body: '',
      exit: 0,
      complete: true,
    },
  ])('$name', ({ out, body, exit, complete }) => {
    expect(extractMarked(out, N)).toEqual({ body, markerExit: exit, complete });
  });

  it('reads a run whose begin marker fell out of the kept tail up to its end marker, when told the head was cut', () => {
    const out = `...captured output\n= 1 failed in 0.1s =\n@@SWE-HARNESS-END ${N} exit=1\n`;
    expect(extractMarked(out, N, true)).toEqual({ body: '...captured output\n= 1 failed in 0.1s =', markerExit: 1, complete: true });
    // Without the cut, a missing begin marker still means the wrapper failed.
    expect(extractMarked(out, N)).toEqual({ body: out, markerExit: null, complete: false });
  });

  it.each(['', 'has space', 'a\nb', 'x*'])('rejects the unusable nonce %j', (nonce) => {
    expect(() => extractMarked('anything', nonce)).toThrow(/nonce/);
  });
});

describe('tailLinesOf', () => {
  it.each([
    { name: 'keeps the last n lines', text: 'a\nb\nc\nd', n: 2, tail: 'c\nd' },
    { name: 'drops trailing empty and blank lines first', text: 'a\nb\nc\n\n  \n', n: 2, tail: 'b\nc' },
    { name: 'returns everything when there are fewer lines than n', text: 'a\nb\n', n: 10, tail: 'a\nb' },
    { name: 'returns nothing for n = 0', text: 'a\nb', n: 0, tail: '' },
    { name: 'returns nothing for blank text', text: '\n\n', n: 3, tail: '' },
    { name: 'normalises CRLF line ends', text: 'a\r\nb\r\nc\r\n', n: 2, tail: 'b\nc' },
    { name: 'keeps blank lines inside the tail', text: 'a\n\nb', n: 3, tail: 'a\n\nb' },
  ])('$name', ({ text, n, tail }) => {
    expect(tailLinesOf(text, n)).toBe(tail);
  });
});

describe('parsePytestOutput on real pytest output', () => {
  interface Case {
    name: string;
    file: string;
    exit: number | null;
    status: TestSummary['status'];
    counts: TestCounts;
    note: RegExp | null;
    /** Exact expected `tests` map. */
    tests: Record<string, TestStatus>;
  }
  const P = 'proj/tests/';
  const cases: Case[] = [
    {
      name: 'all tests passing is a pass',
      file: 'py7-all-pass.txt',
      exit: 0,
      status: 'passed',
      counts: counts({ passed: 3 }),
      note: null,
      tests: {
        [`${P}test_pass.py::test_one`]: 'PASSED',
        [`${P}test_pass.py::test_two`]: 'PASSED',
        [`${P}test_pass.py::test_three`]: 'PASSED',
      },
    },
    {
      name: 'some failing tests is a failure with messages cut off the node ids',
      file: 'py7-some-fail.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 4, failed: 2 }),
      note: null,
      tests: {
        [`${P}test_fail.py::test_ok`]: 'PASSED',
        [`${P}test_pass.py::test_one`]: 'PASSED',
        [`${P}test_pass.py::test_two`]: 'PASSED',
        [`${P}test_pass.py::test_three`]: 'PASSED',
        [`${P}test_fail.py::test_bad`]: 'FAILED',
        [`${P}test_fail.py::test_raises`]: 'FAILED',
      },
    },
    {
      name: 'setup and teardown errors keep the worse status per node id',
      file: 'py7-setup-errors.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1, errors: 3 }),
      note: null,
      tests: {
        [`${P}test_setup_err.py::test_needs_broken`]: 'ERROR',
        // FAILED in the call and ERROR in teardown: ERROR wins.
        [`${P}test_setup_err.py::test_teardown_fails`]: 'ERROR',
        // PASSED in the call and ERROR in teardown: ERROR wins.
        [`${P}test_setup_err.py::test_teardown_only`]: 'ERROR',
      },
    },
    {
      name: 'a collection error (exit 2) is a failure noting the collection errors',
      file: 'py7-collection-error.txt',
      exit: 2,
      status: 'failed',
      counts: counts({ errors: 1 }),
      note: /collection errors/,
      tests: { 'proj/coll/test_collect_error.py': 'ERROR' },
    },
    {
      name: 'no tests collected (exit 5) is a failure',
      file: 'py7-no-tests.txt',
      exit: 5,
      status: 'failed',
      counts: counts({}),
      note: /no tests collected/,
      tests: {},
    },
    {
      name: '-k deselecting everything (exit 5) is a failure',
      file: 'py7-deselect-all.txt',
      exit: 5,
      status: 'failed',
      counts: counts({}),
      note: /no tests collected/,
      tests: {},
    },
    {
      name: 'xfail and xpass are recorded; a strict xpass fails the run',
      file: 'py7-xfail-xpass.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1, xfailed: 1, xpassed: 1 }),
      note: null,
      tests: {
        [`${P}test_xfail.py::test_plain`]: 'PASSED',
        [`${P}test_xfail.py::test_known_bug`]: 'XFAIL',
        // pytest 7 prints "XPASS id reason" without " - ".
        [`${P}test_xfail.py::test_unexpectedly_ok`]: 'XPASS',
        [`${P}test_xfail.py::test_strict_xpass`]: 'FAILED',
      },
    },
    {
      name: 'pytest 9 output with "XPASS id - reason" parses the same',
      file: 'py9-xfail-xpass.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1, xfailed: 1, xpassed: 1 }),
      note: null,
      tests: {
        [`${P}test_xfail.py::test_plain`]: 'PASSED',
        [`${P}test_xfail.py::test_known_bug`]: 'XFAIL',
        [`${P}test_xfail.py::test_unexpectedly_ok`]: 'XPASS',
        [`${P}test_xfail.py::test_strict_xpass`]: 'FAILED',
      },
    },
    {
      name: 'skipped tests with reasons are counted but have no node ids',
      file: 'py7-skipped.txt',
      exit: 0,
      status: 'passed',
      counts: counts({ passed: 1, skipped: 6 }),
      note: null,
      tests: { [`${P}test_skip.py::test_runs`]: 'PASSED' },
    },
    {
      name: 'a run where every test is skipped is not a pass',
      file: 'py7-all-skipped.txt',
      exit: 0,
      status: 'failed',
      counts: counts({ skipped: 1 }),
      note: /no test passed \(1 skipped\)/,
      tests: {},
    },
    ...(['py7-params.txt', 'py9-params.txt'] as const).map((file): Case => ({
      name: `parametrized ids with spaces, " - " and "]" stay whole (${file})`,
      file,
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 6, failed: 2 }),
      note: null,
      tests: {
        [`${P}test_params.py::test_str[a - b]`]: 'PASSED',
        [`${P}test_params.py::test_str[x]y]`]: 'PASSED',
        [`${P}test_params.py::test_str[plain]`]: 'PASSED',
        [`${P}test_params.py::test_pair[1-2]`]: 'PASSED',
        [`${P}test_params.py::test_pair[a1-b1]`]: 'PASSED',
        [`${P}test_params.py::test_dash[ok - fine]`]: 'PASSED',
        [`${P}test_params.py::test_str[two words]`]: 'FAILED',
        [`${P}test_params.py::test_dash[bad - one]`]: 'FAILED',
      },
    })),
    {
      name: 'lines printed by tests (captured output in PASSES/FAILURES) cannot fake results',
      file: 'py7-fake-lines.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1 }),
      note: null,
      tests: {
        [`${P}test_fake.py::test_prints_fakes`]: 'PASSED',
        [`${P}test_fake.py::test_real_failure`]: 'FAILED',
      },
    },
    {
      name: 'lines printed by tests under -s (raw stdout) cannot fake results',
      file: 'py7-fake-lines-s.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1 }),
      note: null,
      tests: {
        [`${P}test_fake.py::test_prints_fakes`]: 'PASSED',
        [`${P}test_fake.py::test_real_failure`]: 'FAILED',
      },
    },
    {
      name: 'a fake "short test summary info" section printed by a test is not the real one',
      file: 'py7-fake-summary.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 1 }),
      note: null,
      tests: {
        [`${P}test_fakeall.py::test_only_prints`]: 'PASSED',
        [`${P}test_fakeall.py::test_fails`]: 'FAILED',
      },
    },
    {
      name: 'a multi-line failure message (CI=true) cannot add a PASSED line or fake the counts',
      file: 'py7-ci-multiline.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 2 }),
      note: /ignored 1 PASSED line/,
      tests: {
        [`${P}test_multiline.py::test_ok`]: 'PASSED',
        [`${P}test_multiline.py::test_multiline_message`]: 'FAILED',
        [`${P}test_multiline.py::test_raise_multiline`]: 'FAILED',
      },
    },
    {
      name: 'warnings and deselected tests do not count as tests',
      file: 'py7-warnings-deselected.txt',
      exit: 0,
      status: 'passed',
      counts: counts({ passed: 3 }),
      note: null,
      tests: {
        [`${P}test_pass.py::test_one`]: 'PASSED',
        [`${P}test_pass.py::test_three`]: 'PASSED',
        [`${P}test_warn.py::test_w`]: 'PASSED',
      },
    },
    ...(['py7-missing-file.txt', 'py9-missing-file.txt'] as const).map((file): Case => ({
      name: `a test path that does not exist (exit 4) is an error (${file})`,
      file,
      exit: 4,
      status: 'error',
      counts: counts({}),
      note: /usage error/,
      tests: {},
    })),
    {
      name: '-q (addopts) prints the final line without "=" borders',
      file: 'py7-quiet.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 2 }),
      note: null,
      tests: {
        [`${P}test_fail.py::test_ok`]: 'PASSED',
        [`${P}test_fail.py::test_bad`]: 'FAILED',
        [`${P}test_fail.py::test_raises`]: 'FAILED',
      },
    },
    {
      name: '-qq prints no final line: counts come from the per-test lines',
      file: 'py7-qq.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 1, failed: 2 }),
      note: null,
      tests: {
        [`${P}test_fail.py::test_ok`]: 'PASSED',
        [`${P}test_fail.py::test_bad`]: 'FAILED',
        [`${P}test_fail.py::test_raises`]: 'FAILED',
      },
    },
    {
      name: 'a killed run without summary and without exit code is an error',
      file: 'py7-killed.txt',
      exit: null,
      status: 'error',
      counts: counts({}),
      note: /did not finish/,
      tests: {},
    },
    {
      name: 'a killed run without summary but with exit 137 is an error',
      file: 'py7-killed.txt',
      exit: 137,
      status: 'error',
      counts: counts({}),
      note: /no pytest summary.*137/,
      tests: {},
    },
    {
      name: 'pytest 8 output with a "(0:01:05)" duration suffix parses',
      file: 'py8-slow-handwritten.txt',
      exit: 1,
      status: 'failed',
      counts: counts({ passed: 3, failed: 1, xfailed: 1, xpassed: 1 }),
      note: null,
      tests: {
        'tests/test_slow.py::test_slow_first': 'PASSED',
        'tests/test_slow.py::test_slow_second': 'PASSED',
        'tests/test_slow.py::test_slow_fourth[with space - and dash]': 'PASSED',
        'tests/test_xfail.py::test_known_bug': 'XFAIL',
        'tests/test_xfail.py::test_unexpectedly_ok': 'XPASS',
        'tests/test_slow.py::test_slow_third': 'FAILED',
      },
    },
  ];

  it.each(cases)('$name', ({ file, exit, status, counts: expectedCounts, note, tests }) => {
    const summary = parsePytestOutput(fixture(file), exit, 5);
    expect(summary.status).toBe(status);
    expect(summary.exit_code).toBe(exit);
    expect(summary.counts).toEqual(expectedCounts);
    expect(summary.collected).toBe(Object.values(expectedCounts).reduce((a, b) => a + b, 0));
    if (note === null) expect(summary.note).toBeNull();
    else expect(summary.note).toMatch(note);
    expect(summary.tests).toEqual(tests);
  });

  it.each([
    ['py7-fake-lines.txt', ['tests/test_fake.py::test_fake_ok', 'tests/test_fake.py::test_fake_summary', 'tests/test_fake.py::test_fake_err', 'tests/test_fake.py::test_real_failure']],
    ['py7-fake-lines-s.txt', ['tests/test_fake.py::test_fake_ok', 'tests/test_fake.py::test_fake_summary', 'tests/test_fake.py::test_fake_err', 'tests/test_fake.py::test_real_failure']],
    ['py7-fake-summary.txt', ['tests/test_fakeall.py::test_ghost']],
    ['py7-ci-multiline.txt', ['proj/tests/test_multiline.py::test_ghost', 'proj/tests/test_multiline.py::test_ghost2']],
  ])('leaves the ids faked in %s out of the results', (file, fakes) => {
    const summary = parsePytestOutput(fixture(file), 1, 5);
    for (const fake of fakes) expect(summary.tests).not.toHaveProperty([fake]);
  });

  it('keeps the last lines of the output as the tail', () => {
    const summary = parsePytestOutput(fixture('py7-all-pass.txt'), 0, 2);
    expect(summary.tail).toBe(
      'PASSED proj/tests/test_pass.py::test_three\n' +
        '============================== 3 passed in 0.01s ===============================',
    );
  });
});

describe('parsePytestOutput node ids', () => {
  it.each([
    { line: 'FAILED t.py::test_a - assert 1 == 2', id: 't.py::test_a', status: 'FAILED' },
    { line: 'FAILED t.py::test_a', id: 't.py::test_a', status: 'FAILED' },
    { line: 'FAILED t.py::TestK::test_m - AssertionError', id: 't.py::TestK::test_m', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[two words] - assert 0', id: 't.py::test_x[two words]', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[a - b] - assert 0', id: 't.py::test_x[a - b]', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[a - b]', id: 't.py::test_x[a - b]', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[p1] - assert [1] == [2] - see [3]', id: 't.py::test_x[p1]', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[[1, 2]-x] - assert 0', id: 't.py::test_x[[1, 2]-x]', status: 'FAILED' },
    { line: 'FAILED t.py::test_x[x]y] - assert 0', id: 't.py::test_x[x]y]', status: 'FAILED' },
    { line: 'ERROR t.py::test_x[a b] - RuntimeError: setup', id: 't.py::test_x[a b]', status: 'ERROR' },
    { line: 'ERROR tests/test_broken.py - ModuleNotFoundError: no', id: 'tests/test_broken.py', status: 'ERROR' },
    { line: 'XFAIL t.py::test_x[a - b] - reason: known', id: 't.py::test_x[a - b]', status: 'XFAIL' },
    { line: 'XPASS t.py::test_x[a b] fixed upstream', id: 't.py::test_x[a b]', status: 'XPASS' },
    { line: 'XPASS t.py::test_y fixed upstream', id: 't.py::test_y', status: 'XPASS' },
    { line: 'PASSED t.py::test_x[a - b] - c]', id: 't.py::test_x[a - b] - c]', status: 'PASSED' },
    { line: 'SKIPPED t.py::test_s - not here', id: 't.py::test_s', status: 'SKIPPED' },
  ] as { line: string; id: string; status: TestStatus }[])('reads "$line" as $id', ({ line, id, status }) => {
    const summary = parsePytestOutput(output([line], '==== 1 passed in 0.01s ===='), 1, 5);
    expect(summary.tests).toEqual({ [id]: status });
  });
});

describe('parsePytestOutput final summary line', () => {
  it.each([
    { line: '=== 3 passed, 1 failed, 2 skipped, 1 xfailed, 1 xpassed, 1 error in 0.12s ===', c: { passed: 3, failed: 1, skipped: 2, xfailed: 1, xpassed: 1, errors: 1 } },
    { line: '==== 1 failed, 2 passed, 3 errors in 0.02s ====', c: { passed: 2, failed: 1, errors: 3 } },
    { line: '==== 2 passed, 1 warning in 0.02s ====', c: { passed: 2 } },
    { line: '==== 2 passed, 4 warnings in 0.02s ====', c: { passed: 2 } },
    { line: '==== 2 passed, 5 deselected in 0.02s ====', c: { passed: 2 } },
    { line: '==== 2 passed in 65.43s (0:01:05) ====', c: { passed: 2 } },
    { line: '==== 2 passed in 90061.00s (1 day, 1:01:01) ====', c: { passed: 2 } },
    { line: '==== 2 passed in 0.02 seconds ====', c: { passed: 2 } },
    { line: '==== 2 passed, 1 rerun, 3 subtests passed in 0.02s ====', c: { passed: 2 } },
    { line: '2 passed, 1 skipped in 0.02s', c: { passed: 2, skipped: 1 } },
  ])('parses "$line"', ({ line, c }) => {
    const summary = parsePytestOutput(output([], line), 1, 5);
    expect(summary.counts).toEqual(counts(c));
  });

  it('parses "no tests ran" as zero counts', () => {
    const summary = parsePytestOutput('collected 0 items\n\n==== no tests ran in 0.01s ====\n', 5, 5);
    expect(summary.counts).toEqual(counts({}));
    expect(summary.collected).toBe(0);
  });

  it('ignores ANSI colours', () => {
    const colored = output(
      ['\x1b[32mPASSED\x1b[0m t.py::test_a'],
      '\x1b[32m==== \x1b[32m\x1b[1m1 passed\x1b[0m\x1b[32m in 0.01s\x1b[0m\x1b[32m ====\x1b[0m',
    );
    const summary = parsePytestOutput(colored, 0, 5);
    expect(summary.status).toBe('passed');
    expect(summary.tests).toEqual({ 't.py::test_a': 'PASSED' });
    expect(summary.tail).not.toContain('\x1b');
  });

  it('accepts CRLF output', () => {
    const summary = parsePytestOutput(output(['PASSED t.py::test_a'], '==== 1 passed in 0.01s ====').replace(/\n/g, '\r\n'), 0, 5);
    expect(summary.status).toBe('passed');
    expect(summary.tests).toEqual({ 't.py::test_a': 'PASSED' });
  });

  it('notes status lines that outnumber the final counts', () => {
    const summary = parsePytestOutput(
      output(['FAILED t.py::test_a - x', 'FAILED t.py::test_b - y'], '==== 1 failed in 0.01s ===='),
      1,
      5,
    );
    expect(summary.note).toMatch(/2 FAILED lines for 1 counted/);
  });
});

describe('parsePytestOutput status rules', () => {
  const pass1 = output(['PASSED t.py::test_a'], '==== 1 passed in 0.01s ====');
  it.each([
    { name: 'exit 0 with a passing test is passed', body: pass1, exit: 0, status: 'passed', note: null },
    {
      name: 'exit 0 with failures in the counts is failed (inconsistent)',
      body: output(['FAILED t.py::test_a - x'], '==== 1 failed in 0.01s ===='),
      exit: 0,
      status: 'failed',
      note: /exit code 0 but the summary shows 1 failed/,
    },
    {
      name: 'exit 0 with only xfailed tests is failed (nothing actually passed)',
      body: output(['XFAIL t.py::test_a - bug'], '==== 1 xfailed in 0.01s ===='),
      exit: 0,
      status: 'failed',
      note: /no test passed \(1 xfailed\)/,
    },
    {
      name: 'exit 0 with only a non-strict xpass is passed',
      body: output(['XPASS t.py::test_a - fixed'], '==== 1 xpassed in 0.01s ===='),
      exit: 0,
      status: 'passed',
      note: null,
    },
    {
      name: 'exit 0 with zero counts is failed (no tests collected)',
      body: 'collected 0 items\n==== 2 deselected in 0.01s ====\n',
      exit: 0,
      status: 'failed',
      note: /no tests collected/,
    },
    { name: 'exit 1 with PASSED lines only is failed, naming the exit code', body: pass1, exit: 1, status: 'failed', note: /exit code 1/ },
    { name: 'exit 2 without errors (interrupted) is an error', body: pass1, exit: 2, status: 'error', note: /interrupted \(exit code 2\)/ },
    { name: 'exit 3 (internal error) is an error', body: pass1, exit: 3, status: 'error', note: /internal error/ },
    { name: 'exit 4 (usage error) is an error', body: 'ERROR: usage: bad option\n', exit: 4, status: 'error', note: /usage error/ },
    { name: 'exit 5 is failed (no tests collected)', body: pass1, exit: 5, status: 'failed', note: /no tests collected/ },
    { name: 'a null exit code is an error', body: pass1, exit: null, status: 'error', note: /did not finish/ },
    {
      name: 'a crash after tests ran (exit 139) is failed, naming the exit code',
      body: output(['PASSED t.py::test_a'], null),
      exit: 139,
      status: 'failed',
      note: /exited with code 139/,
    },
    {
      name: 'output that is not pytest output is an error',
      body: '/usr/bin/python3: No module named pytest\n',
      exit: 1,
      status: 'error',
      note: /no pytest summary in the output \(exit code 1\)/,
    },
  ] as { name: string; body: string; exit: number | null; status: TestSummary['status']; note: RegExp | null }[])(
    '$name',
    ({ body, exit, status, note }) => {
      const summary = parsePytestOutput(body, exit, 5);
      expect(summary.status).toBe(status);
      if (note === null) expect(summary.note).toBeNull();
      else expect(summary.note).toMatch(note);
    },
  );

  it('orders statuses ERROR > FAILED > XPASS > XFAIL > SKIPPED > PASSED', () => {
    const order = (Object.keys(STATUS_SEVERITY) as TestStatus[]).sort((a, b) => STATUS_SEVERITY[b] - STATUS_SEVERITY[a]);
    expect(order).toEqual(['ERROR', 'FAILED', 'XPASS', 'XFAIL', 'SKIPPED', 'PASSED']);
  });

  it.each([
    [['FAILED t.py::test_a - x', 'ERROR t.py::test_a - teardown'], 'ERROR'],
    [['ERROR t.py::test_a - setup', 'FAILED t.py::test_a - x'], 'ERROR'],
    [['XFAIL t.py::test_a - r', 'XPASS t.py::test_a - r'], 'XPASS'],
    [['PASSED t.py::test_a', 'SKIPPED t.py::test_a - r'], 'SKIPPED'],
  ] as [string[], TestStatus][])('keeps the worse of %j', (lines, status) => {
    expect(parsePytestOutput(output(lines, null), 1, 5).tests).toEqual({ 't.py::test_a': status });
  });
});
