/**
 * Log parsers by name, as SWE-bench's MAP_REPO_TO_PARSER picks one per
 * repository; each turns one test run's output into a TestSummary whose
 * `tests` map uses the TestStatus vocabulary that grading.ts grades.
 *
 * The pytest variants (`pytest_options`, `pytest_v2`, `matplotlib`,
 * `seaborn`) all read pytest's `-rA` summary with the project's pytest parser;
 * their per-repository key rewrites are applied where ids are compared
 * (grading.ts `swebenchRewrites`). `django` and `sympy` follow SWE-bench's own
 * parsers; django ids are compared through `normalizeDjangoId`.
 */
import { HarnessError } from '../../core/errors.js';
import type { TestStatus, TestSummary } from '../../core/types.js';
import { LOG_PARSER_NAMES, type LogParserName } from '../../task/specs.js';
import { F2P_PASSING, P2P_PASSING, gradeInstance, type Grading } from '../grading.js';
import { parsePytestOutput } from '../pytest.js';
import { normalizeDjangoId, parseDjangoOutput } from './django.js';
import { parseSympyOutput } from './sympy.js';

export { LOG_PARSER_NAMES, type LogParserName };

export interface LogParser {
  name: LogParserName;
  /** One run's output (stdout and stderr merged) and exit code → summary with per-test statuses. */
  parse(output: string, exitCode: number | null, tailLines: number): TestSummary;
  /**
   * How ids are compared: `exact` looks a published id up after `normalizeId`
   * on both sides (SWE-bench's dict lookup); `pytest` uses grading.ts's node-id
   * matching (cut forms, per-repo rewrites, bare names).
   */
  match: 'exact' | 'pytest';
  normalizeId(id: string): string;
}

const identity = (id: string): string => id;
const pytestLike = (name: LogParserName): LogParser => ({ name, parse: parsePytestOutput, match: 'pytest', normalizeId: identity });

export const LOG_PARSERS: Readonly<Record<LogParserName, LogParser>> = {
  pytest: pytestLike('pytest'),
  pytest_options: pytestLike('pytest_options'),
  pytest_v2: pytestLike('pytest_v2'),
  matplotlib: pytestLike('matplotlib'),
  seaborn: pytestLike('seaborn'),
  django: { name: 'django', parse: parseDjangoOutput, match: 'exact', normalizeId: normalizeDjangoId },
  sympy: { name: 'sympy', parse: parseSympyOutput, match: 'exact', normalizeId: identity },
};

/** SWE-bench's MAP_REPO_TO_PARSER_PY, by parser name. Repositories not listed use `pytest` (SWE-bench's default). */
export const REPO_PARSERS: Readonly<Record<string, LogParserName>> = {
  'astropy/astropy': 'pytest_v2',
  'django/django': 'django',
  'marshmallow-code/marshmallow': 'pytest',
  'matplotlib/matplotlib': 'matplotlib',
  'mwaskom/seaborn': 'seaborn',
  'pallets/flask': 'pytest',
  'psf/requests': 'pytest_options',
  'pvlib/pvlib-python': 'pytest',
  'pydata/xarray': 'pytest',
  'pydicom/pydicom': 'pytest_options',
  'pylint-dev/astroid': 'pytest',
  'pylint-dev/pylint': 'pytest_options',
  'pytest-dev/pytest': 'pytest',
  'pyvista/pyvista': 'pytest',
  'scikit-learn/scikit-learn': 'pytest_v2',
  'sqlfluff/sqlfluff': 'pytest',
  'sphinx-doc/sphinx': 'pytest_v2',
  'sympy/sympy': 'sympy',
};

/** The parser called `name`; HarnessError('task') for an unknown name. */
export function logParser(name: string): LogParser {
  if (!(LOG_PARSER_NAMES as readonly string[]).includes(name)) {
    throw new HarnessError('task', `unknown log parser ${JSON.stringify(name)}; known: ${LOG_PARSER_NAMES.join(', ')}`);
  }
  return LOG_PARSERS[name as LogParserName];
}

/** The parser SWE-bench uses for `repo` (`pytest` for repositories it does not list). */
export function logParserForRepo(repo: string): LogParser {
  return LOG_PARSERS[Object.prototype.hasOwnProperty.call(REPO_PARSERS, repo) ? REPO_PARSERS[repo]! : 'pytest'];
}

/**
 * Grade one instance with the parser's way of comparing ids. For `exact`
 * parsers an id passes when its normalised form is in the normalised status
 * map with a passing status (F2P_PASSING / P2P_PASSING), the later line
 * winning where two keys normalise alike; the report keeps the ids as
 * published. `pytest` parsers grade with grading.ts's `gradeInstance`.
 */
export function gradeWithParser(
  parser: LogParser,
  inst: { fail_to_pass: readonly string[]; pass_to_pass: readonly string[] },
  statuses: Record<string, TestStatus>,
  testFiles: readonly string[],
): Grading {
  if (parser.match === 'pytest') return gradeInstance(inst, statuses, testFiles);
  const normalised = normalise(statuses, parser.normalizeId);
  const check = (expected: readonly string[], passing: readonly TestStatus[]) => {
    const success: string[] = [];
    const failure: string[] = [];
    for (const id of expected) {
      const key = parser.normalizeId(id);
      const got = Object.prototype.hasOwnProperty.call(normalised, key) ? normalised[key] : undefined;
      (got !== undefined && passing.includes(got) ? success : failure).push(id);
    }
    return { success, failure };
  };
  const f2p = check(inst.fail_to_pass, F2P_PASSING);
  const p2p = check(inst.pass_to_pass, P2P_PASSING);
  return { resolved: f2p.failure.length === 0 && p2p.failure.length === 0, fail_to_pass: f2p, pass_to_pass: p2p };
}

function normalise(statuses: Record<string, TestStatus>, norm: (id: string) => string): Record<string, TestStatus> {
  const out: Record<string, TestStatus> = {};
  for (const [k, v] of Object.entries(statuses)) {
    const n = norm(k);
    delete out[n];
    out[n] = v;
  }
  return out;
}
