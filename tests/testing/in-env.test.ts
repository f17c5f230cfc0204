/** A runner's command inside an env prelude keeps every argument word for word. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inEnv, pytestRunner, type TestRunner } from '../../scripts/lib/testing/runner.js';

const echoRunner: TestRunner = { ...pytestRunner, argv: (sel) => ['printf', '%s\\n', ...sel.tests] };

describe('inEnv', () => {
  it('runs the argv after the prelude, in the prelude\'s environment, quoting intact', () => {
    const tests = ["tests/t.py::test_x[two words]", "it's", '$HOME', '"q"', '; echo hacked'];
    const argv = inEnv({ ...echoRunner, argv: (sel) => ['bash', '-c', 'printf "%s\\n" "$MARK" "$@"', 'x', ...sel.tests] }, 'export MARK=entered').argv({ k: null, tests });
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    expect(r.stdout).toBe(['entered', ...tests].map((t) => `${t}\n`).join(''));
  });

  it('does not run the tests when the prelude fails', () => {
    const argv = inEnv(echoRunner, 'false').argv({ k: null, tests: ['ran'] });
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
  });

  it('leaves the runner as it is without a prelude', () => {
    expect(inEnv(pytestRunner, null)).toBe(pytestRunner);
  });
});
