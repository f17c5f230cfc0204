import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeInstall, findInstance, instanceToRow, instanceToTask, loadInstances, parseInstances, testFilesOf, type Instance } from '../../scripts/lib/task/instances.js';
import { checkPatch } from '../../scripts/lib/run/guardrails.js';
import type { EnvSpec } from '../../scripts/lib/task/specs.js';
import { TASK_FIELDS } from '../../scripts/lib/task/tasks.js';
import { catchTaskError } from '../support/helpers.js';
import { patchFilesOf } from '../../scripts/lib/core/diff.js';


const GOLD_PATCH = `diff --git a/requests/sessions.py b/requests/sessions.py
--- a/requests/sessions.py
+++ b/requests/sessions.py
@@ -425,7 +425,7 @@ def request(self, method, url,
             If Tuple, ('cert', 'key') pair.
         """
 
-        method = builtin_str(method)
+        method = to_native_string(method)
 
         # Create the Request.
         req = Request(
`;

const TEST_PATCH = `diff --git a/test_requests.py b/test_requests.py
--- a/test_requests.py
+++ b/test_requests.py
@@ -1389,6 +1389,11 @@ def test_total_timeout_connect(self):
         except ConnectTimeout:
             pass
 
+    def test_encoded_methods(self):
+        """See: https://github.com/kennethreitz/requests/issues/2316"""
+        r = requests.request(b'GET', httpbin('get'))
+        assert r.ok
+
 
 SendCall = collections.namedtuple('SendCall', ('args', 'kwargs'))
 
`;

/** A row shaped like SWE-bench Lite's psf__requests-2317 (text invented, shape kept). */
const LITE_ROW = {
  repo: 'psf/requests',
  instance_id: 'psf__requests-2317',
  base_commit: '091991be0da19de9108dbe5e3752917fea3d7fdc',
  patch: GOLD_PATCH,
  test_patch: TEST_PATCH,
  problem_statement: 'method = builtin_str(method) problem\n\nIn requests/sessions.py is a command:\n\nmethod = builtin_str(method)\nConverts method from b\'GET\' to "b\'GET\'"...',
  hints_text: 'Ugh. This should have been caught and replaced with `to_native_str`. This is definitely a requests bug.',
  created_at: '2014-11-01T02:20:16Z',
  version: '2.4',
  FAIL_TO_PASS: '["test_requests.py::RequestsTestCase::test_HTTP_302_ALLOW_REDIRECT_GET", "test_requests.py::RequestsTestCase::test_encoded_methods"]',
  PASS_TO_PASS: '["test_requests.py::RequestsTestCase::test_BASICAUTH_TUPLE_HTTP_200_OK_GET", "test_requests.py::RequestsTestCase::test_DIGEST_AUTH_RETURNS_COOKIE", "test_requests.py::TestMorselToCookieExpires::test_expires_none"]',
  environment_setup_commit: '091991be0da19de9108dbe5e3752917fea3d7fdc',
};

const MINIMAL = { instance_id: 'o__r-1', repo: 'o/r', base_commit: 'abc123' };

function row(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...MINIMAL, ...extra });
}

describe('parseInstances', () => {
  it('reads a SWE-bench Lite row with FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings', () => {
    const [inst] = parseInstances(JSON.stringify(LITE_ROW), 'lite.jsonl');
    expect(inst).toEqual({
      instance_id: 'psf__requests-2317',
      repo: 'psf/requests',
      base_commit: '091991be0da19de9108dbe5e3752917fea3d7fdc',
      patch: GOLD_PATCH,
      test_patch: TEST_PATCH,
      fail_to_pass: [
        'test_requests.py::RequestsTestCase::test_HTTP_302_ALLOW_REDIRECT_GET',
        'test_requests.py::RequestsTestCase::test_encoded_methods',
      ],
      pass_to_pass: [
        'test_requests.py::RequestsTestCase::test_BASICAUTH_TUPLE_HTTP_200_OK_GET',
        'test_requests.py::RequestsTestCase::test_DIGEST_AUTH_RETURNS_COOKIE',
        'test_requests.py::TestMorselToCookieExpires::test_expires_none',
      ],
      problem_statement: LITE_ROW.problem_statement,
      version: '2.4',
      environment_setup_commit: '091991be0da19de9108dbe5e3752917fea3d7fdc',
      image: null,
      install: null,
      pre_install: [],
      test_cmd: null,
      env: {},
      hints_text: LITE_ROW.hints_text,
    } satisfies Instance);
  });

  it('reads a JSON list file (first non-blank character "[")', () => {
    const text = `\n  ${JSON.stringify([LITE_ROW, { ...MINIMAL, FAIL_TO_PASS: ['t.py::a'], PASS_TO_PASS: [] }], null, 2)}`;
    const insts = parseInstances(text, 'verified.json');
    expect(insts.map((i) => i.instance_id)).toEqual(['psf__requests-2317', 'o__r-1']);
    expect(insts[1]!.fail_to_pass).toEqual(['t.py::a']);
  });

  it('names the array index of a bad element of a JSON list', () => {
    const text = JSON.stringify([MINIMAL, { ...MINIMAL, instance_id: 'o__r-2', base_commit: undefined }]);
    expect(catchTaskError(() => parseInstances(text, 'v.json')).message).toBe(
      'v.json[1]: field "base_commit" is required (a commit id), got nothing',
    );
  });

  it('reads JSON Lines, skipping blank and # lines and a byte order mark', () => {
    const text = `\uFEFF# exported\n\n${row()}\r\n${row({ instance_id: 'o__r-2' })}\n`;
    expect(parseInstances(text, 'x.jsonl').map((i) => i.instance_id)).toEqual(['o__r-1', 'o__r-2']);
  });

  it('reads a single pretty-printed instance object', () => {
    const [inst] = parseInstances(JSON.stringify(LITE_ROW, null, 2), 'one.json');
    expect(inst!.instance_id).toBe('psf__requests-2317');
  });

  it('accepts real arrays and lower-case fail_to_pass / pass_to_pass (SWE-Gym, SWE-Factory exports)', () => {
    const [inst] = parseInstances(row({ fail_to_pass: ['a.py::x'], pass_to_pass: '["a.py::y"]' }), 'x.jsonl');
    expect(inst!.fail_to_pass).toEqual(['a.py::x']);
    expect(inst!.pass_to_pass).toEqual(['a.py::y']);
  });

  it('accepts both spellings when they agree and refuses them when they differ', () => {
    expect(parseInstances(row({ FAIL_TO_PASS: '["a"]', fail_to_pass: ['a'] }), 'x.jsonl')[0]!.fail_to_pass).toEqual(['a']);
    expect(catchTaskError(() => parseInstances(row({ FAIL_TO_PASS: '["a"]', fail_to_pass: ['b'] }), 'x.jsonl')).message).toBe(
      'x.jsonl:1: fields "FAIL_TO_PASS" and "fail_to_pass" are both given and differ',
    );
  });

  it('treats missing, null and empty-string test lists as empty', () => {
    const [inst] = parseInstances(row({ FAIL_TO_PASS: null, PASS_TO_PASS: '' }), 'x.jsonl');
    expect(inst!.fail_to_pass).toEqual([]);
    expect(inst!.pass_to_pass).toEqual([]);
  });

  it('ignores unknown extra fields, as published rows carry many', () => {
    const [inst] = parseInstances(row({ created_at: '2020-01-01', difficulty: '<15 min fix', repo_language: 'Python', meta: { x: 1 } }), 'x.jsonl');
    expect(inst!.instance_id).toBe('o__r-1');
  });

  it.each([
    ['image_name (SWE-smith, mini-swe-agent)', { image_name: 'swebench/sweb.eval.x86_64.o_1776_r-1:latest' }, 'image', 'swebench/sweb.eval.x86_64.o_1776_r-1:latest'],
    ['docker_image (SWE-rebench)', { docker_image: 'swerebench/sweb.eval.x86_64.o_1776_r-1' }, 'image', 'swerebench/sweb.eval.x86_64.o_1776_r-1'],
    ['image before image_name', { image: 'a:1', image_name: 'b:2' }, 'image', 'a:1'],
    ['install_cmd', { install_cmd: 'pip install -e .' }, 'install', 'pip install -e .'],
    ['pre_install as a list', { pre_install: ['apt-get update', 'sed -i x setup.cfg'] }, 'pre_install', ['apt-get update', 'sed -i x setup.cfg']],
    ['test_command', { test_command: 'pytest -rA' }, 'test_cmd', 'pytest -rA'],
    ['test_cmd as a list', { test_cmd: ['cd x', 'pytest -rA'] }, 'test_cmd', 'cd x\npytest -rA'],
    ['env_vars, numbers turned into text', { env_vars: { LANG: 'C.UTF-8', N: 2 } }, 'env', { LANG: 'C.UTF-8', N: '2' }],
    ['version given as a JSON number 2.0', { version: 2.0 }, 'version', '2.0'],
    ['version given as a JSON number 0.13', { version: 0.13 }, 'version', '0.13'],
    ['empty patch text as null', { patch: '' }, 'patch', null],
  ])('reads %s', (_name, extra, field, expected) => {
    const [inst] = parseInstances(row(extra), 'x.jsonl');
    expect(inst![field as keyof Instance]).toEqual(expected);
  });

  it('takes install, pre_install, test_cmd and env_vars from a SWE-rebench install_config given as JSON text', () => {
    const cfg = { install: 'pip install -e .[test]', pre_install: ['apt-get install -y libxml2'], test_cmd: 'pytest -rA', env_vars: { TZ: 'UTC' }, python: '3.9' };
    const [inst] = parseInstances(row({ install_config: JSON.stringify(cfg) }), 'x.jsonl');
    expect(inst).toMatchObject({ install: 'pip install -e .[test]', pre_install: ['apt-get install -y libxml2'], test_cmd: 'pytest -rA', env: { TZ: 'UTC' } });
  });

  it('prefers the row\'s own install over install_config', () => {
    const [inst] = parseInstances(row({ install: 'make', install_config: { install: 'pip install .' } }), 'x.jsonl');
    expect(inst!.install).toBe('make');
  });

  it.each([
    ['instance_id', 'x.jsonl:2: field "instance_id" is required (a non-empty string), got nothing'],
    ['repo', 'x.jsonl:2: field "repo" is required ("owner/name"), got nothing'],
    ['base_commit', 'x.jsonl:2: field "base_commit" is required (a commit id), got nothing'],
  ])('refuses a row without %s, naming the line and the field', (field, message) => {
    const bad = { ...MINIMAL, instance_id: 'o__r-2' } as Record<string, unknown>;
    delete bad[field];
    expect(catchTaskError(() => parseInstances(`${row()}\n${JSON.stringify(bad)}`, 'x.jsonl')).message).toBe(message);
  });

  it.each([
    ['a path separator', 'psf/requests-1'],
    ['a space', 'psf requests-1'],
    ['only dots', '..'],
    ['nothing', ''],
    ['a shell character', 'x;rm'],
    ['a number', 42],
    ['200 characters', 'x'.repeat(200)],
  ])('refuses an instance_id with %s', (_name, id) => {
    expect(catchTaskError(() => parseInstances(row({ instance_id: id }), 'x.jsonl')).message).toMatch(/^x\.jsonl:1: field "instance_id" /);
  });

  it('accepts SWE-bench style instance ids', () => {
    for (const id of ['astropy__astropy-12907', 'django__django-11099', 'pytest-dev__pytest-5227', 'owner__repo.abc123de.func_pm_op_swap__x1']) {
      expect(parseInstances(row({ instance_id: id }), 'x.jsonl')[0]!.instance_id).toBe(id);
    }
  });

  it.each([
    ['a bare name', 'requests', 'repo'],
    ['a URL', 'https://github.com/psf/requests', 'repo'],
    ['a commit with a space', 'abc def', 'base_commit'],
    ['a commit starting with -', '-abc', 'base_commit'],
  ])('refuses %s', (_name, value, field) => {
    expect(catchTaskError(() => parseInstances(row({ [field]: value }), 'x.jsonl')).message).toMatch(new RegExp(`^x\\.jsonl:1: field "${field}" `));
  });

  it.each([
    ['a string that is not JSON', '[tests/a.py::x', /^x\.jsonl:1: field "FAIL_TO_PASS" must be a JSON array of test ids \(or a string holding one\); the string is not JSON/],
    ['an object', { a: 1 }, /^x\.jsonl:1: field "FAIL_TO_PASS" must be an array of test ids/],
    ['a non-string item', '["ok", 3]', /^x\.jsonl:1: field "FAIL_TO_PASS\[1\]" must be a non-empty string, got 3$/],
    ['an empty item', ['ok', ''], /^x\.jsonl:1: field "FAIL_TO_PASS\[1\]" must be a non-empty string/],
  ])('refuses FAIL_TO_PASS as %s', (_name, value, message) => {
    expect(catchTaskError(() => parseInstances(row({ FAIL_TO_PASS: value }), 'x.jsonl')).message).toMatch(message);
  });

  it.each([
    ['a non-string problem_statement', { problem_statement: 3 }, 'x.jsonl:1: field "problem_statement" must be a string or null, got 3'],
    ['an image with a space', { image_name: 'a b' }, 'x.jsonl:1: field "image_name" must be an image reference (no whitespace, no leading "-"), got "a b"'],
    ['an env var with a bad name', { env: { 'A-B': '1' } }, 'x.jsonl:1: field "env.A-B" is not a valid environment variable name, got "A-B"'],
    ['install_config that is not an object', { install_config: '[1]' }, 'x.jsonl:1: field "install_config" must be an object, got "[1]"'],
  ])('refuses %s', (_name, extra, message) => {
    expect(catchTaskError(() => parseInstances(row(extra), 'x.jsonl')).message).toBe(message);
  });

  it('refuses a row that is not an object', () => {
    expect(catchTaskError(() => parseInstances('[1]', 'x.json')).message).toBe('x.json[0]: expected a JSON object, got a number');
  });

  it('names the line of invalid JSON', () => {
    expect(catchTaskError(() => parseInstances(`${row()}\n{"instance_id": `, 'x.jsonl')).message).toMatch(/^x\.jsonl:2: invalid JSON: /);
  });

  it('names the file of an invalid JSON array', () => {
    expect(catchTaskError(() => parseInstances('[{"a": 1},', 'x.json')).message).toMatch(/^x\.json: invalid JSON array: /);
  });

  it('refuses duplicate instance ids, naming both positions', () => {
    expect(catchTaskError(() => parseInstances(`${row()}\n\n${row()}`, 'x.jsonl')).message).toBe(
      'x.jsonl:3: field "instance_id": duplicate instance_id "o__r-1" (first at x.jsonl:1)',
    );
    expect(catchTaskError(() => parseInstances(JSON.stringify([MINIMAL, MINIMAL]), 'x.json')).message).toBe(
      'x.json[1]: field "instance_id": duplicate instance_id "o__r-1" (first at x.json[0])',
    );
  });

  it('gives the same instance back from its normalised row', () => {
    const rich = { ...LITE_ROW, image_name: 'img:1', install_cmd: 'pip install .', pre_install: ['true'], test_cmd: 'pytest', env_vars: { A: 'b' } };
    const [inst] = parseInstances(JSON.stringify(rich), 'x.jsonl');
    const normal = instanceToRow(inst!);
    expect(normal.FAIL_TO_PASS).toEqual(inst!.fail_to_pass);
    expect(parseInstances(JSON.stringify(normal), 'y.jsonl')).toEqual([inst]);
  });
});

describe('loadInstances and findInstance', () => {
  it('loads a file, refuses an empty one and a missing one', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'instances-'));
    try {
      const file = path.join(dir, 'lite.jsonl');
      await fs.writeFile(file, `${JSON.stringify(LITE_ROW)}\n`);
      const insts = await loadInstances(file);
      expect(findInstance(insts, 'psf__requests-2317').repo).toBe('psf/requests');
      expect(() => findInstance(insts, 'nope')).toThrow('unknown instance id "nope"; known ids: psf__requests-2317');

      const empty = path.join(dir, 'empty.jsonl');
      await fs.writeFile(empty, '\n# nothing\n');
      await expect(loadInstances(empty)).rejects.toThrow(`${empty}: no instances in file`);
      await expect(loadInstances(path.join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read instances file .*missing\.jsonl: no such file/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('instanceToTask', () => {
  const [lite] = parseInstances(JSON.stringify(LITE_ROW), 'lite.jsonl');
  const spec: EnvSpec = {
    image: 'spec-image:1',
    install: 'pip install -e .',
    pre_install: ['echo pre'],
    env: { A: 'spec', B: 'spec' },
    test_cmd: 'pytest -rA',
    install_network: true,
    timeouts: { clone: 120, install: 300 },
  };

  it('maps an instance and a spec onto a harness task', () => {
    const task = instanceToTask(lite!, spec);
    expect(task).toMatchObject({
      task_id: 'psf__requests-2317',
      repo: 'psf/requests',
      ref: '091991be0da19de9108dbe5e3752917fea3d7fdc',
      pytest_k: null,
      tests: ['test_requests.py'],
      install: 'set -e\necho pre\npip install -e .',
      patch: null,
      timeouts: { clone: 120, install: 300 },
      image: 'spec-image:1',
      install_network: true,
      problem_statement: LITE_ROW.problem_statement,
      test_patch: TEST_PATCH,
      gold_patch: GOLD_PATCH,
      fail_to_pass: lite!.fail_to_pass,
      pass_to_pass: lite!.pass_to_pass,
      env: { A: 'spec', B: 'spec' },
      test_cmd: 'pytest -rA',
      instance_repo: 'psf/requests',
    });
    // Every Task field is there.
    for (const f of TASK_FIELDS) expect(task).toHaveProperty(f);
  });

  it('lets the instance\'s own fields win over the spec, and merges env', () => {
    const [own] = parseInstances(JSON.stringify({ ...LITE_ROW, image_name: 'own:2', install: 'make install', env: { B: 'own', C: 'own' }, test_cmd: 'tox' }), 'x.jsonl');
    const task = instanceToTask(own!, spec);
    expect(task.image).toBe('own:2');
    expect(task.install).toBe('make install'); // the spec's pre_install does not leak in
    expect(task.env).toEqual({ A: 'spec', B: 'own', C: 'own' });
    expect(task.test_cmd).toBe('tox');
  });

  it('uses the repo source and network flag given by the caller', () => {
    const task = instanceToTask(lite!, spec, { repoSource: '/cache/psf__requests.git', installNetwork: false });
    expect(task.repo).toBe('/cache/psf__requests.git');
    expect(task.instance_repo).toBe('psf/requests');
    expect(task.install_network).toBe(false);
  });

  it('leaves install, image and test_cmd null without a spec', () => {
    const task = instanceToTask(lite!, null);
    expect(task).toMatchObject({ install: null, image: null, test_cmd: null, env: {}, timeouts: {}, install_network: false });
  });

  it('runs no tests of its own when the instance has no test patch', () => {
    const [bare] = parseInstances(row(), 'x.jsonl');
    expect(instanceToTask(bare!, null).tests).toEqual([]);
  });

  it('does not share arrays or objects with the spec', () => {
    const task = instanceToTask(lite!, spec);
    task.env.A = 'changed';
    task.timeouts.clone = 1;
    expect(spec.env!.A).toBe('spec');
    expect(spec.timeouts!.clone).toBe(120);
  });
});

describe('composeInstall', () => {
  it.each([
    [[], null, null],
    [[], 'pip install .', 'pip install .'],
    [['a', 'b'], 'pip install .', 'set -e\na\nb\npip install .'],
    [['a'], null, 'set -e\na'],
  ])('joins pre-install %j and install %j', (pre, install, expected) => {
    expect(composeInstall(pre, install)).toBe(expected);
  });
});

const MIXED_TEST_PATCH = `diff --git a/tests/test_modified.py b/tests/test_modified.py
index 1111111..2222222 100644
--- a/tests/test_modified.py
+++ b/tests/test_modified.py
@@ -1,3 +1,3 @@
 import pytest
--- a removed line that looks like a file header
+++ an added line that looks like one too
 def test_a():
@@ -10,2 +10,3 @@ def test_b():
     pass
+
 diff --git a/not/a/header.py b/not/a/header.py
diff --git a/tests/test_new.py b/tests/test_new.py
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/tests/test_new.py
@@ -0,0 +1,2 @@
+def test_new():
+    assert True
diff --git a/tests/test_gone.py b/tests/test_gone.py
deleted file mode 100644
index 4444444..0000000
--- a/tests/test_gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-def test_gone():
-    assert True
diff --git a/tests/test_old_name.py b/tests/test_renamed.py
similarity index 90%
rename from tests/test_old_name.py
rename to tests/test_renamed.py
index 5555555..6666666 100644
--- a/tests/test_old_name.py
+++ b/tests/test_renamed.py
@@ -1 +1 @@
-def test_x(): pass
+def test_y(): pass
diff --git a/tests/data/expected.json b/tests/data/expected.json
new file mode 100644
--- /dev/null
+++ b/tests/data/expected.json
@@ -0,0 +1 @@
+{}
diff --git a/tests/test_moved.py b/tests/sub/test_moved.py
similarity index 100%
rename from tests/test_moved.py
rename to tests/sub/test_moved.py
diff --git a/tests/test_modified.py b/tests/test_modified.py
--- a/tests/test_modified.py
+++ b/tests/test_modified.py
@@ -20 +20 @@
-x = 1
+x = 2
\\ No newline at end of file
diff --git a/tests/with space/test_sp.py b/tests/with space/test_sp.py
--- a/tests/with space/test_sp.py
+++ b/tests/with space/test_sp.py
@@ -1 +1 @@
-a
+b
diff --git "a/tests/test_\\303\\251t\\303\\251.py" "b/tests/test_\\303\\251t\\303\\251.py"
new file mode 100644
--- /dev/null
+++ "b/tests/test_\\303\\251t\\303\\251.py"
@@ -0,0 +1 @@
+def test_ete(): pass
`;

describe('testFilesOf and patchFilesOf', () => {
  it('lists each file of a test patch with what happened to it', () => {
    expect(patchFilesOf(MIXED_TEST_PATCH)).toEqual([
      { path: 'tests/test_modified.py', old_path: 'tests/test_modified.py', kind: 'modified' },
      { path: 'tests/test_new.py', old_path: null, kind: 'added' },
      { path: 'tests/test_gone.py', old_path: 'tests/test_gone.py', kind: 'deleted' },
      { path: 'tests/test_renamed.py', old_path: 'tests/test_old_name.py', kind: 'renamed' },
      { path: 'tests/data/expected.json', old_path: null, kind: 'added' },
      { path: 'tests/sub/test_moved.py', old_path: 'tests/test_moved.py', kind: 'renamed' },
      { path: 'tests/test_modified.py', old_path: 'tests/test_modified.py', kind: 'modified' },
      { path: 'tests/with space/test_sp.py', old_path: 'tests/with space/test_sp.py', kind: 'modified' },
      { path: 'tests/test_été.py', old_path: null, kind: 'added' },
    ]);
  });

  it('gives the test files to run: new, modified and renamed ones, not deleted ones nor data files, in patch order, once each', () => {
    expect(testFilesOf(MIXED_TEST_PATCH)).toEqual([
      'tests/test_modified.py',
      'tests/test_new.py',
      'tests/test_renamed.py',
      'tests/sub/test_moved.py',
      'tests/with space/test_sp.py',
      'tests/test_été.py',
    ]);
  });

  it('takes the files of a SWE-bench test patch the way get_test_directives does', () => {
    expect(testFilesOf(TEST_PATCH)).toEqual(['test_requests.py']);
  });

  it.each([
    ['.json', 'tests/x.json'],
    ['.txt', 'tests/x.txt'],
    ['.md', 'docs/x.md'],
    ['.yml', 'x.yml'],
    ['.yaml', 'x.yaml'],
    ['.toml', 'pyproject.toml'],
    ['csv', 'tests/data.csv'],
    ['.png', 'tests/baseline/x.png'],
  ])('drops %s files, as SWE-bench\'s NON_TEST_EXTS does', (_ext, file) => {
    const patch = `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1 +1 @@\n-a\n+b\n`;
    expect(testFilesOf(patch)).toEqual([]);
  });

  it('reads a plain unified diff without git headers', () => {
    const patch = `--- a/tests/test_a.py\t2024-01-01 00:00:00\n+++ b/tests/test_a.py\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/tests/test_b.py\n@@ -0,0 +1 @@\n+c\n`;
    expect(patchFilesOf(patch)).toEqual([
      { path: 'tests/test_a.py', old_path: 'tests/test_a.py', kind: 'modified' },
      { path: 'tests/test_b.py', old_path: null, kind: 'added' },
    ]);
  });

  it('reads CRLF patches and an empty one', () => {
    expect(testFilesOf(TEST_PATCH.replace(/\n/g, '\r\n'))).toEqual(['test_requests.py']);
    expect(testFilesOf('')).toEqual([]);
  });

  it('reads a `diff -ru orig new` patch as patch -p1 does, the way the guardrail lists it', () => {
    const patch = `diff -ru orig/tests/test_x.py new/tests/test_x.py\n--- orig/tests/test_x.py\t2026-11-23 20:03:25 +0000\n+++ new/tests/test_x.py\t2026-11-23 20:03:25 +0000\n@@ -1 +1 @@\n-a\n+b\n`;
    expect(testFilesOf(patch)).toEqual(['tests/test_x.py']);
    const check = checkPatch(patch, { maxBytes: 1 << 20, maxFiles: 50, maxHunks: 400 });
    expect(check.ok && check.files).toEqual(['tests/test_x.py']);
  });

  it.each([
    ['the mixed test patch', MIXED_TEST_PATCH],
    ['a header-only mode change of a path containing " b/"', 'diff --git a/tests/d b/test_e.py b/tests/d b/test_e.py\nold mode 100644\nnew mode 100755\n'],
    ['a quoted header of a mode change', 'diff --git "a/tests/t\\303\\251.py" "b/tests/t\\303\\251.py"\nold mode 100644\nnew mode 100755\n'],
  ])('names the same files as the guardrail: %s', (_name, patch) => {
    const check = checkPatch(patch, { maxBytes: 1 << 20, maxFiles: 50, maxHunks: 400 });
    expect(check.ok).toBe(true);
    const mine = new Set(patchFilesOf(patch).flatMap((f) => [f.path, ...(f.old_path ? [f.old_path] : [])]));
    expect(check.ok && check.files).toEqual([...mine].sort());
  });

  it('reads a binary file added by git', () => {
    const patch = 'diff --git a/tests/test_bin.py b/tests/test_bin.py\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\nliteral 3\nKcmZ?wc>n+p00IC2\n\nliteral 0\nHcmV?d00001\n\n';
    expect(patchFilesOf(patch)).toEqual([{ path: 'tests/test_bin.py', old_path: null, kind: 'added' }]);
  });
});
