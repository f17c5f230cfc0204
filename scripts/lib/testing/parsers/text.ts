/**
 * Python string semantics the SWE-bench log parsers rely on (`str.strip()`,
 * `str.split()` with no separator), and a status map where a later write wins.
 */
import type { TestCounts, TestStatus, TestSummary } from '../../core/types.js';
import { tailLinesOf } from '../pytest.js';

/** Characters Python's `str.isspace()` accepts (what `strip()` and `split()` remove). */
const PY_WS = '[ \\t\\n\\r\\x0b\\x0c\\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const STRIP_RE = new RegExp(`^${PY_WS}+|${PY_WS}+$`, 'g');
const SPLIT_RE = new RegExp(`${PY_WS}+`);

/** Python's `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(STRIP_RE, '');
}

/** Python's `s.split()`: whitespace runs, no empty fields. */
export function pySplit(s: string): string[] {
  const t = pyStrip(s);
  return t === '' ? [] : t.split(SPLIT_RE);
}

/** Python's `s.rsplit(sep, 1)[0]`. */
export function beforeLast(s: string, sep: string): string {
  const i = s.lastIndexOf(sep);
  return i < 0 ? s : s.slice(0, i);
}

/**
 * A test → status map as a Python dict fills it: a later write replaces the
 * status. The key is moved to the end, so iterating the result follows the
 * order of the last writes (what "the later line wins" needs once ids are
 * normalised and two keys fall together).
 */
export class StatusMap {
  private readonly map = new Map<string, TestStatus>();
  set(test: string, status: TestStatus): void {
    this.map.delete(test);
    this.map.set(test, status);
  }
  toRecord(): Record<string, TestStatus> {
    const out: Record<string, TestStatus> = Object.create(null) as Record<string, TestStatus>;
    for (const [k, v] of this.map) out[k] = v;
    return { ...out };
  }
}

export function emptyCounts(): TestCounts {
  return { passed: 0, failed: 0, errors: 0, skipped: 0, xfailed: 0, xpassed: 0 };
}

/** Strip ANSI colour codes and turn CRLF/CR into LF (for summaries only; the SWE-bench rules see the raw text). */
export function plainText(s: string): string {
  return s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r\n?/g, '\n');
}

/**
 * Overall status from a runner's own summary, with the same rules as the
 * pytest parser: no exit code → error; no summary → error; nothing ran →
 * failed; exit 0 with a clean summary and something passed → passed.
 */
export function summarise(
  runner: string,
  output: string,
  exitCode: number | null,
  tailLines: number,
  tests: Record<string, TestStatus>,
  counts: TestCounts | null,
  cleanSummary: boolean,
): TestSummary {
  const tail = tailLinesOf(plainText(output), tailLines);
  const c = counts ?? emptyCounts();
  const collected = c.passed + c.failed + c.errors + c.skipped + c.xfailed + c.xpassed;
  const base = { exit_code: exitCode, collected, counts: c, tests, tail };
  if (exitCode === null) return { ...base, status: 'error', note: `${runner} did not finish (no exit code)` };
  if (counts === null) return { ...base, status: 'error', note: `no ${runner} summary in the output (exit code ${exitCode})` };
  if (collected === 0) return { ...base, status: 'failed', note: `no tests ran (exit code ${exitCode})` };
  if (exitCode === 0) {
    if (!cleanSummary) return { ...base, status: 'failed', note: `exit code 0 but the ${runner} summary reports failures` };
    if (c.passed + c.xpassed === 0) return { ...base, status: 'failed', note: 'no test passed' };
    return { ...base, status: 'passed', note: null };
  }
  return { ...base, status: 'failed', note: cleanSummary ? `exit code ${exitCode} but the ${runner} summary reports no failure` : null };
}
