/**
 * SWE-Factory-shaped rows on the real engine: a look-alike of a "transferred"
 * row (docker_image + dockerfile + eval_script) built on the shipped statskit
 * instance. The dockerfile starts FROM the local harness image and puts the
 * repository in /testbed, installed (it copies it from a small source image,
 * where real rows `git clone` from GitHub); the eval script has SWE-Factory's
 * shape: reset the test files, apply the test patch from a heredoc, run the
 * tests, echo OMNIGRIL_EXIT_CODE, reset again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { defaultEngine, listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { NOT_A_HARNESS_IMAGE } from '../../scripts/lib/engine/dockerfile-image.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTaskSet } from '../../scripts/lib/task/taskset.js';

const BASE_IMAGE = 'swebench-lite:py3.11';
const tag = `t${process.pid}`;
const SRC_IMAGE = `swe-harness-test/statskit-src:${tag}`;
const ROW_IMAGE = `swe-harness-test/factory-statskit:${tag}`;
const HEREDOC = 'EOF_114329324912';
const row = JSON.parse(fs.readFileSync(path.join(ROOT, 'tasks', 'instances.jsonl'), 'utf8').split('\n')[0]!) as Record<string, string>;
const base = row.base_commit!;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-factory-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir: path.join(work, 'runs') };
const timeouts = { clone: 60, install: 120, test: 120 };

/** The row's Dockerfile, as SWE-Factory writes them: FROM an environment, the repo in /testbed at base_commit, installed. */
const dockerfile = [
  `FROM ${BASE_IMAGE}`,
  `COPY --from=${SRC_IMAGE} /src.git /tmp/src.git`,
  `RUN git clone -q /tmp/src.git /testbed && cd /testbed && git checkout -q ${base} && git remote remove origin && rm -rf /tmp/src.git && pip install --no-index --no-deps --no-build-isolation -q -e .`,
  'WORKDIR /testbed',
  '',
].join('\n');

/** SWE-Factory's eval script shape (set -uxo pipefail, heredoc test patch, OMNIGRIL_EXIT_CODE). */
function evalScript(testCmd: string): string {
  return [
    '#!/bin/bash',
    'set -uxo pipefail',
    'cd /testbed',
    `git checkout ${base} "tests/test_rolling.py"`,
    `git apply -v - <<'${HEREDOC}'`,
    row.test_patch!.replace(/\n$/, ''),
    HEREDOC,
    testCmd,
    'rc=$?',
    'echo "OMNIGRIL_EXIT_CODE=$rc"',
    `git checkout ${base} "tests/test_rolling.py"`,
    '',
  ].join('\n');
}

let tasks: InstanceTask[];
const lines: string[] = [];
const log = (l: string) => lines.push(l);

beforeAll(async () => {
  // The source image the row's Dockerfile copies the repository from (no registry, no network here).
  const { path: repo } = await ensureFixture('statskit');
  const ctx = path.join(work, 'src');
  fs.mkdirSync(ctx);
  fs.cpSync(path.join(repo, '.git'), path.join(ctx, 'src.git'), { recursive: true });
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY src.git /src.git\n');
  await defaultEngine().build({ dockerfile: path.join(ctx, 'Dockerfile'), context: ctx, tag: SRC_IMAGE, labels: NOT_A_HARNESS_IMAGE, log: () => {} });

  const pytest = 'python3 -m pytest -rA -p no:cacheprovider tests/test_regression.py tests/test_rolling.py';
  const common = { ...row, dockerfile, eval_script: evalScript(pytest) };
  const rows = [
    // Graded per test: the FAIL_TO_PASS / PASS_TO_PASS lists, read with the row's own parser.
    { ...common, instance_id: 'factory__statskit-lists', docker_image: ROW_IMAGE, log_parser: 'pytest' },
    // No lists: SWE-Factory's own rule, OMNIGRIL_EXIT_CODE=0.
    { ...common, instance_id: 'factory__statskit-exitcode', docker_image: ROW_IMAGE, FAIL_TO_PASS: '[]', PASS_TO_PASS: '[]' },
  ];
  const file = path.join(work, 'transferred.json');
  fs.writeFileSync(file, JSON.stringify(rows, null, 2));
  tasks = (await loadTaskSet({ instancesFile: file })).filter(isInstanceTask);
});

afterAll(async () => {
  for (const image of [ROW_IMAGE, SRC_IMAGE]) await defaultEngine().removeImage(image);
  fs.rmSync(work, { recursive: true, force: true });
});

const task = (id: string) => tasks.find((t) => t.task_id === id)!;
const gold = (t: InstanceTask) => ({ text: t.gold_patch!, source: 'gold' });

describe('SWE-Factory-shaped rows (docker_image + dockerfile + eval_script)', () => {
  it('builds the missing image from the row\'s dockerfile once, then resolves with the gold patch, graded per test', async () => {
    expect(await defaultEngine().inspectImage(ROW_IMAGE)).toBeNull();
    const t = task('factory__statskit-lists');
    // Two runs at once: one build.
    const [a, b] = await Promise.all([
      runTask(t, { cfg, timeouts, patch: gold(t), log }),
      runTask(t, { cfg, timeouts, patch: gold(t), log }),
    ]);
    expect(lines.filter((l) => l.includes(`building it from the dockerfile`))).toHaveLength(1);
    expect(lines.some((l) => l.startsWith(`[build ${ROW_IMAGE}]`))).toBe(true);
    // Built FROM the harness image, it must not inherit its flavour: plain runs would take it for their default.
    expect((await defaultEngine().inspectImage(ROW_IMAGE))!.labels['swe-harness.flavour']).toBe('');
    for (const { result, runDir } of [a, b]) {
      expect(result.status, result.error ?? '').toBe('passed');
      expect(result.resolved).toBe(true);
      expect(result.image!.name).toBe(ROW_IMAGE);
      expect(result.head).toBe(base);
      // No clone, no install, no separate test patch stage: the eval script does that.
      expect(result.stages.map((s) => s.name)).toEqual(['apply_patch', 'tests_after']);
      expect(result.grading!.fail_to_pass.failure).toEqual([]);
      expect(result.grading!.pass_to_pass.failure).toEqual([]);
      expect(result.grading!.fail_to_pass.success).toContain('tests/test_regression.py::test_window_label[two');
      expect(result.after!.tests['tests/test_regression.py::test_moving_average_first_window']).toBe('PASSED');
      expect(fs.readFileSync(path.join(runDir, 'eval.sh'), 'utf8')).toContain('OMNIGRIL_EXIT_CODE');
      expect(fs.readFileSync(path.join(runDir, 'tests_after.log'), 'utf8')).toMatch(/^OMNIGRIL_EXIT_CODE=0$/m);
      expect(await listHarnessContainers(path.basename(runDir))).toEqual([]);
    }
  });

  it('does not resolve without a patch (the same image, not built again)', async () => {
    lines.length = 0;
    const { result } = await runTask(task('factory__statskit-lists'), { cfg, timeouts, log });
    expect(lines.some((l) => l.includes('building it from'))).toBe(false);
    expect(result.status).toBe('failed');
    expect(result.resolved).toBe(false);
    expect(result.stages.map((s) => s.name)).toEqual(['tests_after']);
    expect(result.grading!.fail_to_pass.failure).toContain('tests/test_regression.py::test_moving_average_first_window');
    expect(result.grading!.pass_to_pass.failure).toEqual([]);
  });

  it('grades a row without test lists by its OMNIGRIL_EXIT_CODE, as SWE-Factory does', async () => {
    const t = task('factory__statskit-exitcode');
    const passed = await runTask(t, { cfg, timeouts, patch: gold(t) });
    expect(passed.result.status, passed.result.error ?? '').toBe('passed');
    expect(passed.result.resolved).toBe(true);
    expect(passed.result.grading).toBeUndefined();
    const failed = await runTask(t, { cfg, timeouts });
    expect(failed.result.status).toBe('failed');
    expect(failed.result.resolved).toBe(false);
    expect(failed.result.after!.exit_code).toBe(1);
  });

  it('runs the eval script before the patch too with --before, and a patch that does not apply is patch_failed', async () => {
    const t = task('factory__statskit-lists');
    const before = await runTask(t, { cfg, timeouts, patch: gold(t), before: true });
    expect(before.result.stages.map((s) => s.name)).toEqual(['tests_before', 'apply_patch', 'tests_after']);
    expect(before.result.before!.tests['tests/test_regression.py::test_moving_average_first_window']).toBe('FAILED');
    expect(before.result.resolved).toBe(true);
    const bad = 'diff --git a/statskit/rolling.py b/statskit/rolling.py\n--- a/statskit/rolling.py\n+++ b/statskit/rolling.py\n@@ -1,1 +1,1 @@\n-no such line here\n+x\n';
    const failed = await runTask(t, { cfg, timeouts, patch: { text: bad, source: 'bad.diff' } });
    expect(failed.result.status).toBe('patch_failed');
    expect(failed.result.resolved).toBe(false);
  });
});
