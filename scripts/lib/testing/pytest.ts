/**
 * Pure helpers around pytest: the argv that runs it, cutting one run's
 * output out of a stage's output by its nonce markers, and parsing pytest's
 * `-rA` short test summary into a TestSummary.
 *
 * Parsing only trusts the *last* "short test summary info" section and the
 * final "=== N passed ... in 0.12s ===" line after it: tests' own output
 * (shown in the PASSES/FAILURES sections with -rA, or raw with -s) comes
 * before that section, so a test printing `PASSED x` or a fake summary line
 * cannot fake results. Code that controls the process (atexit handlers,
 * `os._exit`) can still print after pytest's summary; that is out of reach of
 * any text parser.
 */
import { HarnessError } from '../core/errors.js';
import type { TestCounts, TestStatus, TestSummary } from '../core/types.js';

// ---------------------------------------------------------------------------
// Command

export interface PytestCommandOptions {
  /** `-k` expression, or null for none. */
  k: string | null;
  /** Test paths / node ids (empty: pytest's own discovery). */
  tests: string[];
  /** Python executable inside the container (default `python3`). */
  python?: string;
}

/**
 * argv for one pytest run. Meant for `docker exec` without a shell, so values
 * are passed as they are (no quoting).
 * `-rA` makes pytest list every test's outcome in the short test summary,
 * `-p no:cacheprovider` keeps it from writing `.pytest_cache` into the repo,
 * `--tb=short` keeps tracebacks small.
 */
export function pytestCommand(opts: PytestCommandOptions): string[] {
  return [
    opts.python ?? 'python3',
    '-m',
    'pytest',
    '-rA',
    '-p',
    'no:cacheprovider',
    '--tb=short',
    ...(opts.k ? ['-k', opts.k] : []),
    ...opts.tests,
  ];
}

// ---------------------------------------------------------------------------
// Markers

export const BEGIN_MARKER = '@@SWE-HARNESS-BEGIN';
export const END_MARKER = '@@SWE-HARNESS-END';

export interface MarkedOutput {
  /** Text between the last begin marker and the first matching end marker after it. */
  body: string;
  /** `exit=<n>` of the end marker, or null when there is none. */
  markerExit: number | null;
  /** True when the end marker was seen (a killed run has none). */
  complete: boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Cut the output of the wrapped command out of a stage's output.
 *
 * The stage wrapper prints `@@SWE-HARNESS-BEGIN <nonce>` on its own line
 * before the command and `@@SWE-HARNESS-END <nonce> exit=<n>` after it. The
 * body runs from the line after the LAST begin marker to the first end
 * marker after it (the end marker may follow output that lacks a final
 * newline; the text before it on that line belongs to the body). Markers
 * with another nonce (tests imitating them) are ordinary text.
 *
 * Without a begin marker the whole output is returned as the body with
 * `complete: false` (the wrapper itself failed; its error is the output) —
 * unless `headCut` says the start of the output was dropped (only its tail was
 * kept): then the begin marker is simply gone and the body runs from the
 * start of what was kept to the end marker.
 * Without an end marker the body runs to the end of the output, also with
 * `complete: false`.
 */
export function extractMarked(output: string, nonce: string, headCut = false): MarkedOutput {
  if (!/^[A-Za-z0-9_.-]+$/.test(nonce)) {
    throw new HarnessError('internal', `invalid marker nonce ${JSON.stringify(nonce)}: letters, digits, _ . - only`);
  }
  const n = escapeRegExp(nonce);
  const beginRe = new RegExp(`(?:^|\\n)${escapeRegExp(BEGIN_MARKER)} ${n}[ \\t\\r]*(?:\\n|$)`, 'g');
  let start = -1;
  for (let m = beginRe.exec(output); m; m = beginRe.exec(output)) {
    start = m.index + m[0].length;
    // The match may have consumed the "\n" that starts the next begin marker's line.
    beginRe.lastIndex = m[0].endsWith('\n') ? start - 1 : start;
  }
  if (start < 0 && !headCut) return { body: output, markerExit: null, complete: false };
  start = Math.max(start, 0);

  const endRe = new RegExp(`${escapeRegExp(END_MARKER)} ${n} exit=(-?\\d+)[ \\t\\r]*(?=\\n|$)`, 'g');
  endRe.lastIndex = start;
  const end = endRe.exec(output);
  if (!end) return { body: output.slice(start), markerExit: null, complete: false };
  let body = output.slice(start, end.index);
  if (body.endsWith('\n')) body = body.slice(0, body.endsWith('\r\n') ? -2 : -1);
  return { body, markerExit: Number.parseInt(end[1]!, 10), complete: true };
}

// ---------------------------------------------------------------------------
// Output parsing

/** Severity of a per-test status; when a node id is reported twice the worse one is kept. */
export const STATUS_SEVERITY: Readonly<Record<TestStatus, number>> = {
  PASSED: 0,
  SKIPPED: 1,
  XFAIL: 2,
  XPASS: 3,
  FAILED: 4,
  ERROR: 5,
};

const ANSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const SHORT_SUMMARY_HEADER_RE = /^=+ short test summary info =+\s*$/;
/** Inner text of the final summary line: counts (or "no tests ran") and the duration. */
const FINAL_INNER_RE =
  /^(no tests ran|\d+ [a-z]+(?: [a-z]+)*(?:, \d+ [a-z]+(?: [a-z]+)*)*) in \d+(?:\.\d+)?(?:s| seconds)(?: \([^)]*\))?$/;
const BORDERED_RE = /^=+ (.+?) =+\s*$/;
const STATUS_LINE_RE = /^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+)$/;
const SKIPPED_COUNT_RE = /^\[(\d+)\] /;

/** The counts part of a final summary line, or null when the line is not one. */
function finalSummaryCounts(line: string): string | null {
  const trimmed = line.trim();
  const bordered = BORDERED_RE.exec(trimmed);
  const inner = bordered ? bordered[1]! : trimmed; // `-q` prints it without the ===
  const m = FINAL_INNER_RE.exec(inner);
  return m ? m[1]! : null;
}

function emptyCounts(): TestCounts {
  return { passed: 0, failed: 0, errors: 0, skipped: 0, xfailed: 0, xpassed: 0 };
}

/** Words of the final summary line that map onto TestCounts; others (deselected, warnings, rerun...) are ignored. */
const COUNT_WORDS: Readonly<Record<string, keyof TestCounts>> = {
  passed: 'passed',
  failed: 'failed',
  error: 'errors',
  errors: 'errors',
  skipped: 'skipped',
  xfailed: 'xfailed',
  xpassed: 'xpassed',
};

function parseCounts(countsText: string): TestCounts {
  const counts = emptyCounts();
  if (countsText === 'no tests ran') return counts;
  for (const part of countsText.split(', ')) {
    const m = /^(\d+) (.+)$/.exec(part);
    if (!m) continue;
    const key = COUNT_WORDS[m[2]!];
    if (key) counts[key] += Number.parseInt(m[1]!, 10);
  }
  return counts;
}

/**
 * Length of the node id at the start of `rest` (the text after the status
 * word of a FAILED/ERROR/SKIPPED/XFAIL/XPASS line).
 *
 * Without a `[` before the first whitespace the id ends at that whitespace
 * (the message follows as ` - msg`, or, for pytest 7's XPASS, ` reason`).
 * With parameters, the id may contain spaces and ` - `; it ends at the first
 * `]` that closes the bracket opened after the test name (depth back to 0 or
 * below) and is followed by end of line or ` - `; failing that, at the first
 * such `]` followed by any whitespace; failing that, at the first ` - `.
 * This keeps `test_x[a - b]` whole and does not run into assertion messages
 * such as `- assert [1] == [2]`.
 */
function nodeIdLength(rest: string): number {
  const ws = rest.search(/\s/);
  const bracket = rest.indexOf('[');
  if (bracket < 0 || (ws >= 0 && ws < bracket)) return ws < 0 ? rest.length : ws;
  let depth = 0;
  let weak = -1;
  for (let j = bracket; j < rest.length; j++) {
    const c = rest[j];
    if (c === '[') depth++;
    else if (c === ']') {
      depth--;
      if (depth <= 0) {
        const after = rest.slice(j + 1);
        if (after === '' || after.startsWith(' - ')) return j + 1;
        if (weak < 0 && /^\s/.test(after)) weak = j + 1;
      }
    }
  }
  if (weak >= 0) return weak;
  const dash = rest.indexOf(' - ');
  return dash >= 0 ? dash : rest.length;
}

/** Last `n` lines of `text`, without trailing blank lines (CRLF tolerated). */
export function tailLinesOf(text: string, n: number): string {
  if (n <= 0) return '';
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(Math.max(0, end - n), end).join('\n');
}

interface SummarySection {
  /** Status lines of the last short test summary section. */
  statusLines: string[];
  /** Counts text of the final summary line, or null when none was found. */
  countsText: string | null;
}

function findSummary(lines: string[]): SummarySection {
  let header = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (SHORT_SUMMARY_HEADER_RE.test(lines[i]!)) {
      header = i;
      break;
    }
  }
  if (header < 0) {
    // No per-test section (nothing ran: no tests, all deselected, usage
    // error). The last summary line of the whole output carries the counts.
    for (let i = lines.length - 1; i >= 0; i--) {
      const counts = finalSummaryCounts(lines[i]!);
      if (counts !== null) return { statusLines: [], countsText: counts };
    }
    return { statusLines: [], countsText: null };
  }
  // The section ends at the LAST summary line after the header: under CI=true
  // or -vv pytest prints failure messages in full, so an exception message
  // can put a fake "=== 9 passed in 0.01s ===" line inside the section.
  // Without a summary line (`-qq`, or a run killed inside the section) the
  // section runs to the end.
  let end = lines.length;
  let countsText: string | null = null;
  for (let i = lines.length - 1; i > header; i--) {
    const counts = finalSummaryCounts(lines[i]!);
    if (counts !== null) {
      end = i;
      countsText = counts;
      break;
    }
  }
  return { statusLines: lines.slice(header + 1, end), countsText };
}

/**
 * Parse one pytest run's output (run with `-rA`).
 *
 * Status rules, in order:
 * - exit code null (killed, no end marker) -> `error` (the caller turns it
 *   into `timeout` when it knows the run timed out);
 * - exit 5, or no test counted at all -> `failed`, note "no tests collected";
 * - exit 3 / 4 -> `error` (pytest internal error / usage error, e.g. a test
 *   path that does not exist);
 * - neither a summary line nor a per-test line found -> `error` (pytest
 *   never got to report: missing module, crash at start-up);
 * - exit 2 with errors in the counts -> `failed`, note "collection errors"
 *   (SWE-bench treats tests that cannot be collected as failing); exit 2
 *   otherwise -> `error` (interrupted);
 * - exit 0: `passed` when nothing failed or errored and at least one test
 *   passed or xpassed; otherwise `failed` with a note (all skipped / only
 *   xfailed; or counts that contradict the exit code);
 * - exit 1 -> `failed` (with a note when the counts show no failure);
 * - any other exit code (e.g. 137 when killed, 139 on a segfault) -> `failed`
 *   with a note naming it: pytest started and the tests took it down.
 *
 * `collected` is the sum of all counts (pytest counts reports, so a test that
 * passes and then errors in teardown counts twice).
 */
export function parsePytestOutput(body: string, exitCode: number | null, tailLines: number): TestSummary {
  const text = body.replace(ANSI_RE, '').replace(/\r\n?/g, '\n');
  const { statusLines, countsText } = findSummary(text.split('\n'));
  const read = readStatusLines(statusLines);
  const counts = countsText !== null ? parseCounts(countsText) : countsOfTally(read.tally);
  const collected = counts.passed + counts.failed + counts.errors + counts.skipped + counts.xfailed + counts.xpassed;
  const notes: string[] = [];
  if (read.ignoredPassed) {
    notes.push(`ignored ${read.ignoredPassed} PASSED line(s) after other statuses (pytest prints PASSED first)`);
  }
  if (countsText !== null) {
    const disagreement = linesVersusCounts(read.tally, counts);
    if (disagreement) notes.push(disagreement);
  }
  const reported = countsText !== null || Object.keys(read.tests).length > 0 || read.foldedSkips > 0;
  const status = decideStatus(exitCode, counts, collected, reported);
  if (status.note) notes.unshift(status.note);
  return {
    status: status.status,
    exit_code: exitCode,
    collected,
    counts,
    note: notes.length ? notes.join('; ') : null,
    tests: read.tests,
    tail: tailLinesOf(text, tailLines),
  };
}

type Tally = Record<TestStatus, number>;

/** The per-test lines of the short summary: each id's worst status, a tally per status, and what was set aside. */
function readStatusLines(statusLines: string[]) {
  const tests: Record<string, TestStatus> = {};
  const tally: Tally = { PASSED: 0, FAILED: 0, ERROR: 0, SKIPPED: 0, XFAIL: 0, XPASS: 0 };
  let foldedSkips = 0;
  let seenOther = false;
  let ignoredPassed = 0;
  for (const raw of statusLines) {
    const m = STATUS_LINE_RE.exec(raw.trimEnd());
    if (!m) continue; // continuation of a multi-line message, "!!! Interrupted !!!", plugin lines
    const status = m[1] as TestStatus;
    const rest = m[2]!;
    // `-rA` means "PpsxXEf": the PASSED block comes first (pytest >= 4.6) and
    // PASSED lines carry no message. A PASSED line after any other status
    // line is part of a multi-line message printed in full (CI=true, -vv).
    if (status !== 'PASSED') seenOther = true;
    else if (seenOther) {
      ignoredPassed++;
      continue;
    }
    const folded = status === 'SKIPPED' ? SKIPPED_COUNT_RE.exec(rest) : null;
    if (folded) {
      // `SKIPPED [3] path:line: reason`: no node id, only a count.
      const n = Number.parseInt(folded[1]!, 10);
      foldedSkips += n;
      tally.SKIPPED += n;
      continue;
    }
    // A PASSED line never carries a message: everything after the word is the id.
    const id = status === 'PASSED' ? rest.trim() : rest.slice(0, nodeIdLength(rest)).trim();
    if (!id) continue;
    tally[status]++;
    const prev = tests[id];
    if (prev === undefined || STATUS_SEVERITY[status] > STATUS_SEVERITY[prev]) tests[id] = status;
  }
  return { tests, tally, foldedSkips, ignoredPassed };
}

function countsOfTally(t: Tally): TestCounts {
  return { passed: t.PASSED, failed: t.FAILED, errors: t.ERROR, skipped: t.SKIPPED, xfailed: t.XFAIL, xpassed: t.XPASS };
}

/**
 * More status lines than the final counts allow: something printed lines that
 * look like pytest's (e.g. a multi-line failure message under CI=true or -vv).
 */
function linesVersusCounts(tally: Tally, counts: TestCounts): string | null {
  const counted = countsOfTally(tally);
  const keys: Array<[TestStatus, keyof TestCounts]> = [
    ['PASSED', 'passed'], ['FAILED', 'failed'], ['ERROR', 'errors'], ['SKIPPED', 'skipped'], ['XFAIL', 'xfailed'], ['XPASS', 'xpassed'],
  ];
  const extra = keys.filter(([, k]) => counted[k] > counts[k]).map(([st, k]) => `${counted[k]} ${st} lines for ${counts[k]} counted`);
  return extra.length ? `per-test lines disagree with the final counts (${extra.join(', ')})` : null;
}

function describeCounts(c: TestCounts): string {
  const parts: string[] = [];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.errors) parts.push(`${c.errors} errors`);
  if (c.passed) parts.push(`${c.passed} passed`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.xfailed) parts.push(`${c.xfailed} xfailed`);
  if (c.xpassed) parts.push(`${c.xpassed} xpassed`);
  return parts.join(', ') || 'nothing';
}

function decideStatus(
  exitCode: number | null,
  counts: TestCounts,
  collected: number,
  reported: boolean,
): { status: TestSummary['status']; note: string | null } {
  if (exitCode === null) {
    return { status: 'error', note: 'pytest did not finish (no exit code)' };
  }
  if (exitCode === 5) return { status: 'failed', note: 'no tests collected (exit code 5)' };
  if (exitCode === 3) return { status: 'error', note: 'pytest internal error (exit code 3)' };
  if (exitCode === 4) return { status: 'error', note: 'pytest usage error (exit code 4)' };
  if (!reported) {
    return { status: 'error', note: `no pytest summary in the output (exit code ${exitCode})` };
  }
  if (collected === 0) return { status: 'failed', note: `no tests collected (exit code ${exitCode})` };
  const bad = counts.failed + counts.errors;
  if (exitCode === 2) {
    return counts.errors > 0
      ? { status: 'failed', note: `collection errors: ${counts.errors} errors, pytest interrupted (exit code 2)` }
      : { status: 'error', note: 'pytest interrupted (exit code 2)' };
  }
  if (exitCode === 0) {
    if (bad > 0) {
      return { status: 'failed', note: `exit code 0 but the summary shows ${describeCounts(counts)}` };
    }
    if (counts.passed + counts.xpassed === 0) {
      return { status: 'failed', note: `no test passed (${describeCounts(counts)})` };
    }
    return { status: 'passed', note: null };
  }
  if (exitCode === 1) {
    return bad > 0
      ? { status: 'failed', note: null }
      : { status: 'failed', note: `exit code 1 but the summary shows ${describeCounts(counts)}` };
  }
  return { status: 'failed', note: `pytest exited with code ${exitCode} (${describeCounts(counts)} before that)` };
}
