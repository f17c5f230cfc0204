/**
 * Run directories as the harness wrote them over time, for the report page's
 * tests: the compact layout (written by today's writeResult), both older
 * inline layouts (before and after SWE-bench grading came in), an agent run
 * with its trajectory, and broken or missing result files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeResult, type RunResult } from '../../scripts/lib/run/result.js';
import { writeInstanceReport } from '../../scripts/lib/run/report-file.js';
import type { TestSummary } from '../../scripts/lib/core/types.js';

export const FIX_DIFF = `diff --git a/statskit/rolling.py b/statskit/rolling.py
index 8dee784..526ad70 100644
--- a/statskit/rolling.py
+++ b/statskit/rolling.py
@@ -40,5 +40,7 @@ def moving_average(values, window):
     if window <= 0:
         raise ValueError("window must be positive")
-    for i in range(len(values) - window):
+    for i in range(len(values) - window + 1):
         out.append(sum(values[i:i + window]) / window)
+    # the last window counts too
+    assert len(out) == len(values) - window + 1
     return out
`;

const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

export const TEST_LOG = [
  `${BOLD}============================= test session starts ==============================${RESET}`,
  'collected 4 items',
  '',
  `tests/test_rolling.py ${GREEN}..${RESET}${RED}F${RESET}${GREEN}.${RESET}`,
  ...Array.from({ length: 40 }, (_, i) => `    line ${i + 1} of the traceback`),
  `${RED}FAILED${RESET} tests/test_rolling.py::test_window_edge - AssertionError`,
  `${RED}========================= 1 failed, 3 passed in 0.12s =========================${RESET}`,
].join('\n');

function summary(status: TestSummary['status'], tests: TestSummary['tests'], tail: string): TestSummary {
  const v = Object.values(tests);
  const counts = { passed: v.filter((s) => s === 'PASSED').length, failed: v.filter((s) => s === 'FAILED').length, errors: 0, skipped: 0, xfailed: 0, xpassed: 0 };
  return { status, exit_code: status === 'passed' ? 0 : 1, collected: v.length, counts, note: null, tests, tail };
}

function base(taskId: string, status: RunResult['status']): RunResult {
  return {
    task_id: taskId, repo: 'swe-harness/statskit', ref: '46bac69646bcfb3e85189fbc7f99440ce2a7c318', pytest_k: null, status, duration_s: 4.2, tail: '',
    exit_code: status === 'passed' ? 0 : 1, timeout_stage: null, error: null, head: '46bac69646bcfb3e85189fbc7f99440ce2a7c318',
    image: { name: 'swe-harness:py3.11', python: '3.11', flavour: 'offline' }, patch: null, stages: [], before: null, after: null,
  };
}

const BEFORE = { 'tests/test_rolling.py::test_window_edge': 'FAILED', 'tests/test_rolling.py::test_values': 'PASSED', 'tests/test_rolling.py::test_bad_window': 'PASSED', 'tests/test_rolling.py::test_gone': 'PASSED' } as const;
const AFTER = { 'tests/test_rolling.py::test_window_edge': 'PASSED', 'tests/test_rolling.py::test_values': 'PASSED', 'tests/test_rolling.py::test_bad_window': 'FAILED', 'tests/test_rolling.py::test_new': 'PASSED' } as const;

/** A graded instance run in today's compact layout, with logs (ANSI) and its patch. */
export function compactInstanceRun(dir: string, taskId = 'swe-harness__statskit-1'): RunResult {
  const r: RunResult = {
    ...base(taskId, 'failed'),
    patch: { source: 'gold', sha256: 'ab'.repeat(32), bytes: FIX_DIFF.length, files: ['statskit/rolling.py'], applied_with: 'git apply' },
    stages: [
      { name: 'clone', status: 'ok', duration_s: 0.4, exit_code: 0, from: 'image' },
      { name: 'install', status: 'skipped', duration_s: 0, exit_code: null, from: 'image' },
      { name: 'tests_before', status: 'ok', duration_s: 1.2, exit_code: 1 },
      { name: 'apply_patch', status: 'ok', duration_s: 0.1, exit_code: 0 },
      { name: 'tests_after', status: 'ok', duration_s: 1.9, exit_code: 1 },
    ],
    before: summary('failed', { ...BEFORE }, TEST_LOG),
    after: summary('failed', { ...AFTER }, TEST_LOG),
    tail: TEST_LOG,
    resolved: false,
    grading: {
      resolved: false,
      fail_to_pass: { success: ['tests/test_rolling.py::test_window_edge'], failure: [] },
      pass_to_pass: { success: ['tests/test_rolling.py::test_values'], failure: ['tests/test_rolling.py::test_bad_window'] },
    },
    cache_key: 'c0ffee',
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'patch.diff'), FIX_DIFF);
  fs.writeFileSync(path.join(dir, 'tests_before.log'), TEST_LOG);
  fs.writeFileSync(path.join(dir, 'tests_after.log'), TEST_LOG);
  fs.writeFileSync(path.join(dir, 'clone.log'), `${GREEN}HEAD is now at 46bac69${RESET}\n`);
  writeInstanceReport(dir, r);
  writeResult(dir, r);
  return r;
}

/** result.json as the first harness wrote it (commit 36c88ce): everything inline, no grading keys. */
export function inlineV1Run(dir: string): void {
  const r = { ...base('statskit-passing', 'passed'), stages: [{ name: 'clone', status: 'ok', duration_s: 0.5, exit_code: 0 }, { name: 'install', status: 'ok', duration_s: 2.5, exit_code: 0 }, { name: 'tests_after', status: 'ok', duration_s: 1.1, exit_code: 0 }], after: summary('passed', { 'tests/test_a.py::test_one': 'PASSED', 'tests/test_a.py::test_two': 'PASSED' }, 'collected 2 items\n2 passed in 0.01s\n') };
  r.tail = r.after.tail;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'result.json'), `${JSON.stringify(r, null, 2)}\n`);
}

/** result.json after SWE-bench grading came in (c2d52be), before the compact layout: grading and tests inline. */
export function inlineV2Run(dir: string): void {
  const r = {
    ...base('swe-harness__frametools-1', 'passed'),
    patch: { source: 'gold', sha256: 'cd'.repeat(32), bytes: 120, files: ['frametools/grouping.py'], applied_with: 'patch -p1' },
    stages: [{ name: 'clone', status: 'ok', duration_s: 0.3, exit_code: 0 }, { name: 'install', status: 'ok', duration_s: 1.4, exit_code: 0 }, { name: 'apply_patch', status: 'ok', duration_s: 0.1, exit_code: 0 }, { name: 'tests_after', status: 'ok', duration_s: 0.8, exit_code: 0 }],
    after: summary('passed', { 'tests/test_fill.py::test_fill_group_starting_with_gap[north side]': 'PASSED', 'tests/test_fill.py::test_fill_single_group': 'PASSED' }, '2 passed in 0.41s\n'),
    resolved: true,
    grading: { resolved: true, fail_to_pass: { success: ['tests/test_fill.py::test_fill_group_starting_with_gap[north'], failure: [] }, pass_to_pass: { success: ['tests/test_fill.py::test_fill_single_group'], failure: [] } },
    cache_key: 'beef',
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'result.json'), `${JSON.stringify(r, null, 2)}\n`);
}

/** An agent run: compact result with model, turns, usage, stop reason, and its trajectory.jsonl. */
export function agentRun(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const usage = { prompt_tokens: 5200, completion_tokens: 640, total_tokens: 5840 };
  const lines = [
    { type: 'start', t: 0, run_id: path.basename(dir), task_id: 'demo-statskit', model: 'qwen2.5-coder', base_url: 'http://127.0.0.1:8000/v1', tool_calls: true, limits: { max_turns: 20 } },
    {
      type: 'step', t: 1.5, turn: 1, sent: [{ role: 'system', content: 'You fix bugs.' }, { role: 'user', content: 'moving_average drops the last window.' }],
      received: { role: 'assistant', content: 'Let me look at the rolling module first.', tool_calls: [] }, finish_reason: 'tool_calls', usage: { prompt_tokens: 1200, completion_tokens: 80, total_tokens: 1280 }, model_s: 1.2, retries: [],
      calls: [{ id: 'c1', name: 'read_file', arguments: { path: 'statskit/rolling.py' }, ok: true, duration_s: 0.2, output: Array.from({ length: 60 }, (_, i) => `${i + 1}: code line ${i + 1}`).join('\n') }],
    },
    {
      type: 'step', t: 4.1, turn: 2, received: { role: 'assistant', content: 'The range stops one window early; fixing it.' }, finish_reason: 'tool_calls', usage: { prompt_tokens: 2000, completion_tokens: 260, total_tokens: 2260 }, model_s: 2.1, retries: [],
      calls: [{ id: 'c2', name: 'edit_file', arguments: '{"path":"statskit/rolling.py","old":"- window)","new":"- window + 1)"}', ok: true, duration_s: 0.1, output: 'edited statskit/rolling.py' }],
    },
    {
      type: 'step', t: 7.9, turn: 3, received: { role: 'assistant', content: 'Running the tests.' }, finish_reason: 'tool_calls', usage: { prompt_tokens: 2000, completion_tokens: 300, total_tokens: 2300 }, model_s: 1.9, retries: [],
      calls: [{ id: 'c3', name: 'run_tests', arguments: {}, ok: true, duration_s: 1.8, output: `${GREEN}4 passed${RESET} in 0.10s` }],
    },
    { type: 'end', t: 8.2, status: 'passed', stop_reason: 'tests_passed', turns: 3, usage, exit_code: 0, error: null },
  ];
  fs.writeFileSync(path.join(dir, 'trajectory.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'patch.diff'), FIX_DIFF);
  const r: RunResult = {
    ...base('demo-statskit', 'passed'),
    patch: { source: 'model', sha256: 'ef'.repeat(32), bytes: FIX_DIFF.length, files: ['statskit/rolling.py'], applied_with: null },
    stages: [{ name: 'clone', status: 'ok', duration_s: 0.4, exit_code: 0 }, { name: 'tests_after', status: 'ok', duration_s: 1.8, exit_code: 0 }],
    after: summary('passed', { 'tests/test_rolling.py::test_window_edge': 'PASSED' }, '1 passed\n'),
    tail: '1 passed\n',
    model: 'qwen2.5-coder', turns: 3, usage, stop_reason: 'tests_passed',
  };
  writeResult(dir, r);
}

/** The mix a test page shows: every layout, an agent run, a broken and a missing result. Returns the run dirs by name. */
export function writeMixedRuns(runsDir: string): Record<string, string> {
  const d = (name: string) => path.join(runsDir, name);
  const dirs = {
    compact: d('20260101-100000-aaaa-swe-harness__statskit-1'),
    v1: d('20250101-100000-bbbb-statskit-passing'),
    v2: d('20250601-100000-cccc-swe-harness__frametools-1'),
    agent: d('20260102-100000-dddd-demo-statskit'),
    broken: d('20260103-100000-eeee-broken-task'),
    missing: d('20260104-100000-ffff-missing-task'),
    notResult: d('20260105-100000-abcd-not-a-result'),
  };
  compactInstanceRun(dirs.compact);
  inlineV1Run(dirs.v1);
  inlineV2Run(dirs.v2);
  agentRun(dirs.agent);
  fs.mkdirSync(dirs.broken, { recursive: true });
  fs.writeFileSync(path.join(dirs.broken, 'result.json'), '{"task_id": "broken-task", "status": "pas');
  fs.mkdirSync(dirs.missing, { recursive: true });
  fs.writeFileSync(path.join(dirs.missing, 'clone.log'), 'cloning...\n');
  fs.mkdirSync(dirs.notResult, { recursive: true });
  fs.writeFileSync(path.join(dirs.notResult, 'result.json'), '[1, 2, 3]\n');
  return dirs;
}

const STATUSES: RunResult['status'][] = ['passed', 'passed', 'passed', 'failed', 'failed', 'timeout', 'error', 'patch_rejected'];

/** `n` small synthetic runs (compact layout), status and duration varying by index. */
export function writeManyRuns(runsDir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const status = STATUSES[i % STATUSES.length]!;
    const id = `synthetic-${String(i).padStart(4, '0')}`;
    const dir = path.join(runsDir, `20260201-000000-${(i % 65536).toString(16).padStart(4, '0')}-${id}`);
    const after = summary(status === 'passed' ? 'passed' : 'failed', { [`tests/test_${i}.py::test_it`]: status === 'passed' ? 'PASSED' : 'FAILED' }, `run ${i}\n`);
    writeResult(dir, {
      ...base(id, status),
      duration_s: 1 + ((i * 37) % 600) / 10,
      stages: [{ name: 'clone', status: 'ok', duration_s: 0.5, exit_code: 0 }, { name: 'install', status: 'ok', duration_s: (i % 7) + 1, exit_code: 0 }, { name: 'tests_after', status: status === 'timeout' ? 'timeout' : 'ok', duration_s: (i % 11) + 0.5, exit_code: 0 }],
      after,
      tail: after.tail,
      error: status === 'error' ? `install: exit 1 (synthetic ${i})` : null,
    });
  }
}
