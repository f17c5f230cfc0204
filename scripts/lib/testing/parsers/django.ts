/**
 * Django's `tests/runtests.py --verbosity 2` output (unittest's verbose lines),
 * read with the rules of SWE-bench's `parse_log_django` so verdicts match its own.
 *
 * Keys are what precedes ` ... ` on a status line: `test_x (app.mod.Class)`,
 * `test_x (app.mod.Class.test_x)` on Python 3.11+, or a docstring's first line
 * when the test has one. The rules, in SWE-bench's order, per stripped line:
 * - a line holding `--version is equivalent to version` passes that name;
 * - a line with ` ... ` remembers its left part as the previous test;
 * - ending ` ... ok` / ` ... OK` / ` ...  OK` → PASSED (with SWE-bench's
 *   django__django-7188 special case for a migration line run into it);
 * - containing ` ... skipped` → SKIPPED; ending ` ... FAIL` → FAILED;
 *   ending ` ... ERROR` → ERROR;
 * - `FAIL: x ...` / `ERROR: x ...` (the failure report headers) → FAILED /
 *   ERROR for the bare method name `x` (the second word only);
 * - a line starting with `ok` → PASSED for the previous test (a status after
 *   captured output; any captured line starting with "ok" counts too);
 * - then, over the whole log, three multi-line patterns where a runner message
 *   split a test from its `ok`.
 * `expected failure` and `unexpected success` are never recorded, so such a
 * test is missing (a failure for grading), as in SWE-bench. A later line
 * overwrites an earlier one for the same key.
 */
import type { TestCounts, TestStatus, TestSummary } from '../../core/types.js';
import { StatusMap, beforeLast, emptyCounts, plainText, pySplit, pyStrip, summarise } from './text.js';

const PASS_SUFFIXES = [' ... ok', ' ... OK', ' ...  OK'] as const;
const MIGRATION_7188 = 'Applying sites.0002_alter_domain_unique...test_no_migrations';

// Python's re.MULTILINE `^`/`$` only see "\n"; `.` matches anything but "\n".
const RUN_TOGETHER_PATTERNS: readonly RegExp[] = [
  /(?<![^\n])([^\n]*?)\s\.\.\.\sTesting against Django installed in ([\s\S]*?) silenced\)\.\nok(?![^\n])/g,
  /(?<![^\n])([^\n]*?)\s\.\.\.\sInternal Server Error: \/([^\n]*)\/\nok(?![^\n])/g,
  /(?<![^\n])([^\n]*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok(?![^\n])/g,
];

/** Per-test statuses of a Django test run, keyed and decided as SWE-bench's `parse_log_django` does. */
export function parseDjangoLog(log: string): Record<string, TestStatus> {
  const map = new StatusMap();
  let prevTest: string | null = null;
  for (const raw of log.split('\n')) {
    let line = pyStrip(raw);
    if (line.includes('--version is equivalent to version')) map.set('--version is equivalent to version', 'PASSED');
    if (line.includes(' ... ')) prevTest = line.split(' ... ')[0]!;
    for (const suffix of PASS_SUFFIXES) {
      if (line.endsWith(suffix)) {
        if (line.startsWith(MIGRATION_7188)) line = pyStrip(line.slice(line.indexOf('...') + 3));
        map.set(beforeLast(line, suffix), 'PASSED');
        break;
      }
    }
    if (line.includes(' ... skipped')) map.set(line.split(' ... skipped')[0]!, 'SKIPPED');
    if (line.endsWith(' ... FAIL')) map.set(line.split(' ... FAIL')[0]!, 'FAILED');
    if (line.startsWith('FAIL:')) {
      const name = pySplit(line)[1]; // SWE-bench would crash on a bare "FAIL:"; we skip it
      if (name !== undefined) map.set(name, 'FAILED');
    }
    if (line.endsWith(' ... ERROR')) map.set(line.split(' ... ERROR')[0]!, 'ERROR');
    if (line.startsWith('ERROR:')) {
      const name = pySplit(line)[1];
      if (name !== undefined) map.set(name, 'ERROR');
    }
    if (line.startsWith('ok') && prevTest !== null) map.set(prevTest, 'PASSED');
  }
  for (const re of RUN_TOGETHER_PATTERNS) {
    for (const m of log.matchAll(re)) map.set(m[1]!, 'PASSED');
  }
  return map.toRecord();
}

const PY311_ID_RE = /^(\S+) \(([^\s()]+)\.([^\s.()]+)\)$/;

/**
 * The Python < 3.11 form of a unittest id: `test_x (app.mod.Class.test_x)`
 * → `test_x (app.mod.Class)`; every other id (old form, docstring lines,
 * bare names) unchanged. Apply it to both the published ids and the parsed
 * keys when comparing, so a run on a newer Python matches ids SWE-bench
 * published from an older one, and the reverse.
 */
export function normalizeDjangoId(id: string): string {
  const m = PY311_ID_RE.exec(id);
  return m && m[3] === m[1] ? `${m[1]} (${m[2]})` : id;
}

/** A status map with normalised keys; where two keys fall together the later line wins. */
export function normalizeDjangoStatuses(statuses: Record<string, TestStatus>): Record<string, TestStatus> {
  const map = new StatusMap();
  for (const [k, v] of Object.entries(statuses)) map.set(normalizeDjangoId(k), v);
  return map.toRecord();
}

const RAN_RE = /^Ran (\d+) tests? in \d+(?:\.\d+)?s$/;
const RESULT_RE = /^(OK|FAILED)(?: \((.*)\))?$/;
const RESULT_WORDS: Readonly<Record<string, keyof TestCounts>> = {
  failures: 'failed',
  errors: 'errors',
  skipped: 'skipped',
  'expected failures': 'xfailed',
  'unexpected successes': 'xpassed',
};

/** Counts from unittest's last `Ran N tests` line and the `OK` / `FAILED (...)` line after it. */
function unittestCounts(output: string): { counts: TestCounts; clean: boolean } | null {
  const lines = plainText(output).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const ran = RAN_RE.exec(lines[i]!.trim());
    if (!ran) continue;
    const counts = emptyCounts();
    const total = Number.parseInt(ran[1]!, 10);
    let clean = false;
    for (let j = i + 1; j < lines.length; j++) {
      const t = lines[j]!.trim();
      if (t === '') continue;
      const res = RESULT_RE.exec(t);
      if (res) {
        clean = res[1] === 'OK';
        for (const part of (res[2] ?? '').split(', ')) {
          const m = /^(.+)=(\d+)$/.exec(part);
          const key = m ? RESULT_WORDS[m[1]!] : undefined;
          if (key) counts[key] += Number.parseInt(m![2]!, 10);
        }
      }
      break;
    }
    counts.passed = Math.max(0, total - counts.failed - counts.errors - counts.skipped - counts.xfailed - counts.xpassed);
    return { counts, clean };
  }
  return null;
}

/** One Django run as a TestSummary: per-test statuses by `parseDjangoLog`, counts from unittest's own summary. */
export function parseDjangoOutput(output: string, exitCode: number | null, tailLines: number): TestSummary {
  const summary = unittestCounts(output);
  return summarise('unittest', output, exitCode, tailLines, parseDjangoLog(output), summary?.counts ?? null, summary?.clean ?? false);
}
