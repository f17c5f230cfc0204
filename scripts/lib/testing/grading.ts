/**
 * Grading a run the way SWE-bench does: every FAIL_TO_PASS test must now pass
 * (PASSED/XFAIL), every PASS_TO_PASS test must still pass (PASSED/XFAIL/SKIPPED);
 * a missing id fails. Published ids are matched as SWE-bench's pytest parser
 * keyed them (full node ids, ids cut at the first space, bare names): the
 * README's "Grading" paragraph has the rules and why.
 */
import type { TestStatus } from '../core/types.js';

export interface Grading {
  resolved: boolean;
  fail_to_pass: { success: string[]; failure: string[] };
  pass_to_pass: { success: string[]; failure: string[] };
}

/** Statuses that make a FAIL_TO_PASS test pass (SWE-bench `test_passed`). */
export const F2P_PASSING: readonly TestStatus[] = ['PASSED', 'XFAIL'];
/** Statuses that keep a PASS_TO_PASS test passing (SWE-bench `test_maintained`). */
export const P2P_PASSING: readonly TestStatus[] = ['PASSED', 'XFAIL', 'SKIPPED'];

/** A node id as SWE-bench's parser keys it: cut at the first whitespace. */
export function cutForm(id: string): string {
  const m = /\s/.exec(id);
  return m ? id.slice(0, m.index) : id;
}

/**
 * SWE-bench's per-repository key rewrites, applied to a cut id:
 * - `parse_log_pytest_options` (psf/requests, pylint-dev/pylint, pydicom/pydicom)
 *   shortens a parameter that is an absolute path to its last component:
 *   `test_x[/a/b/c.py]` -> `test_x[/c.py]` (not for `//...` or paths with `*`);
 * - `parse_log_matplotlib` replaces `MouseButton.LEFT` by `1` and
 *   `MouseButton.RIGHT` by `3`.
 */
export function swebenchRewrites(id: string): string {
  let out = id.replace(/MouseButton\.LEFT/g, '1').replace(/MouseButton\.RIGHT/g, '3');
  const m = /^(.*?)\[(.*)\]/.exec(out);
  if (m) {
    let option = m[2]!;
    if (option.startsWith('/') && !option.startsWith('//') && !option.includes('*')) {
      option = '/' + option.split('/').pop()!;
    }
    out = `${m[1]}[${option}]`;
  }
  return out;
}

/** Index where the parameter part of a node id starts (`[`), or its length. */
function paramStart(id: string): number {
  const i = id.indexOf('[');
  return i < 0 ? id.length : i;
}

/** `::` components of a node id, the parameter part kept on the last one. */
function components(id: string): string[] {
  const p = paramStart(id);
  const parts = id.slice(0, p).split('::');
  parts[parts.length - 1] += id.slice(p);
  return parts;
}

function stripParam(name: string): string {
  return name.slice(0, paramStart(name));
}

function normPath(p: string): string {
  return p.replace(/^\.\//, '');
}

/**
 * The node ids of `statuses` that the published id `expected` denotes, best
 * rule first (the first rule that matches anything wins):
 *
 * 1. the node id equal to `expected`;
 * 2. node ids whose cut form (up to the first whitespace) equals it;
 * 3. node ids whose cut form, after SWE-bench's per-repo rewrites
 *    (`swebenchRewrites`), equals it;
 * 4. for an id that names no file (no `/` before its parameters, its first
 *    `::` component not a `.py` file): node ids in one of `testFiles` (all node ids when
 *    `testFiles` is empty) whose trailing `::` components equal its
 *    components — `test_x` matches `tests/t.py::test_x`, `Test::test_x`
 *    matches `tests/t.py::Test::test_x`; first with the parameter part
 *    (also in cut form), then, for an id without `[`, any parametrisation
 *    (`test_x` matches `tests/t.py::test_x[1]` and `[2]`).
 */
export function matchTestIds(expected: string, statuses: Record<string, TestStatus>, testFiles: readonly string[]): string[] {
  if (Object.prototype.hasOwnProperty.call(statuses, expected)) return [expected];
  const ids = Object.keys(statuses);

  const cut = ids.filter((id) => cutForm(id) === expected);
  if (cut.length) return cut;

  const rewritten = ids.filter((id) => {
    const c = cutForm(id);
    const r = swebenchRewrites(c);
    return r !== c && r === expected;
  });
  if (rewritten.length) return rewritten;

  const want = components(expected);
  if (expected.slice(0, paramStart(expected)).includes('/') || /\.py$/.test(want[0]!)) return [];
  const files = new Set(testFiles.map(normPath));
  const inFiles = ids.filter((id) => {
    const parts = components(id);
    return parts.length > want.length && (files.size === 0 || files.has(normPath(parts[0]!)));
  });
  const tailMatches = (id: string, last: (got: string, exp: string) => boolean): boolean => {
    const parts = components(id);
    const tail = parts.slice(parts.length - want.length);
    for (let i = 0; i < want.length - 1; i++) if (tail[i] !== want[i]) return false;
    return last(tail[want.length - 1]!, want[want.length - 1]!);
  };
  const exact = inFiles.filter((id) => tailMatches(id, (got, exp) => got === exp || cutForm(got) === exp));
  if (exact.length) return exact;
  if (expected.includes('[')) return [];
  return inFiles.filter((id) => tailMatches(id, (got, exp) => stripParam(got) === exp));
}

/** Statuses of every run test that `expected` denotes (`matchTestIds`); [] when none matches. */
export function matchTestStatus(expected: string, statuses: Record<string, TestStatus>, testFiles: readonly string[]): TestStatus[] {
  return matchTestIds(expected, statuses, testFiles).map((id) => statuses[id]!);
}

/**
 * Grade one instance. An expected id passes when it matches at least one run
 * test and every test it matches has a passing status (F2P_PASSING for
 * FAIL_TO_PASS, P2P_PASSING for PASS_TO_PASS); an id matching nothing fails,
 * as a test missing from SWE-bench's status map does. (When a cut id matches
 * several tests SWE-bench looks at whichever line came last; requiring all of
 * them is stricter.) `resolved` follows SWE-bench: every FAIL_TO_PASS and
 * every PASS_TO_PASS id passes, empty lists counting as passed.
 */
export function gradeInstance(
  inst: { fail_to_pass: readonly string[]; pass_to_pass: readonly string[] },
  statuses: Record<string, TestStatus>,
  testFiles: readonly string[],
): Grading {
  const check = (expected: readonly string[], passing: readonly TestStatus[]) => {
    const success: string[] = [];
    const failure: string[] = [];
    for (const id of expected) {
      const got = matchTestStatus(id, statuses, testFiles);
      (got.length > 0 && got.every((s) => passing.includes(s)) ? success : failure).push(id);
    }
    return { success, failure };
  };
  const f2p = check(inst.fail_to_pass, F2P_PASSING);
  const p2p = check(inst.pass_to_pass, P2P_PASSING);
  return {
    resolved: f2p.failure.length === 0 && p2p.failure.length === 0,
    fail_to_pass: f2p,
    pass_to_pass: p2p,
  };
}
