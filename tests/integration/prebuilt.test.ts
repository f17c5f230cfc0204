/**
 * Prebuilt instance images on the real engine, offline: a look-alike of
 * SWE-bench's `sweb.eval.*` images (tests/fixtures/prebuilt: the shipped
 * statskit repo installed in /testbed, a later commit and a stray file on top,
 * a "conda" env) grades the shipped instance with no clone and no install; an
 * image that is neither here nor pullable is one line and exit 3.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTaskSet, patchFor } from '../../scripts/lib/task/taskset.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { buildLookalike, LOOKALIKE_IMAGE, LOOKALIKE_INSTANCE, LOOKALIKE_TEMPLATE } from '../fixtures/prebuilt/build.js';

const INSTANCES = path.join(ROOT, 'tasks', 'instances.jsonl');
/** Nothing can pull this here (no registry), and nothing builds it. */
const MISSING_TEMPLATE = 'swe-harness-test-missing/sweb.eval.{id_1776_lower}:latest';
const runsDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-prebuilt-'));
const cfg = (): HarnessConfig => ({ ...DEFAULT_CONFIG, runsDir: runsDir(), pullTimeoutSeconds: 60 });
/** Room for a loaded 2-core machine. */
const timeouts = { clone: 60, install: 120, test: 60 };

async function prebuiltTask(template: string): Promise<InstanceTask> {
  const tasks = await loadTaskSet({ instancesFile: INSTANCES, prebuilt: { template } });
  const t = tasks.find((x) => x.task_id === LOOKALIKE_INSTANCE);
  if (!t || !isInstanceTask(t)) throw new Error('the shipped statskit instance is missing');
  return t;
}

async function expectNoContainerFor(runDir: string) {
  expect(await listHarnessContainers(path.basename(runDir))).toEqual([]);
}

beforeAll(async () => {
  expect(await buildLookalike()).toBe(LOOKALIKE_IMAGE);
});

describe('an instance in a prebuilt image (look-alike of SWE-bench\'s)', () => {
  it('resolves with the gold patch, the repository reset from a later commit to base_commit, no clone and no install run', async () => {
    const t = await prebuiltTask(LOOKALIKE_TEMPLATE);
    expect(t.image).toBe(LOOKALIKE_IMAGE);
    const lines: string[] = [];
    const { result, runDir } = await runTask(t, { cfg: cfg(), timeouts, patch: patchFor(t, { kind: 'task' }), log: (l) => lines.push(l) });
    expect(result.error).toBeNull();
    expect(result.status).toBe('passed');
    expect(result.resolved).toBe(true);
    expect(result.head).toBe(t.ref);
    expect(result.image!.name).toBe(LOOKALIKE_IMAGE);
    expect(result.stages.map((s) => s.name)).toEqual(['clone', 'install', 'apply_patch', 'apply_test_patch', 'tests_after']);
    // The clone stage only checked /testbed; the install is the image's.
    expect(result.stages[0]).toMatchObject({ name: 'clone', status: 'ok', from: 'image' });
    expect(result.stages[1]).toEqual({ name: 'install', status: 'skipped', duration_s: 0, exit_code: null, from: 'image' });
    expect(result.stages.slice(2).every((s) => s.from === undefined)).toBe(true);
    expect(lines).toContain('[install] skipped (from image) 0.00s');
    expect(lines.some((l) => /^\[clone\] ok \(from image\)/.test(l))).toBe(true);
    expect(lines.some((l) => /^\[clone\] \/testbed reset to base_commit from [0-9a-f]{40}$/.test(l))).toBe(true);
    expect(result.grading!.fail_to_pass).toEqual({ success: t.fail_to_pass, failure: [] });
    // result.json keeps its key order, the new field last in a stage.
    const written = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8'));
    expect(Object.keys(written.stages[1])).toEqual(['name', 'status', 'duration_s', 'exit_code', 'from']);
    expect(Object.keys(written).slice(0, 7)).toEqual(['task_id', 'repo', 'ref', 'pytest_k', 'status', 'duration_s', 'tail']);
    await expectNoContainerFor(runDir);
  });

  it('is unresolved without a patch, graded per test as SWE-bench does', async () => {
    const t = await prebuiltTask(LOOKALIKE_TEMPLATE);
    const { result, runDir } = await runTask(t, { cfg: cfg(), timeouts, patch: null });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.resolved).toBe(false);
    expect(result.stages.map((s) => [s.name, s.status, s.from ?? null])).toEqual([
      ['clone', 'ok', 'image'],
      ['install', 'skipped', 'image'],
      ['apply_test_patch', 'ok', null],
      ['tests_after', 'ok', null],
    ]);
    expect(result.grading!.fail_to_pass).toEqual({ success: [], failure: t.fail_to_pass });
    expect(result.grading!.pass_to_pass).toEqual({ success: t.pass_to_pass, failure: [] });
    await expectNoContainerFor(runDir);
  });

  it('runs the tests inside the env prelude: without it the image\'s env (numpy lives there) is not entered', async () => {
    const t = await prebuiltTask(LOOKALIKE_TEMPLATE);
    const bare = { ...t, prebuilt: { ...t.prebuilt!, env_prelude: null } };
    const { result } = await runTask(bare, { cfg: cfg(), timeouts, patch: patchFor(t, { kind: 'task' }) });
    expect(result.resolved).toBe(false);
    expect(result.after?.counts.passed ?? 0).toBeLessThan(t.fail_to_pass.length + t.pass_to_pass.length);
  });

  it('ends with exit 3 naming the image, never a verdict, when the image is neither here nor pullable', async () => {
    const t = await prebuiltTask(MISSING_TEMPLATE);
    const lines: string[] = [];
    const { result, runDir, resultFile } = await runTask(t, { cfg: cfg(), timeouts, patch: patchFor(t, { kind: 'task' }), log: (l) => lines.push(l) });
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.error).toMatch(new RegExp(`^image ${t.image!.replace(/[.]/g, '\\.')} is not here and could not be pulled: docker pull failed`));
    expect(result.error).not.toMatch(/\n/);
    expect(result.stages).toEqual([]);
    expect(result.grading).toBeUndefined();
    expect(fs.existsSync(resultFile)).toBe(true);
    expect(lines[0]).toBe(`pulling ${t.image} (at most 60 s)`);
    await expectNoContainerFor(runDir);
  });
});

describe('run-one with --image-template', () => {
  function runOne(args: string[]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const base = ['--instances', 'tasks/instances.jsonl', '--task-id', LOOKALIKE_INSTANCE, '--gold', '--test-timeout', '60'];

  it('grades the gold patch in the look-alike: exit 0, the progress lines say what came from the image', () => {
    const dir = runsDir();
    const r = runOne([...base, '--image-template', LOOKALIKE_TEMPLATE, '--runs-dir', dir]);
    expect(r.stderr).toMatch(/^\[clone\] ok \(from image\)/m);
    expect(r.stderr).toMatch(/^\[install\] skipped \(from image\)/m);
    expect(r.stderr).toMatch(/^passed in /m);
    expect(r.code).toBe(0);
    const [run] = fs.readdirSync(dir);
    const result = JSON.parse(fs.readFileSync(path.join(dir, run!, 'result.json'), 'utf8'));
    expect(result.resolved).toBe(true);
    expect(result.stages.filter((s: { from?: string }) => s.from === 'image').map((s: { name: string }) => s.name)).toEqual(['clone', 'install']);
  });

  it('says in one line which image cannot be pulled, exits 3, writes the result and leaves no container', async () => {
    const dir = runsDir();
    const r = runOne([...base, '--image-template', MISSING_TEMPLATE, '--runs-dir', dir, '--pull-timeout', '60']);
    expect(r.code).toBe(3);
    const image = 'swe-harness-test-missing/sweb.eval.swe-harness_1776_statskit-1:latest';
    const errorLines = r.stderr.split('\n').filter((l) => /could not be pulled|Error response/.test(l));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain(`image ${image} is not here and could not be pulled`);
    const [run] = fs.readdirSync(dir);
    const result = JSON.parse(fs.readFileSync(path.join(dir, run!, 'result.json'), 'utf8'));
    expect(result).toMatchObject({ status: 'error', exit_code: 3, resolved: false, stages: [] });
    await expectNoContainerFor(path.join(dir, run!));
  });

  it('run-many pulls nothing for a present image and resolves the instance in it', () => {
    const dir = runsDir();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-many.ts', '--instances', 'tasks/instances.jsonl', '--filter', 'statskit', '--gold',
      '--image-template', LOOKALIKE_TEMPLATE, '--test-timeout', '60', '--runs-dir', dir], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/pulling/);
    expect(r.status).toBe(0);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ total: 1, resolved: 1 });
  });

  it('refuses --image-template without --instances, and an unknown placeholder (exit 2)', () => {
    expect(runOne(['--task-id', 'demo-statskit', '--image-template', 'swebench']).code).toBe(2);
    const r = runOne([...base, '--image-template', 'x/{instance}:latest']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown placeholder \{instance\}/);
  });
});
