import { describe, expect, it } from 'vitest';
import { LOG_PARSERS, LOG_PARSER_NAMES, REPO_PARSERS, gradeWithParser, logParser, logParserForRepo } from '../../../scripts/lib/testing/parsers/index.js';
import { parsePytestOutput } from '../../../scripts/lib/testing/pytest.js';
import { catchTaskError } from '../../support/helpers.js';

describe('the log parser registry', () => {
  it('has exactly the parser names specs may name', () => {
    expect(Object.keys(LOG_PARSERS).sort()).toEqual([...LOG_PARSER_NAMES].sort());
    for (const name of LOG_PARSER_NAMES) expect(logParser(name).name).toBe(name);
  });

  it.each([
    ['django/django', 'django'],
    ['sympy/sympy', 'sympy'],
    ['psf/requests', 'pytest_options'],
    ['astropy/astropy', 'pytest_v2'],
    ['matplotlib/matplotlib', 'matplotlib'],
    ['mwaskom/seaborn', 'seaborn'],
    ['pytest-dev/pytest', 'pytest'],
    ['someone/else', 'pytest'],
  ])('picks for %s the parser %s, as SWE-bench\'s MAP_REPO_TO_PARSER does', (repo, name) => {
    expect(logParserForRepo(repo).name).toBe(name);
  });

  it('keeps the project pytest parser for every pytest variant', () => {
    for (const name of ['pytest', 'pytest_options', 'pytest_v2', 'matplotlib', 'seaborn'] as const) {
      expect(LOG_PARSERS[name].parse).toBe(parsePytestOutput);
      expect(LOG_PARSERS[name].match).toBe('pytest');
    }
    expect(Object.values(REPO_PARSERS).every((n) => (LOG_PARSER_NAMES as readonly string[]).includes(n))).toBe(true);
  });

  it('refuses an unknown parser name', () => {
    expect(catchTaskError(() => logParser('nose')).message).toBe(
      'unknown log parser "nose"; known: pytest, pytest_options, pytest_v2, matplotlib, seaborn, django, sympy',
    );
  });

  it('grades pytest parsers with the node-id matching of grading.ts', () => {
    const g = gradeWithParser(LOG_PARSERS.pytest, { fail_to_pass: ['test_x'], pass_to_pass: [] }, { 'tests/t.py::test_x': 'PASSED' }, ['tests/t.py']);
    expect(g.resolved).toBe(true);
  });
});
