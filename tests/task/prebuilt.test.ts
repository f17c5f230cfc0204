import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTaskSet } from '../../scripts/lib/task/taskset.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { instanceToTask, isInstanceTask, parseInstances } from '../../scripts/lib/task/instances.js';
import { checkTemplate, imageFromTemplate, prebuiltTask, SWEBENCH_LAYOUT } from '../../scripts/lib/task/prebuilt.js';

const row = (extra: Record<string, unknown> = {}) =>
  parseInstances(JSON.stringify({ instance_id: 'Django__django-11099', repo: 'django/django', base_commit: 'abc123', version: '3.0', ...extra }), 'x.jsonl')[0]!;

describe('image templates', () => {
  it.each([
    ['swebench', 'swebench/sweb.eval.x86_64.django_1776_django-11099:latest'],
    ['reg/{owner}-{name}:{version}', 'reg/django-django:3.0'],
    ['reg/sweb.{id_1776}:v1', 'reg/sweb.Django_1776_django-11099:v1'],
    ['reg/x:{id}', 'reg/x:Django__django-11099'],
  ])('%s names %s', (template, image) => {
    expect(imageFromTemplate(template, row())).toBe(image);
  });

  it.each([['x/{instance}:1', /unknown placeholder \{instance\}/], ['x/{id:1', /unbalanced brace/], ['a b', /must be "swebench"/], ['-x', /must be "swebench"/]])(
    'refuses %s as a usage error',
    (template, message) => {
      const err = (() => {
        try {
          checkTemplate(template);
        } catch (e) {
          return e as HarnessError;
        }
        throw new Error('no error');
      })();
      expect(err.code).toBe('usage');
      expect(err.message).toMatch(message);
    },
  );
});

describe('prebuiltTask', () => {
  it('takes the template over the row image, the row image over SWE-bench\'s rule', () => {
    const withImage = row({ image_name: 'swegym/sweb.eval.x86_64.django:1' });
    const plain = row();
    expect(prebuiltTask(instanceToTask(withImage, null), withImage, null, { template: 'r/{name}:1' }).image).toBe('r/django:1');
    expect(prebuiltTask(instanceToTask(withImage, null), withImage, null, { template: null }).image).toBe('swegym/sweb.eval.x86_64.django:1');
    expect(prebuiltTask(instanceToTask(plain, null), plain, null, { template: null }).image).toBe('swebench/sweb.eval.x86_64.django_1776_django-11099:latest');
  });

  it('takes the layout from the spec, else SWE-bench\'s /testbed and conda prelude', () => {
    const inst = row();
    expect(prebuiltTask(instanceToTask(inst, null), inst, null, { template: null }).prebuilt).toEqual(SWEBENCH_LAYOUT);
    const spec = { workdir: '/work/repo', env_prelude: '. /venv/bin/activate' };
    expect(prebuiltTask(instanceToTask(inst, spec), inst, spec, { template: null }).prebuilt).toEqual({ workdir: '/work/repo', env_prelude: '. /venv/bin/activate' });
  });

  it('leaves tasks outside the prebuilt mode without the field, so their cache keys do not move', () => {
    expect('prebuilt' in instanceToTask(row(), null)).toBe(false);
  });
});

describe('prebuilt mode needs no hand-written specs', () => {
  it('takes a django instance\'s test command and parser from SWE-bench\'s table', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-prebuilt-')), 'django.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ instance_id: 'django__django-11099', repo: 'django/django', base_commit: 'abc123', version: '3.0', FAIL_TO_PASS: '[]', PASS_TO_PASS: '[]' })}\n`);
    const [task] = await loadTaskSet({ instancesFile: file, prebuilt: { template: 'swebench' } });
    expect(isInstanceTask(task!) && task.test_cmd).toMatch(/^\.\/tests\/runtests\.py --verbosity 2 --settings=test_sqlite --parallel 1/);
    expect(isInstanceTask(task!) && task.log_parser).toBe('django');
    // Without prebuilt mode the table is opt-in (--specs specs/swebench.json).
    const [plain] = await loadTaskSet({ instancesFile: file });
    expect(isInstanceTask(plain!) && plain.test_cmd).toBeNull();
  });
});
