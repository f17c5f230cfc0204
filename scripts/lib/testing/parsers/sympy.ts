/**
 * sympy's `bin/test -C --verbose` output, read with the rules of SWE-bench's
 * `parse_log_sympy` so verdicts match its own.
 *
 * - Every failure-report header `____ path/to/test_x.py:test_name ____` (a
 *   regex over the whole log) → FAILED for `path/to/test_x.py:test_name`,
 *   whether the test failed or raised;
 * - then per stripped line starting with `test_`: ending ` E` → ERROR, ` F` →
 *   FAILED, ` ok` → PASSED, keyed by the first word.
 * Skips (`s`), slow-skips (`w`), expected failures (`f`) and xpasses (`X`)
 * are never recorded. The last test of each file carries the file's `[OK]` /
 * `[FAIL]` tag on its line, so it matches no rule (a FAIL there is still
 * caught by its report header); a status that follows printed output on a
 * later line is missed too. That is what SWE-bench's published ids reflect.
 */
import type { TestCounts, TestStatus, TestSummary } from '../../core/types.js';
import { StatusMap, emptyCounts, plainText, pySplit, pyStrip, summarise } from './text.js';

/** Python's `(_*) (.*)\.py:(.*) (_*)` with `.` not crossing "\n". */
const HEADER_RE = /(_*) ([^\n]*)\.py:([^\n]*) (_*)/g;

/** Per-test statuses of a sympy test run, keyed and decided as SWE-bench's `parse_log_sympy` does. */
export function parseSympyLog(log: string): Record<string, TestStatus> {
  const map = new StatusMap();
  for (const m of log.matchAll(HEADER_RE)) map.set(`${m[2]}.py:${m[3]}`, 'FAILED');
  for (const raw of log.split('\n')) {
    const line = pyStrip(raw);
    if (!line.startsWith('test_')) continue;
    const name = pySplit(line)[0]!;
    if (line.endsWith(' E')) map.set(name, 'ERROR');
    if (line.endsWith(' F')) map.set(name, 'FAILED');
    if (line.endsWith(' ok')) map.set(name, 'PASSED');
  }
  return map.toRecord();
}

const COUNT_WORDS: ReadonlyArray<[RegExp, keyof TestCounts]> = [
  [/^(\d+) passed$/, 'passed'],
  [/^(\d+) failed$/, 'failed'],
  [/^(\d+) skipped$/, 'skipped'],
  [/^(\d+) expected to fail$/, 'xfailed'],
  [/^(\d+) expected to fail but passed$/, 'xpassed'],
  [/^(\d+) exceptions?$/, 'errors'],
];

/** Counts from the last `tests finished: ... in N seconds` summary (which may wrap onto a second line). */
function sympyCounts(output: string): { counts: TestCounts; clean: boolean } | null {
  const text = plainText(output);
  const at = text.lastIndexOf('tests finished:');
  if (at < 0) return null;
  const m = /^tests finished:([\s\S]*?)\bin \d+(?:\.\d+)? seconds/.exec(text.slice(at));
  if (!m) return null;
  const counts = emptyCounts();
  for (const part of m[1]!.replace(/\s+/g, ' ').split(',')) {
    const p = part.trim();
    for (const [re, key] of COUNT_WORDS) {
      const c = re.exec(p);
      if (c) counts[key] += Number.parseInt(c[1]!, 10);
    }
  }
  const clean = counts.failed + counts.errors === 0 && !/DO \*NOT\* COMMIT!/.test(text.slice(at));
  return { counts, clean };
}

/** One sympy run as a TestSummary: per-test statuses by `parseSympyLog`, counts from the runner's summary. */
export function parseSympyOutput(output: string, exitCode: number | null, tailLines: number): TestSummary {
  const summary = sympyCounts(output);
  return summarise('sympy', output, exitCode, tailLines, parseSympyLog(output), summary?.counts ?? null, summary?.clean ?? false);
}
