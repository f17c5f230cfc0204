/**
 * Integration tests of whole runs on the real Docker engine, real git and
 * real pytest, on the repositories this project ships.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, OWNER_LABELS, ROOT, type HarnessConfig } from '../../scripts/lib/core/config.js';
import { docker, listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import { findTask, loadTasks, makeTask } from '../../scripts/lib/task/tasks.js';
import { decodePatch } from '../../scripts/lib/core/diff.js';
import type { Task } from '../../scripts/lib/core/types.js';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-runs-'));
const cfg: HarnessConfig = { ...DEFAULT_CONFIG, runsDir };
let tasks: Task[];
let probesHead: string;

function probes(over: Partial<Task>): Task {
  return makeTask({ task_id: 'probe', repo: 'fixture:probes', ref: probesHead, tests: ['tests/test_ok.py'], ...over });
}

const fixPatch = () => fs.readFileSync(path.join(ROOT, 'tasks/statskit/fix.patch'), 'utf8');

beforeAll(async () => {
  tasks = await loadTasks(path.join(ROOT, 'seed_tasks.jsonl'));
  probesHead = (await ensureFixture('probes')).head;
});

async function expectNoContainerFor(runDir: string) {
  expect(await listHarnessContainers(path.basename(runDir))).toEqual([]);
}

function readResult(runDir: string) {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8'));
}

describe('runs on shipped tasks', () => {
  it('passes a selection of passing tests and writes the result with the documented key order', async () => {
    const task = findTask(tasks, 'statskit-passing');
    const { result, runDir } = await runTask(task, { cfg });
    expect(result.status).toBe('passed');
    expect(result.exit_code).toBe(0);
    expect(result.after!.counts.passed).toBeGreaterThan(0);
    expect(result.after!.counts.failed).toBe(0);
    const onDisk = readResult(runDir);
    expect(Object.keys(onDisk).slice(0, 7)).toEqual(['task_id', 'repo', 'ref', 'pytest_k', 'status', 'duration_s', 'tail']);
    expect(onDisk.stages.map((s: { name: string }) => s.name)).toEqual(['clone', 'install', 'tests_after']);
    expect(result.head).toBe(task.ref);
    expect(result.image!.python).toMatch(/^3\.\d+$/);
    await expectNoContainerFor(runDir);
  });

  it('fails a task whose tests fail, naming the failing tests', async () => {
    const task = findTask(tasks, 'frametools-failing');
    const { result, runDir } = await runTask(task, { cfg });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(Object.values(result.after!.tests)).toContain('FAILED');
    expect(result.tail).toMatch(/FAILED/);
    await expectNoContainerFor(runDir);
  });

  it('turns failing tests into passing ones with the fix patch, recording before and after', async () => {
    const task = findTask(tasks, 'demo-statskit');
    const { result, runDir } = await runTask(task, { cfg, patch: { text: fixPatch(), source: 'fix.patch' } });
    expect(result.status).toBe('passed');
    expect(result.before!.status).toBe('failed');
    expect(result.before!.counts.failed).toBeGreaterThan(0);
    expect(result.after!.status).toBe('passed');
    expect(result.patch!.applied_with).toBe('git apply');
    expect(result.stages.map((s) => s.name)).toEqual(['clone', 'install', 'tests_before', 'apply_patch', 'tests_after']);
    // A test id with a space inside its parameter survives parsing whole.
    expect(Object.keys(result.after!.tests).some((id) => /\[[^\]]* [^\]]*\]$/.test(id))).toBe(true);
    for (const f of ['clone.log', 'install.log', 'tests_before.log', 'apply_patch.log', 'tests_after.log', 'patch.diff']) {
      expect(fs.existsSync(path.join(runDir, f)), f).toBe(true);
    }
    await expectNoContainerFor(runDir);
  });

  it('falls through the chain to patch --fuzz when the context has drifted', async () => {
    // One context line no longer matches (git apply refuses) and the index line
    // names blobs the repo lacks (so --3way cannot merge): only fuzz applies it.
    const drifted = fixPatch()
      .replace(/^index .*$/m, 'index 0123456..89abcde 100644')
      .replace(/^ {5}"""$/m, '     """ drifted context');
    expect(drifted).not.toBe(fixPatch());
    const { result } = await runTask(findTask(tasks, 'demo-statskit'), { cfg, patch: { text: drifted, source: 'drifted' } });
    expect(result.patch!.applied_with).toBe('patch --fuzz');
    expect(result.status).toBe('passed');
  });
});

describe('patches that must not run', () => {
  const traversal = 'diff --git a/../evil.py b/../evil.py\n--- a/../evil.py\n+++ b/../evil.py\n@@ -1 +1 @@\n-a\n+b\n';
  const binary = 'diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 3\nKcmZQzU|;|M00aO5\n\nliteral 0\nHcmV?d00001\n\n';
  const oversized = () => `diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n@@ -1 +1,2 @@\n a\n+${'x'.repeat(DEFAULT_CONFIG.patch.maxBytes)}\n`;

  it.each([
    ['path traversal', () => traversal, /\.\.\/evil\.py/],
    ['a binary patch', () => binary, /binary/i],
    ['an oversized patch', oversized, /bytes/],
  ])('rejects %s before any container starts', async (_name, make, reason) => {
    const { result, runDir } = await runTask(findTask(tasks, 'demo-statskit'), { cfg, patch: { text: make(), source: 'bad' } });
    expect(result.status).toBe('patch_rejected');
    expect(result.exit_code).toBe(5);
    expect(result.error).toMatch(reason);
    expect(result.stages).toEqual([]);
    // Keyed like any run, so run-many skips it next time; stored no larger than a log.
    expect(result.cache_key).toMatch(/^[0-9a-f]{32}$/);
    expect(fs.statSync(path.join(runDir, 'patch.diff')).size).toBeLessThan(DEFAULT_CONFIG.logs.maxLogBytes + 200);
    expect(fs.existsSync(path.join(runDir, 'result.json'))).toBe(true);
    await expectNoContainerFor(runDir);
  });

  it('stores a huge rejected patch capped like a log, with a note of what was left out', async () => {
    const huge = `diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n@@ -1 +1,2 @@\n a\n+${'x'.repeat(3 * DEFAULT_CONFIG.logs.maxLogBytes)}\n`;
    const { result, runDir } = await runTask(findTask(tasks, 'demo-statskit'), { cfg, patch: { text: huge, source: 'huge' } });
    expect(result.status).toBe('patch_rejected');
    expect(result.patch?.bytes).toBe(Buffer.byteLength(huge));
    const stored = fs.readFileSync(path.join(runDir, 'patch.diff'), 'utf8');
    expect(stored.length).toBeLessThan(DEFAULT_CONFIG.logs.maxLogBytes + 200);
    expect(stored).toMatch(/patch capped at \d+ bytes; \d+ more bytes not stored/);
  });

  it('reports patch_failed with the tool message when no link of the chain applies the patch', async () => {
    const wrong = 'diff --git a/statskit/nothere.py b/statskit/nothere.py\n--- a/statskit/nothere.py\n+++ b/statskit/nothere.py\n@@ -1,2 +1,2 @@\n-def nope():\n+def yes():\n     pass\n';
    const { result, runDir } = await runTask(findTask(tasks, 'demo-statskit'), { cfg, patch: { text: wrong, source: 'wrong' } });
    expect(result.status).toBe('patch_failed');
    expect(result.exit_code).toBe(5);
    expect(result.error).toMatch(/nothere\.py/);
    expect(result.stages.map((s) => s.name)).toEqual(['clone', 'install', 'tests_before', 'apply_patch']);
    await expectNoContainerFor(runDir);
  });
});

describe('timeouts, network and hostile tests', () => {
  it('times out an install that hangs and names the stage', async () => {
    const { result, runDir } = await runTask(probes({ install: 'sleep 300' }), { cfg, timeouts: { install: 1 } });
    expect(result.status).toBe('timeout');
    expect(result.timeout_stage).toBe('install');
    expect(result.exit_code).toBe(4);
    expect(result.duration_s).toBeLessThan(30);
    await expectNoContainerFor(runDir);
  });

  it('times out a hanging test run and leaves no container behind', async () => {
    const { result, runDir } = await runTask(probes({ tests: ['tests/test_sleep.py'] }), { cfg, timeouts: { test: 2 } });
    expect(result.status).toBe('timeout');
    expect(result.timeout_stage).toBe('tests_after');
    expect(result.after!.status).toBe('timeout');
    await expectNoContainerFor(runDir);
  });

  it('keeps the network away from the tests even when the install had it', async () => {
    const { result } = await runTask(probes({ tests: ['tests/test_network.py'], install_network: true, install: 'true' }), { cfg, timeouts: { test: 30 } });
    expect(result.status).toBe('passed');
    expect(result.after!.counts.passed).toBeGreaterThan(0);
  });

  it('does not count PASSED lines printed by a failing test as a pass', async () => {
    const { result } = await runTask(probes({ tests: ['tests/test_fake_pass.py'] }), { cfg });
    expect(result.status).toBe('failed');
    expect(Object.values(result.after!.tests)).not.toContain('PASSED');
  });

  it('caps the log of a test that prints tens of megabytes', async () => {
    const { result, runDir } = await runTask(probes({ tests: ['tests/test_noisy.py'] }), { cfg, timeouts: { test: 60 } });
    expect(result.status).toBe('passed');
    const log = fs.statSync(path.join(runDir, 'tests_after.log')).size;
    expect(log).toBeLessThan(DEFAULT_CONFIG.logs.maxLogBytes + 4096);
    expect(fs.readFileSync(path.join(runDir, 'tests_after.log'), 'utf8')).toMatch(/log capped/);
  });

  it('reports a failing test that prints more than the in-memory window as failed, not error', async () => {
    const { result } = await runTask(probes({ tests: ['tests/test_noisy_fail.py'] }), { cfg, timeouts: { test: 60 } });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.after?.tests).toEqual({ 'tests/test_noisy_fail.py::test_noisy_failure': 'FAILED' });
    expect(result.tail).not.toMatch(/@@SWE-HARNESS/);
  });

  it('reads a chatty failing run as failed whatever bytes it prints (not UTF-8 included)', async () => {
    const { result } = await runTask(probes({ tests: ['tests/test_noisy_bytes.py'] }), { cfg, timeouts: { test: 60 } });
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(1);
    expect(result.tail).not.toMatch(/@@SWE-HARNESS/);
  });

  it('applies a patch with Latin-1 bytes byte for byte, and keeps those bytes in patch.diff and its hash', async () => {
    const bytes = Buffer.concat([
      Buffer.from('diff --git a/tests/test_latin1.py b/tests/test_latin1.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/test_latin1.py\n@@ -0,0 +1,6 @@\n+# -*- coding: latin-1 -*-\n+# caf'),
      Buffer.from([0xe9]),
      Buffer.from("\n+def test_bytes_kept():\n+    data = open(__file__, 'rb').read()\n+    assert b'caf\\xe9' in data\n+    assert b'\\xef\\xbf\\xbd' not in data\n"),
    ]);
    const patch = { ...decodePatch(bytes), source: 'latin1.diff' };
    const { result, runDir } = await runTask(probes({ tests: ['tests/test_latin1.py'] }), { cfg, patch, before: false });
    expect(result.status).toBe('passed');
    expect(result.patch).toMatchObject({ applied_with: 'git apply', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(fs.readFileSync(path.join(runDir, 'patch.diff')).equals(bytes)).toBe(true);
  });

  it('reports a test selection pytest cannot run (a usage error) as an error, agreeing with the test summary', async () => {
    const { result } = await runTask(probes({ tests: ['tests/test_ok.py::no such test'] }), { cfg });
    expect(result.after?.status).toBe('error');
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.error).toMatch(/^tests_after: /);
  });

  it('reports a missing ref as an error naming it', async () => {
    const { result, runDir } = await runTask(probes({ ref: 'no-such-ref' }), { cfg });
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.error).toMatch(/no-such-ref/);
    await expectNoContainerFor(runDir);
  });

  it('reports a missing image as an error naming it, with a result file', async () => {
    const { result, runDir } = await runTask(probes({}), { cfg, image: 'swe-harness-no-such-image:0' });
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/swe-harness-no-such-image:0/);
    expect(fs.existsSync(path.join(runDir, 'result.json'))).toBe(true);
  });

  it('reports a container that vanishes mid-run as an error, not as failing tests', async () => {
    const running = runTask(probes({ tests: ['tests/test_sleep.py'] }), { cfg, timeouts: { test: 60 } });
    let ids: string[] = [];
    // Only this process's containers: another harness on the same engine (a second test run) is left alone.
    for (let i = 0; i < 100 && ids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ids = (await docker(['ps', '-q', '--filter', `label=${OWNER_LABELS.pid}=${process.pid}`])).stdout.split('\n').filter(Boolean);
    }
    await new Promise((r) => setTimeout(r, 1500)); // let clone finish and pytest start
    await docker(['rm', '-f', ...ids]);
    const { result } = await running;
    expect(result.status).toBe('error');
    expect(result.exit_code).toBe(3);
    expect(result.error).toMatch(/container was lost|SIGKILL before its time limit/);
  });

  it('collecting no tests is not a pass', async () => {
    const { result } = await runTask(probes({ pytest_k: 'matches_nothing_at_all' }), { cfg });
    expect(result.status).toBe('failed');
    expect(result.after!.collected).toBe(0);
  });
});
