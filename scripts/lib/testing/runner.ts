/**
 * The test-runner seam: what command runs a task's tests and how its output
 * becomes a TestSummary. pytest -rA is today's runner; per-repository runners
 * (django's runtests.py, sympy's bin/test) plug in here, chosen by the specs.
 */
import type { Task, TestSummary } from '../core/types.js';
import { isInstanceTask } from '../task/instances.js';
import { HarnessError } from '../core/errors.js';
import { djangoTestDirectives } from './directives.js';
import { LOG_PARSERS, logParserForRepo, type LogParser } from './parsers/index.js';
import { BEGIN_MARKER, END_MARKER, extractMarked, pytestCommand } from './pytest.js';

/** Which tests to run: a `-k` expression, test paths / node ids, and a task's own command prefix. */
export interface TestSelection {
  k: string | null;
  tests: string[];
  /** A shell prefix the tests are appended to (SWE-bench spec `test_cmd`); null: the runner's own. */
  command?: string | null;
}

export interface TestRunner {
  readonly name: string;
  /** argv that runs the selection (no shell quoting needed: it goes to exec as is). */
  argv(sel: TestSelection): string[];
  /** The run's output (between the markers) and exit code, read as a summary. */
  parse(body: string, exitCode: number | null, tailLines: number): TestSummary;
  /** The parser whose ids the per-test map uses (how grading compares ids). */
  readonly parser: LogParser;
}

/**
 * The runner for a log parser: pytest's own command unless the task names one
 * (SWE-bench specs' `test_cmd`, the tests appended); django gets its test
 * files as runtests.py labels (`tests/a/b.py` → `a.b`); -k only for pytest.
 */
export function runnerFor(parser: LogParser): TestRunner {
  const pytest = parser.match === 'pytest';
  return {
    name: parser.name,
    parser,
    parse: parser.parse,
    argv(sel) {
      if (!sel.command) {
        if (!pytest) throw new HarnessError('task', `the ${parser.name} runner needs the task's test command (a spec's test_cmd)`);
        return pytestCommand({ k: sel.k, tests: sel.tests });
      }
      const django = parser.name === 'django';
      const tests = django ? djangoTestDirectives(sel.tests) : sel.tests;
      const k = pytest && sel.k ? ['-k', sel.k] : [];
      // runtests.py imports whatever `django` Python finds: the checkout's, as SWE-bench's editable
      // install makes it, never another Django installed in the image (Debian's, in ours).
      const prefix = django ? 'export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"; ' : '';
      return ['bash', '-c', `${prefix}${sel.command} "$@"`, 'test_cmd', ...k, ...tests];
    },
  };
}

/** pytest -rA: plain tasks, and SWE-bench repositories its parser reads. */
export const pytestRunner: TestRunner = runnerFor(LOG_PARSERS.pytest);

/** The runner of a task: pytest for plain tasks; for an instance, its spec's log parser, else the one SWE-bench uses for its repository. */
export function runnerForTask(task: Task): TestRunner {
  if (!isInstanceTask(task)) return pytestRunner;
  return runnerFor(task.log_parser ? LOG_PARSERS[task.log_parser] : logParserForRepo(task.instance_repo));
}

/**
 * The runner with its command run inside an environment a shell prelude enters
 * (a prebuilt image's `source .../activate && conda activate testbed`). The
 * runner's argv goes on as "$@", so its quoting is kept word for word.
 */
export function inEnv(runner: TestRunner, prelude: string | null): TestRunner {
  if (!prelude) return runner;
  return { ...runner, argv: (sel) => ['bash', '-c', `${prelude} && exec "$@"`, 'env_prelude', ...runner.argv(sel)] };
}

/**
 * argv that runs `argv` between two markers carrying an unguessable nonce, so
 * the test output can be told apart from anything the stage printed around it.
 */
export function markedArgv(argv: string[], nonce: string): string[] {
  const script = `echo "${BEGIN_MARKER} ${nonce}"; "$@"; rc=$?; echo "${END_MARKER} ${nonce} exit=$rc"; exit $rc`;
  return ['sh', '-c', script, 'tests', ...argv];
}

/**
 * A test run's output read by its runner: the marked body, the runner's own
 * exit code, and whether it ran to the end. `headCut`: only the tail of the
 * output was kept (a chatty run), so the begin marker may be gone.
 */
export function readTestOutput(runner: TestRunner, output: string, nonce: string, clientExit: number | null, tailLines: number, headCut = false) {
  const marked = extractMarked(output, nonce, headCut);
  const exitCode = marked.complete ? marked.markerExit : clientExit;
  return { summary: runner.parse(marked.body || output, exitCode, tailLines), complete: marked.complete };
}

/** "3 passed, 1 failed, 0 errors, 2 skipped": the one way progress lines and observations count tests. */
export function countsLine(s: Pick<TestSummary, 'counts'>): string {
  const c = s.counts;
  return `${c.passed} passed, ${c.failed} failed, ${c.errors} errors, ${c.skipped} skipped`;
}
