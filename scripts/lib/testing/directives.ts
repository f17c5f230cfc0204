/**
 * Test directives as SWE-bench's `get_test_directives` makes them: the
 * arguments appended to a repository's test command, from the test files of
 * the test patch (task/instances.ts `testFilesOf`): Django test labels for
 * django, the file paths for every other runner.
 */

/** SWE-bench's `is_django_test_file`: `tests.py`, `test_*`, or anything under a `/tests/` or `/test_` path. */
export function isDjangoTestFile(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base === 'tests.py' || base.startsWith('test_') || path.includes('/tests/') || path.includes('/test_');
}

/** A Django test label from a test file: `tests/a/b.py` → `a.b` (`.py` and a leading `tests/` dropped, `/` → `.`). */
export function djangoTestLabel(path: string): string {
  let d = path.endsWith('.py') ? path.slice(0, -'.py'.length) : path;
  d = d.startsWith('tests/') ? d.slice('tests/'.length) : d;
  return d.replaceAll('/', '.');
}

/** Django's directives: the Django test files as `runtests.py` labels. */
export function djangoTestDirectives(files: readonly string[]): string[] {
  return files.filter(isDjangoTestFile).map(djangoTestLabel);
}
