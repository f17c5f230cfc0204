import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOG_PARSERS } from '../../scripts/lib/testing/parsers/index.js';
import { pytestRunner, runnerFor } from '../../scripts/lib/testing/runner.js';

const django = runnerFor(LOG_PARSERS.django);

describe('test runners', () => {
  it('gives django its test files as runtests.py labels and no -k', () => {
    const argv = django.argv({ k: 'x', tests: ['tests/migrations/test_writer.py', 'tests/admin_views/tests.py'], command: './tests/runtests.py --verbosity 2' });
    expect(argv.slice(4)).toEqual(['migrations.test_writer', 'admin_views.tests']);
  });

  it('keeps -k and file paths for a pytest test command', () => {
    const argv = pytestRunner.argv({ k: 'a and b', tests: ['t/test_x.py'], command: 'pytest -rA' });
    expect(argv.slice(4)).toEqual(['-k', 'a and b', 't/test_x.py']);
  });

  it('refuses to run django without its test command', () => {
    expect(() => django.argv({ k: null, tests: [] })).toThrow(/needs the task's test command/);
  });

  it("runs django's tests against the checkout's django, not another one installed (the image has Debian's)", () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-django-path-'));
    fs.mkdirSync(path.join(repo, 'django'));
    fs.writeFileSync(path.join(repo, 'django', '__init__.py'), "VERSION = 'the checkout'\n");
    const [cmd, ...args] = django.argv({ k: null, tests: [], command: 'cd /; python3 -c "import django; print(django.VERSION)"' });
    const r = spawnSync(cmd!, args, { cwd: repo, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('the checkout');
  });
});
