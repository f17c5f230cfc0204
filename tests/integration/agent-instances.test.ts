/**
 * The runner agent on a SWE-bench instance: the hidden tests decide (graded
 * as SWE-bench does, in a fresh container), the visible ones passing does not
 * end the run, and the model's patch lands in a preds.json that the
 * predictions reader (and so sb-cli / the SWE-bench harness) accepts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../scripts/lib/agent/run.js';
import { DEFAULT_CONFIG, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import type { InstanceTask } from '../../scripts/lib/task/instances.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { loadPredictions } from '../../scripts/lib/task/predictions.js';
import { loadTaskSet } from '../../scripts/lib/task/taskset.js';
import { findTask } from '../../scripts/lib/task/tasks.js';
import { say, startScriptedServer, toolCall, type ScriptedServer } from '../support/scripted-server.js';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-agent-inst-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir };
const fixPatch = fs.readFileSync(path.join(ROOT, 'tasks/statskit/fix.patch'), 'utf8');
const servers: ScriptedServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function solve(script: Parameters<typeof startScriptedServer>[0], predsFile: string, change: (t: InstanceTask) => InstanceTask = (t) => t) {
  const s = await startScriptedServer(script);
  servers.push(s);
  const task = change(findTask(await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks/instances.jsonl') }), 'swe-harness__statskit-1') as InstanceTask);
  const out = await runAgent(task, {
    cfg,
    model: { baseURL: s.baseURL, apiKey: 'k', model: 'scripted-model', temperature: 0, extraBody: {} },
    timeouts: { install: 60, test: 30 },
    limits: { maxTurns: 8, timeLimitS: 120, requestTimeoutS: 20 },
    predsFile,
  });
  expect(await listHarnessContainers(path.basename(out.runDir))).toEqual([]);
  return { ...out, server: s };
}

describe('runner agent on a SWE-bench instance', () => {
  it('keeps going after the visible tests pass, is graded on the hidden ones and writes preds.json', async () => {
    const preds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preds-')), 'preds.json');
    const { result, server } = await solve(
      [
        toolCall('swe_clone', {}),
        toolCall('swe_install', {}),
        toolCall('swe_apply_patch', { patch: fixPatch }),
        toolCall('swe_pytest', {}),
        say('The fix is complete.'),
      ],
      preds,
    );
    // The visible tests passed at turn 4, yet the run went on to the model's own stop.
    expect(server.requests).toHaveLength(5);
    expect(result.stop_reason).toBe('model_stopped');
    expect(String(server.requests[0]!.body.messages[1].content)).toMatch(/Hidden tests decide/);
    expect(result.resolved).toBe(true);
    expect(result.status).toBe('passed');
    expect(result.grading!.fail_to_pass.failure).toEqual([]);
    expect(result.stages.map((s) => s.name)).toContain('apply_test_patch');
    const written = await loadPredictions(preds);
    expect(written.get('swe-harness__statskit-1')).toMatchObject({ model_name_or_path: 'scripted-model' });
    expect(written.get('swe-harness__statskit-1')!.model_patch).toMatch(/np\.concatenate/);
  });

  it("runs the model's commands with the instance's environment (a spec's env)", async () => {
    const preds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preds-')), 'preds.json');
    const { server } = await solve(
      [toolCall('swe_clone', {}), toolCall('run_command', { command: 'echo "probe=$SWE_HARNESS_PROBE home=$HOME"' }), say('Done.')],
      preds,
      (t) => ({ ...t, env: { ...t.env, SWE_HARNESS_PROBE: 'from-the-spec' } }),
    );
    const msgs = server.requests[2]!.body.messages;
    expect(String(msgs[msgs.length - 1].content)).toMatch(/^exit code 0\nprobe=from-the-spec home=\/tmp$/);
  });

  it('is not resolved when the model stops without a change, and says so', async () => {
    const preds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preds-')), 'preds.json');
    const { result } = await solve([toolCall('swe_clone', {}), say('I give up.')], preds);
    expect(result.stop_reason).toBe('model_stopped');
    expect(result.resolved).toBe(false);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/empty patch/);
    expect((await loadPredictions(preds)).get('swe-harness__statskit-1')!.model_patch).toBe('');
  });
});
