/**
 * Harbor export on the real engine: tasks/instances.jsonl exported with
 * scripts/export-harbor.ts, each environment built through the harness's
 * engine (build from the task's environment/ context), then Harbor's two
 * scripts run in a container as Harbor runs them (tests/ at /tests,
 * solution/ at /solution): solve.sh then test.sh gives reward 1, test.sh
 * alone reward 0, and the grader's verdict per test id is the harness's own.
 * No Harbor install here: this stands in for `harbor run -a oracle`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { createContainer, defaultEngine, execIn, removeContainer, type Container } from '../../scripts/lib/engine/docker.js';
import { NOT_A_HARNESS_IMAGE } from '../../scripts/lib/engine/dockerfile-image.js';
import { newRunId } from '../../scripts/lib/run/keys.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { isInstanceTask, type InstanceTask } from '../../scripts/lib/task/instances.js';
import { loadTaskSet } from '../../scripts/lib/task/taskset.js';

const INSTANCES = path.join(ROOT, 'tasks', 'instances.jsonl');
const IDS = ['swe-harness__statskit-1', 'swe-harness__frametools-1'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-harbor-'));
const out = path.join(work, 'tasks');
const tag = `t${process.pid}`;
const imageOf = (id: string) => `swe-harness-test/harbor-${id.replace(/_/g, '-').toLowerCase()}:${tag}`;
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir: path.join(work, 'runs') };
const containers: string[] = [];
let tasks: InstanceTask[];

beforeAll(async () => {
  const r = spawnSync('npx', ['tsx', 'scripts/export-harbor.ts', '--instances', INSTANCES, '--out', out], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('exported 2 Harbor task(s)');
  for (const id of IDS) {
    const env = path.join(out, id, 'environment');
    await defaultEngine().build({ dockerfile: path.join(env, 'Dockerfile'), context: env, tag: imageOf(id), labels: NOT_A_HARNESS_IMAGE, log: () => {} });
  }
  tasks = (await loadTaskSet({ instancesFile: INSTANCES })).filter(isInstanceTask);
}, 600_000);

afterAll(async () => {
  for (const c of containers) await removeContainer(c);
  for (const id of IDS) await defaultEngine().removeImage(imageOf(id));
  fs.rmSync(work, { recursive: true, force: true });
});

/** A container of the exported environment with tests/ and solution/ where Harbor puts them. */
async function trial(id: string): Promise<Container> {
  const c = await createContainer({ image: imageOf(id), runId: newRunId('harbor'), limits: cfg.container, network: false });
  containers.push(c.name);
  await defaultEngine().copyIn(c, path.join(out, id, 'tests'), '/tests');
  await defaultEngine().copyIn(c, path.join(out, id, 'solution'), '/solution');
  return c;
}

async function sh(c: Container, script: string) {
  const r = await execIn(c, ['bash', '-c', script], { timeoutS: 120, backstopS: 5, logs: cfg.logs, logFile: null });
  return { code: r.exitCode, output: r.output };
}

type Report = { resolved: boolean; fail_to_pass: { success: string[]; failure: string[] }; pass_to_pass: { success: string[]; failure: string[] } };

async function verify(c: Container): Promise<{ reward: string; report: Report }> {
  const run = await sh(c, 'bash /tests/test.sh');
  expect(run.output).toMatch(/swe-harness grade: .* resolved=/);
  const reward = (await sh(c, 'cat /logs/verifier/reward.txt')).output.trim();
  const report = JSON.parse((await sh(c, 'cat /logs/verifier/report.json')).output) as Report;
  return { reward, report };
}

describe('Harbor tasks exported from tasks/instances.jsonl', () => {
  it('writes the Harbor layout with the repository bundled for the offline environment', () => {
    for (const id of IDS) {
      const dir = path.join(out, id);
      for (const f of ['instruction.md', 'task.toml', 'environment/Dockerfile', 'environment/repo.bundle', 'tests/test.sh', 'tests/grade.py', 'tests/config.json', 'tests/test.patch', 'solution/solve.sh', 'solution/gold.patch']) {
        expect(fs.existsSync(path.join(dir, f)), `${id}/${f}`).toBe(true);
      }
      expect(fs.readFileSync(path.join(dir, 'environment', 'Dockerfile'), 'utf8')).toMatch(/^FROM swebench-lite:py3\.11$/m);
      expect(fs.readFileSync(path.join(dir, 'task.toml'), 'utf8')).toMatch(/^\[verifier\]\ntimeout_sec = \d+\.0$/m);
      expect(fs.statSync(path.join(dir, 'tests', 'test.sh')).mode & 0o111).not.toBe(0);
    }
  });

  it.each(IDS)('%s: solve.sh then test.sh gives reward 1, graded as the harness grades the gold patch', async (id) => {
    const c = await trial(id);
    const solve = await sh(c, 'bash /solution/solve.sh');
    expect(solve.code, solve.output).toBe(0);
    const { reward, report } = await verify(c);
    expect(reward).toBe('1');
    const t = tasks.find((x) => x.task_id === id)!;
    const { result } = await runTask(t, { cfg, timeouts: { clone: 60, install: 120, test: 60 }, patch: { text: t.gold_patch!, source: 'gold' } });
    expect(result.resolved).toBe(true);
    expect({ f: report.fail_to_pass, p: report.pass_to_pass }).toEqual({ f: result.grading!.fail_to_pass, p: result.grading!.pass_to_pass });
  });

  it.each(IDS)('%s: test.sh without solve.sh gives reward 0, with the same failing ids as the harness', async (id) => {
    const { reward, report } = await verify(await trial(id));
    expect(reward).toBe('0');
    expect(report.resolved).toBe(false);
    const t = tasks.find((x) => x.task_id === id)!;
    const { result } = await runTask(t, { cfg, timeouts: { clone: 60, install: 120, test: 60 } });
    expect(result.resolved).toBe(false);
    expect({ f: report.fail_to_pass, p: report.pass_to_pass }).toEqual({ f: result.grading!.fail_to_pass, p: result.grading!.pass_to_pass });
  });

  it('gives reward 0 to a patch that breaks a PASS_TO_PASS test, as the harness does', async () => {
    const id = 'swe-harness__statskit-1';
    const c = await trial(id);
    const wrong = fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'preds', 'patches', 'statskit-breaks-p2p.diff'), 'utf8');
    fs.writeFileSync(path.join(work, 'wrong.diff'), wrong);
    // Not under /tmp: a tmpfs mount in harness containers, which docker cp cannot write into.
    await defaultEngine().copyIn(c, path.join(work, 'wrong.diff'), '/wrong.diff');
    expect((await sh(c, 'cd /testbed && git apply /wrong.diff')).code).toBe(0);
    const { reward, report } = await verify(c);
    expect(reward).toBe('0');
    expect(report.pass_to_pass.failure.length).toBeGreaterThan(0);
    const t = tasks.find((x) => x.task_id === id)!;
    const { result } = await runTask(t, { cfg, timeouts: { clone: 60, install: 120, test: 60 }, patch: { text: wrong, source: 'wrong.diff' } });
    expect({ f: report.fail_to_pass, p: report.pass_to_pass }).toEqual({ f: result.grading!.fail_to_pass, p: result.grading!.pass_to_pass });
  });
});
