import { describe, expect, it } from 'vitest';
import { testFilesOf } from '../../scripts/lib/task/instances.js';
import { djangoTestDirectives, djangoTestLabel, isDjangoTestFile } from '../../scripts/lib/testing/directives.js';

const diff = (...paths: string[]): string =>
  paths.map((p) => `diff --git a/${p} b/${p}\nindex 1..2 100644\n--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-x\n+y\n`).join('');

describe('django directives', () => {
  it.each([
    ['tests/a/b.py', 'a.b'],
    ['tests/migrations/test_writer.py', 'migrations.test_writer'],
    ['tests/admin_views/tests.py', 'admin_views.tests'],
    ['django/contrib/auth/tests/test_x.py', 'django.contrib.auth.tests.test_x'],
    ['tests/i18n/sampleproject/locale', 'i18n.sampleproject.locale'],
  ])('labels %s as %s', (file, label) => {
    expect(djangoTestLabel(file)).toBe(label);
  });

  it.each([
    ['tests/admin_views/tests.py', true],
    ['tests/migrations/test_writer.py', true],
    ['tests/forms_tests/models.py', false],
    ['tests/forms_tests/tests/test_forms.py', true],
    ['tests/test_sqlite.py', true],
    ['django/db/models/query.py', false],
  ])('takes %s as a test file: %s', (file, yes) => {
    expect(isDjangoTestFile(file)).toBe(yes);
  });

  it('turns the test files of a test patch into runtests.py labels, non-test files left out', () => {
    const patch = diff('tests/migrations/test_writer.py', 'tests/migrations/models.py', 'tests/admin_views/tests.py', 'tests/fixtures/data.json');
    expect(djangoTestDirectives(testFilesOf(patch))).toEqual(['migrations.test_writer', 'admin_views.tests']);
  });
});
