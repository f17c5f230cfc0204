/**
 * The runner agent against a scripted OpenAI-compatible server (real HTTP on
 * loopback, the real openai SDK, no mocks), on the real Docker engine with the
 * shipped offline task demo-statskit.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent, type AgentRunOptions } from '../../scripts/lib/agent/run.js';
import { TOOL_NAMES } from '../../scripts/lib/agent/schemas.js';
import { agentMode } from '../../scripts/lib/agent/mode.js';
import { DEFAULT_CONFIG, ROOT, type AgentLimits, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { resolveImage } from '../../scripts/lib/engine/images.js';
import { loadPredictions } from '../../scripts/lib/task/predictions.js';
import { cacheKey, effectiveTimeouts } from '../../scripts/lib/run/keys.js';
import { findTask, loadTasks } from '../../scripts/lib/task/tasks.js';
import type { Task } from '../../scripts/lib/core/types.js';
import { action, httpError, say, startScriptedServer, toolCall, type Canned, type ScriptedServer } from '../support/scripted-server.js';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-agent-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir };
const fixPatch = fs.readFileSync(path.join(ROOT, 'tasks/statskit/fix.patch'), 'utf8');
let demo: Task;
let passing: Task;
const servers: ScriptedServer[] = [];
const runIds: string[] = [];

beforeAll(async () => {
  const tasks = await loadTasks(path.join(ROOT, 'seed_tasks.jsonl'));
  demo = findTask(tasks, 'demo-statskit');
  passing = findTask(tasks, 'statskit-passing');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(script: Canned[]): Promise<ScriptedServer> {
  const s = await startScriptedServer(script);
  servers.push(s);
  return s;
}

/** Fast limits for tests: short waits, few turns. */
const fast: Partial<AgentLimits> = { maxTurns: 8, backoffBaseS: 0.2, backoffCapS: 1, retryAfterCapS: 2, requestTimeoutS: 20, timeLimitS: 120 };

async function agent(task: Task, server: ScriptedServer, over: Partial<AgentRunOptions> = {}) {
  const out = await runAgent(task, {
    cfg,
    model: { baseURL: server.baseURL, apiKey: 'test-key', model: 'openai/scripted-model', temperature: 0, extraBody: {} },
    // Generous stage limits: these tests are about the agent, not about timeouts (the suite runs in parallel).
    timeouts: { install: 60, test: 30 },
    ...over,
    limits: { ...fast, ...over.limits },
  });
  runIds.push(path.basename(out.runDir));
  expect(await listHarnessContainers(path.basename(out.runDir))).toEqual([]);
  const onDisk = JSON.parse(fs.readFileSync(path.join(out.runDir, 'result.json'), 'utf8'));
  const trajectory = fs
    .readFileSync(path.join(out.runDir, 'trajectory.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { ...out, onDisk, trajectory, steps: trajectory.filter((e) => e.type === 'step') };
}

/** The +/- lines of a diff (headers left out). */
function changedLines(diff: string): string[] {
  return diff.split('\n').filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l));
}

/** What the model was told last: the content of the request's final message. */
function lastMessage(s: ScriptedServer, i: number): string {
  const msgs = s.requests[i]!.body.messages;
  return String(msgs[msgs.length - 1].content);
}

describe('runner agent: full conversation on demo-statskit', () => {
  it('clones, installs, sees the failure, reads the file, applies the fix and ends passed with usage summed', async () => {
    const usage = [1, 2, 3, 4, 5, 6].map((i) => ({ prompt_tokens: 100 * i, completion_tokens: 7 * i }));
    const s = await serve([
      toolCall('swe_clone', {}, usage[0]),
      toolCall('swe_install', {}, usage[1]),
      toolCall('swe_pytest', {}, usage[2]),
      toolCall('read_file', { path: 'statskit/rolling.py' }, usage[3]),
      toolCall('swe_apply_patch', { patch: fixPatch }, usage[4]),
      toolCall('swe_pytest', {}, usage[5]),
    ]);
    const { result, onDisk, runDir, trajectory, steps } = await agent(demo, s, {
      programId: 'prog-42',
      releaseUrl: s.releaseURL,
      model: { baseURL: s.baseURL, apiKey: 'test-key', model: 'openai/scripted-model', temperature: 0.3, extraBody: { top_k: 5 } },
    });

    expect(result.status).toBe('passed');
    expect(result.exit_code).toBe(0);
    expect(result.stop_reason).toBe('tests_passed');
    expect(result.turns).toBe(6);
    expect(result.model).toBe('scripted-model');
    const sum = (k: 'prompt_tokens' | 'completion_tokens') => usage.reduce((a, u) => a + u[k], 0);
    expect(result.usage).toEqual({ prompt_tokens: sum('prompt_tokens'), completion_tokens: sum('completion_tokens'), total_tokens: sum('prompt_tokens') + sum('completion_tokens') });
    expect(result.before!.status).toBe('failed');
    expect(result.after!.status).toBe('passed');
    expect(result.after!.counts.passed).toBe(14);
    expect(result.stages.map((st) => st.name)).toEqual(['clone', 'install', 'tests_after', 'apply_patch', 'tests_after']);
    expect(result.head).toBe(demo.ref);
    expect(result.patch).toMatchObject({ source: 'model', files: ['statskit/rolling.py'] });

    // result.json: run-one's keys in their order, then the agent's, then where the details went.
    expect(Object.keys(onDisk).slice(-5)).toEqual(['model', 'turns', 'usage', 'stop_reason', 'details']);
    expect(Object.keys(onDisk).slice(0, 5)).toEqual(['task_id', 'repo', 'ref', 'pytest_k', 'status']);

    // patch.diff is the model's change, the fix's lines exactly.
    const diff = fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8');
    expect(changedLines(diff)).toEqual(changedLines(fixPatch));
    expect(diff).toMatch(/^diff --git a\/statskit\/rolling\.py b\/statskit\/rolling\.py$/m);

    // What went over the wire.
    expect(s.requests).toHaveLength(6);
    const first = s.requests[0]!.body;
    expect(first.model).toBe('scripted-model');
    expect(first.temperature).toBe(0.3);
    expect(first.tools.map((t: { function: { name: string } }) => t.function.name).sort()).toEqual([...TOOL_NAMES].sort());
    expect(first.messages[0].role).toBe('system');
    expect(first.messages[1].content).toContain('moving_average drops the first window'); // the problem statement
    expect(first.messages[1].content).toContain('demo-statskit');
    for (const r of s.requests) {
      expect(r.body.program_id).toBe('prog-42');
      expect(r.body.top_k).toBe(5);
      expect(r.headers.authorization).toBe('Bearer test-key');
    }
    expect(lastMessage(s, 3)).toMatch(/failed.*2 failed/);
    expect(lastMessage(s, 3)).toContain('test_moving_average_values');
    expect(lastMessage(s, 4)).toContain('csum = np.cumsum(arr)');
    expect(lastMessage(s, 5)).toMatch(/Patch applied with git apply/);
    // Tool results answer the calls they belong to.
    const msgs = s.requests[5]!.body.messages;
    const lastCall = msgs[msgs.length - 2].tool_calls[0];
    expect(msgs[msgs.length - 1]).toMatchObject({ role: 'tool', tool_call_id: lastCall.id });

    // One trajectory line per step, between start and end; the release was posted.
    expect(trajectory[0].type).toBe('start');
    expect(trajectory[trajectory.length - 1]).toMatchObject({ type: 'end', status: 'passed', stop_reason: 'tests_passed' });
    expect(steps.map((e) => e.turn)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps[0].sent).toHaveLength(2);
    expect(steps[2].calls[0]).toMatchObject({ name: 'swe_pytest', ok: true });
    expect(steps[5].usage_total.total_tokens).toBe(result.usage!.total_tokens);
    expect(s.releases.map((r) => r.body)).toEqual([{ program_id: 'prog-42' }]);
  });
});

describe('runner agent: the model makes mistakes', () => {
  it('turns malformed arguments, unknown tools, escaping paths and rejected patches into observations and goes on', async () => {
    const traversal = 'diff --git a/../evil.py b/../evil.py\n--- a/../evil.py\n+++ b/../evil.py\n@@ -1 +1 @@\n-a\n+b\n';
    const s = await serve([
      toolCall('read_file', '{"path": '),
      toolCall('read_file', { paht: 'statskit/rolling.py' }),
      toolCall('delete_everything', {}),
      toolCall('read_file', { path: 'statskit/rolling.py' }),
      toolCall('swe_clone', {}),
      toolCall('read_file', { path: '../../etc/passwd' }),
      toolCall('list_files', { path: '/etc' }),
      toolCall('swe_apply_patch', { patch: traversal }),
      toolCall('list_files', { path: 'statskit', depth: 1 }),
      toolCall('read_file', { path: 'statskit/rolling.py', start_line: 43, end_line: 44 }),
      toolCall('run_command', { command: 'seq 1 50000' }),
      toolCall('run_command', { command: 'sleep 30' }),
      say('I cannot fix this.'),
    ]);
    const { result, steps } = await agent(demo, s, { limits: { maxTurns: 14, commandTimeoutS: 2 } });
    expect(lastMessage(s, 1)).toMatch(/arguments of read_file are not valid JSON/);
    expect(lastMessage(s, 2)).toMatch(/unknown field "paht"/);
    expect(lastMessage(s, 3)).toMatch(/no tool named "delete_everything"/);
    expect(lastMessage(s, 3)).toContain('swe_apply_patch');
    expect(lastMessage(s, 4)).toMatch(/not checked out yet/);
    expect(lastMessage(s, 6)).toMatch(/contains "\.\."/);
    expect(lastMessage(s, 7)).toMatch(/is absolute/);
    expect(lastMessage(s, 8)).toMatch(/Patch not applied: patch rejected/);
    expect(lastMessage(s, 9).split('\n')).toEqual(expect.arrayContaining(['statskit/__init__.py', 'statskit/rolling.py']));
    expect(lastMessage(s, 10)).toBe('    43      csum = np.cumsum(arr)\n    44      return (csum[window:] - csum[:-window]) / window');
    // Long output is cut with a note saying how much; a command over its time limit is killed: both observations.
    expect(lastMessage(s, 11)).toMatch(/^exit code 0\n1\n2\n/);
    expect(lastMessage(s, 11)).toMatch(/\[\.\.\. \d+ of \d+ characters cut here \.\.\.\]/);
    expect(lastMessage(s, 11)).toMatch(/\n50000$/);
    expect(lastMessage(s, 12)).toMatch(/killed after the 2s time limit/);
    expect(steps.slice(0, 4).map((e) => e.calls[0].ok)).toEqual([false, false, false, false]);
    expect(result.turns).toBe(13);
    expect(result.stop_reason).toBe('model_stopped');
    // The harness's own verification decides: nothing was fixed.
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.after!.counts.failed).toBe(2);
    expect(result.patch).toBeNull();
  });

  it('stops a model that never stops at max_turns', async () => {
    const s = await serve([
      toolCall('swe_clone', {}),
      (_req, i) => toolCall('read_file', { path: 'statskit/rolling.py', start_line: i }),
      (_req, i) => toolCall('read_file', { path: 'statskit/rolling.py', start_line: i }),
      toolCall('read_file', { path: 'never/sent.py' }),
    ]);
    const { result, steps } = await agent(demo, s, { limits: { maxTurns: 3 } });
    expect(result.stop_reason).toBe('max_turns');
    expect(result.turns).toBe(3);
    expect(s.requests).toHaveLength(3);
    expect(steps).toHaveLength(3);
    expect(lastMessage(s, 2)).toMatch(/^\s+1 {2}"""Rolling-window helpers/);
    expect(result.status).toBe('failed');
  });

  it('warns a model that repeats itself once, then stops it; its commands cannot write to the repository', async () => {
    const same = () => toolCall('run_command', { command: 'echo hacked >> statskit/rolling.py' });
    const s = await serve([toolCall('swe_clone', {}), same(), same(), same(), same(), same()]);
    const { result, steps, runDir } = await agent(demo, s, { limits: { maxTurns: 10, repeatLimit: 3 } });
    expect(lastMessage(s, 2)).toMatch(/Permission denied/);
    expect(lastMessage(s, 2)).toMatch(/^exit code 1/);
    expect(lastMessage(s, 3)).not.toMatch(/Warning/);
    expect(lastMessage(s, 4)).toMatch(/Warning: you have made the same call 3 times in a row/);
    expect(s.requests).toHaveLength(5);
    expect(result.turns).toBe(5);
    expect(result.stop_reason).toBe('repeated_action');
    expect(steps[3].warning).toMatch(/Warning/);
    expect(steps[4].stopped).toBe('repeated_action');
    expect(steps[4].calls).toBeUndefined(); // the repeated call was not run again
    expect(fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8')).toBe('');
    expect(result.status).toBe('failed');
  });
});

describe('runner agent: limits', () => {
  it('stops at the token limit', async () => {
    const big = { prompt_tokens: 600, completion_tokens: 0 };
    const s = await serve([toolCall('swe_clone', {}, big), toolCall('list_files', {}, big), toolCall('list_files', { depth: 1 }, big)]);
    const { result } = await agent(demo, s, { limits: { maxTokensTotal: 1000 } });
    expect(result.stop_reason).toBe('token_limit');
    expect(result.turns).toBe(2);
    expect(result.usage!.total_tokens).toBe(1200);
    expect(result.status).toBe('failed');
  });

  it('stops at the wall-clock limit, cutting a model call short', async () => {
    const s = await serve([{ ...say('too late'), delayMs: 5000 }]);
    const t0 = performance.now();
    const { result, steps } = await agent(passing, s, { limits: { timeLimitS: 1 } });
    expect(result.stop_reason).toBe('time_limit');
    expect(result.turns).toBe(0);
    expect(steps[0].error.stop_reason).toBe('time_limit');
    // Stopped at once, then the harness verified on its own (clone, install, tests).
    expect(result.stages.map((st) => st.name)).toEqual(['clone', 'install', 'tests_after']);
    expect(result.status).toBe('passed');
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it('is interrupted by its abort signal (Ctrl-C) with the result written and the container removed', async () => {
    const s = await serve([{ ...say('too late'), delayMs: 5000 }]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500);
    const { result, onDisk, trajectory } = await agent(demo, s, { signal: ac.signal });
    expect(result.status).toBe('interrupted');
    expect(result.exit_code).toBe(130);
    expect(result.stop_reason).toBe('interrupted');
    expect(onDisk.status).toBe('interrupted');
    expect(trajectory[trajectory.length - 1]).toMatchObject({ type: 'end', stop_reason: 'interrupted' });
  });
});

describe('runner agent: provider errors', () => {
  it('retries a 429 honouring retry-after and a 503 with backoff, then goes on', async () => {
    const s = await serve([httpError(429, 'Rate limit reached', { 'retry-after': '1' }), httpError(503, 'overloaded'), say('Nothing to do.')]);
    const { result, steps } = await agent(passing, s);
    expect(s.requests).toHaveLength(3);
    expect(s.requests[1]!.at - s.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(steps).toHaveLength(1);
    expect(steps[0].retries).toMatchObject([
      { attempt: 1, status: 429, wait_s: 1, wait_from: 'retry-after' },
      { attempt: 2, status: 503, wait_s: 0.4, wait_from: 'backoff' },
    ]);
    expect(result.stop_reason).toBe('model_stopped');
    expect(result.turns).toBe(1);
    expect(result.usage).toEqual({ prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 });
    expect(result.status).toBe('passed'); // statskit-passing: the harness's own run passes
  });

  it('stops at once on a 401 as an infrastructure error, not a failed task', async () => {
    const s = await serve([httpError(401, 'Incorrect API key provided', {}, 'invalid_api_key'), say('never')]);
    const { result, steps } = await agent(demo, s);
    expect(s.requests).toHaveLength(1);
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.stop_reason).toBe('auth_error');
    expect(result.error).toMatch(/auth_error: HTTP 401/);
    expect(result.turns).toBe(0);
    expect(result.stages).toEqual([]);
    expect(steps[0].error).toMatchObject({ stop_reason: 'auth_error', status: 401 });
  });

  it('stops at once on a context-length error, keeping the work done so far', async () => {
    const s = await serve([
      toolCall('swe_clone', {}),
      httpError(400, "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", {}, 'context_length_exceeded'),
    ]);
    const { result, runDir } = await agent(demo, s);
    expect(s.requests).toHaveLength(2);
    expect(result).toMatchObject({ status: 'error', exit_code: 3, stop_reason: 'context_length', turns: 1 });
    expect(result.stages.map((st) => st.name)).toEqual(['clone']);
    expect(fs.existsSync(path.join(runDir, 'patch.diff'))).toBe(true);
  });

  it('gives up after the retries and reports provider_error', async () => {
    const s = await serve([httpError(500, 'boom'), httpError(502, 'bad gateway')]);
    const { result } = await agent(demo, s, { limits: { maxRetries: 1 } });
    expect(s.requests).toHaveLength(2);
    expect(result).toMatchObject({ status: 'error', exit_code: 3, stop_reason: 'provider_error' });
    expect(result.error).toMatch(/gave up after 2 attempts: HTTP 502/);
  });
});

describe('runner agent: --no-tool-calls', () => {
  it('reads one fenced action block per reply and solves the task', async () => {
    const s = await serve([
      action('swe_clone', {}),
      action('swe_install', {}),
      say(`Two at once:\n\`\`\`action\n{"name": "swe_pytest", "arguments": {}}\n\`\`\`\n\`\`\`action\n{"name": "swe_pytest", "arguments": {}}\n\`\`\``),
      say('```action\n{"name": "swe_pytest", "arguments": \n```'),
      action('swe_apply_patch', { patch: fixPatch }),
      action('swe_pytest', {}),
    ]);
    const { result, runDir } = await agent(demo, s, { toolCalls: false });
    for (const r of s.requests) expect(r.body.tools).toBeUndefined();
    const system = s.requests[0]!.body.messages[0].content as string;
    expect(system).toContain('fenced block tagged `action`');
    expect(system).toMatch(/^- swe_apply_patch: .*Arguments: \{"patch": string \(required\)\}$/m);
    expect(s.requests[1]!.body.messages.at(-1)).toMatchObject({ role: 'user' });
    expect(lastMessage(s, 1)).toMatch(/^Output of swe_clone:\n\nclone: ok/);
    expect(lastMessage(s, 3)).toMatch(/2 action blocks/);
    expect(lastMessage(s, 4)).toMatch(/not valid JSON/);
    expect(result).toMatchObject({ status: 'passed', stop_reason: 'tests_passed', turns: 6 });
    expect(changedLines(fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8'))).toEqual(changedLines(fixPatch));
  });
});

describe('runner agent: what its commands leave behind, its preds file, its network', () => {
  it('kills what a command left running in the background (setsid -f, &) when it returns', async () => {
    const count = `for p in /proc/[0-9]*; do tr '\\0' ' ' < "$p/cmdline" 2>/dev/null; echo; done | grep -c 'sleep 30[01]'`;
    const s = await serve([
      toolCall('swe_clone', {}),
      // (The durations in variables: the command line itself must not match.)
      toolCall('run_command', { command: `a=300 b=301; setsid -f sleep $a >/dev/null 2>&1 </dev/null; (sleep $b >/dev/null 2>&1 </dev/null &); ${count}` }),
      toolCall('run_command', { command: count }),
      say('Done.'),
    ]);
    const model = { baseURL: s.baseURL, apiKey: 'test-key', model: 'openai/scripted-model', temperature: 0, extraBody: {} };
    const { result } = await agent(passing, s, { model });
    expect(lastMessage(s, 2)).toMatch(/\n2$/); // both were running while the command ran
    expect(lastMessage(s, 3)).toMatch(/^exit code 1\n0$/); // and are gone after it
    expect(result.status).toBe('passed');
    // The cache key folds in the agent's settings, the way run-many computes it.
    const image = await resolveImage(null);
    const timeouts = effectiveTimeouts(cfg, passing, { install: 60, test: 30 });
    expect(result.cache_key).toBe(cacheKey(passing, image, null, timeouts, agentMode(model, fast, true)));
  });

  it('survives a fork bomb from the model: the bomb dies, the next tool works, the patch is kept and verified', async () => {
    const s = await serve([
      toolCall('swe_clone', {}),
      toolCall('swe_install', {}),
      toolCall('swe_apply_patch', { patch: fixPatch }),
      // A fork bomb that fills the pids limit and runs into the command's time limit.
      toolCall('run_command', { command: 'bomb() { bomb | bomb & }; bomb; sleep 60' }),
      toolCall('run_command', { command: 'echo still-alive' }),
      say('Done.'),
    ]);
    const { result, runDir } = await agent(demo, s, { limits: { ...fast, commandTimeoutS: 4 } });
    expect(lastMessage(s, 5)).toMatch(/still-alive/);
    expect(result.status).toBe('passed');
    expect(result.stop_reason).toBe('model_stopped');
    expect(changedLines(fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8'))).toEqual(changedLines(fixPatch));
  });

  it('sends a command of any size by stdin and answers an oversized argument with an observation, not a crash', async () => {
    const big = `: ${'x'.repeat(200 * 1024)}\necho big-command-ran`;
    const s = await serve([
      toolCall('swe_clone', {}),
      toolCall('run_command', { command: big }),
      toolCall('read_file', { path: 'y'.repeat(200 * 1024) }),
      say('Done.'),
    ]);
    const { result } = await agent(passing, s);
    expect(lastMessage(s, 2)).toMatch(/big-command-ran/);
    expect(lastMessage(s, 3)).toMatch(/field "path" of 204800 bytes/);
    expect(result.stop_reason).toBe('model_stopped');
    expect(result.status).toBe('passed');
  });

  it('finishes and is verified when the preds file cannot take the prediction (not a dict), logging why', async () => {
    const preds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preds-')), 'preds.json');
    fs.writeFileSync(preds, '[]\n');
    const s = await serve([say('Nothing to do.')]);
    const { result, trajectory } = await agent(passing, s, { predsFile: preds });
    expect(result).toMatchObject({ status: 'passed', stop_reason: 'model_stopped', exit_code: 0 });
    expect(trajectory.find((e) => e.type === 'prediction')).toMatchObject({ ok: false, error: expect.stringMatching(/not a predictions dict/) });
    expect(fs.readFileSync(preds, 'utf8')).toBe('[]\n');
  });

  it('writes the prediction of a run the provider stopped too', async () => {
    const preds = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'preds-')), 'preds.json');
    const s = await serve([httpError(401, 'Incorrect API key provided', {}, 'invalid_api_key')]);
    const { result } = await agent(demo, s, { predsFile: preds });
    expect(result.stop_reason).toBe('auth_error');
    expect((await loadPredictions(preds)).get('demo-statskit')).toMatchObject({ model_name_or_path: 'scripted-model', model_patch: '' });
  });

  it('grades in a fresh container when the install needs the network a file tool already cut', async () => {
    // The install works only with a network interface (as a pip install from PyPI would).
    const task: Task = { ...passing, task_id: 'statskit-needs-network', install_network: true, install: `test -e /sys/class/net/eth0 && ${passing.install}` };
    const s = await serve([toolCall('swe_clone', {}), toolCall('read_file', { path: 'statskit/rolling.py', end_line: 3 }), say('Done.')]);
    const { result, runDir } = await agent(task, s);
    expect(result.stop_reason).toBe('model_stopped');
    expect(result.status).toBe('passed');
    expect(result.stages.map((st) => [st.name, st.status])).toEqual([
      ['clone', 'ok'], // the model's
      ['clone', 'ok'], // the fresh container's
      ['install', 'ok'],
      ['tests_after', 'ok'],
    ]);
    expect(fs.readdirSync(path.join(runDir, 'eval'))).toHaveLength(1);
  });
});

describe('runner agent: run-one --agent', () => {
  const runOne = (args: string[], env: Record<string, string>) =>
    execa('node', ['--import', 'tsx', path.join(ROOT, 'scripts/run-one.ts'), ...args], {
      cwd: ROOT,
      reject: false,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    });

  it('runs the agent from the CLI and exits 3 on a provider auth error, printing the result', async () => {
    const s = await serve([httpError(403, 'forbidden')]);
    const r = await runOne(['--task-id', 'demo-statskit', '--agent', '--runs-dir', runsDir, '--json', '--quiet', '--max-turns', '2', '--program-id'], {
      OPENAI_BASE_URL: s.baseURL,
      SWE_HARNESS_MODEL: 'openai/cli-model',
    });
    expect(r.exitCode).toBe(3);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ status: 'error', stop_reason: 'auth_error', model: 'cli-model', turns: 0 });
    // --program-id without a value: the run id.
    expect(s.requests[0]!.body.program_id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}-demo-statskit$/);
    expect(s.requests[0]!.headers.authorization).toBe('Bearer EMPTY');
    expect(await listHarnessContainers(s.requests[0]!.body.program_id)).toEqual([]);
  });

  it.each([
    [['--agent'], {}, /needs OPENAI_BASE_URL/],
    [['--agent'], { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, /needs a model/],
    [['--agent', '--model', 'm', '--extra-body', '{oops'], { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, /--extra-body must be a JSON object, got "\{oops"/],
    [['--model', 'm'], {}, /--model needs --agent/],
  ])('rejects bad agent input with a one-line usage error (%j)', async (args, env, message) => {
    const r = await runOne(['--task-id', 'demo-statskit', '--runs-dir', runsDir, ...args], env as Record<string, string>);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('runner agent: pieces', () => {
  it('leaves no container labelled swe-harness.run behind for any agent run', async () => {
    expect(runIds.length).toBeGreaterThan(0);
    for (const id of runIds) expect(await listHarnessContainers(id)).toEqual([]);
  });
});
