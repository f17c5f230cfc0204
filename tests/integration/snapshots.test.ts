/**
 * Snapshots on the real engine: the same verdicts with and without them on
 * every shipped offline task and instance; a restored snapshot needs no mount;
 * a failed install is never kept; a changed base image is not used; a batch of
 * predictions for one instance installs once; the size cap evicts the least
 * recently used. Snapshots go under a repository of their own, removed after.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT, SNAPSHOT_LABELS, type HarnessConfig } from '../../scripts/lib/core/config.js';
import type { PatchInput, Task } from '../../scripts/lib/core/types.js';
import { defaultEngine, execIn, listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { clearImageCache, resolveImage } from '../../scripts/lib/engine/images.js';
import { evictSnapshots, listSnapshots, removeSnapshot } from '../../scripts/lib/engine/snapshots.js';
import { runBatch } from '../../scripts/lib/batch/batch.js';
import { runTask } from '../../scripts/lib/run/run-task.js';
import type { RunResult } from '../../scripts/lib/run/result.js';
import { prepare, startContainer, stopContainer } from '../../scripts/lib/run/sandbox.js';
import { fromSnapshot, openSnapshot } from '../../scripts/lib/run/snapshot.js';
import { savePatch } from '../../scripts/lib/agent/model-patch.js';
import type { Toolbox } from '../../scripts/lib/agent/tools.js';
import { loadTaskSet, patchFor } from '../../scripts/lib/task/taskset.js';

const REPO = `swe-harness-snapshot-test-${process.pid}`;
let tmp: string;
let cfg: HarnessConfig;
let plain: HarnessConfig;

function withSnapshots(extra: Partial<HarnessConfig['snapshots']> = {}): HarnessConfig {
  return { ...cfg, snapshots: { ...cfg.snapshots, ...extra } };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshots-'));
  const snapshots = { ...DEFAULT_CONFIG.snapshots, enabled: true, refresh: false, repo: REPO, dir: path.join(tmp, 'marks') };
  cfg = { ...DEFAULT_CONFIG, runsDir: path.join(tmp, 'runs'), snapshots };
  plain = { ...cfg, snapshots: { ...snapshots, enabled: false } };
});

/** Images the tests built under a name that moved on: untagged, they would stay behind. */
const builtImages: string[] = [];

afterAll(async () => {
  // Every repository the tests made (a failed test leaves its own behind otherwise).
  for (const repo of ['', '-batch', '-lru', '-untagged'].map((x) => `${REPO}${x}`)) {
    for (const s of await listSnapshots({ ...cfg.snapshots, repo })) spawnSync('docker', ['image', 'rm', '-f', s.name]);
  }
  spawnSync('docker', ['image', 'rm', '-f', `${REPO}-base:x`, ...builtImages]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Harness containers this test process started (other harness processes may run meanwhile). */
async function ownContainers(): Promise<string[]> {
  return (await defaultEngine().describeContainers()).filter((c) => c.ownerPid === String(process.pid)).map((c) => c.id);
}

/** What must not change with snapshots: the verdict and every per-test status. */
function verdict(r: RunResult) {
  return { status: r.status, resolved: r.resolved, head: r.head, before: r.before?.tests ?? null, after: r.after?.tests ?? null, grading: r.grading ?? null };
}

/** The stages after clone and install, in order, with their outcomes (a run beside the patch records them as a sequential one). */
function testStages(r: RunResult) {
  return r.stages.filter((s) => s.name !== 'clone' && s.name !== 'install').map((s) => `${s.name}:${s.status}:${s.exit_code}`);
}

function stage(r: RunResult, name: string) {
  return r.stages.find((s) => s.name === name);
}

async function shipped(): Promise<Array<{ task: Task; patch: PatchInput | null }>> {
  const tasks = (await loadTaskSet({})).filter((t) => t.repo.startsWith('fixture:')); // the others need the internet
  const instances = await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') });
  const runners = await loadTaskSet({ instancesFile: path.join(ROOT, 'tests', 'fixtures', 'runner-instances.jsonl'), specsFiles: [path.join(ROOT, 'tests', 'fixtures', 'runner-specs.json')] });
  return [...tasks, ...instances, ...runners].map((task) => ({ task, patch: task.patch || 'gold_patch' in task ? patchFor(task, { kind: 'task' }) : null }));
}

describe('snapshots', () => {
  it('give the same verdicts as runs from scratch on every shipped offline task and instance', async () => {
    const all = await shipped();
    expect(all.length).toBeGreaterThanOrEqual(8);
    // The probes that hang do so until their limit: short limits keep this test short (the outcome is the same).
    const limits: Record<string, Partial<HarnessConfig['timeouts']>> = { 'probe-install-hang': { install: 3 }, 'probe-sleep': { test: 2 } };
    for (const { task, patch } of all) {
      const id = task.task_id;
      const timeouts = limits[id] ?? {};
      const scratch = await runTask(task, { cfg: plain, patch, timeouts });
      expect(stage(scratch.result, 'clone')?.status, id).toBe('ok');
      const installed = !task.install || stage(scratch.result, 'install')?.status === 'ok';
      // run-one's way: the tests before the patch in a second container from the snapshot just kept.
      const building = await runTask(task, { cfg: withSnapshots(), patch, beside: true, timeouts });
      // Tasks that share repository, commit and install share a snapshot: the second of them finds it built.
      expect(['ok', 'cached'], id).toContain(stage(building.result, 'clone')?.status);
      const runs = [building];
      if (installed) {
        // run-one again, from the snapshot found; then run-many's way: one container per run, from the snapshot.
        const cached = await runTask(task, { cfg: withSnapshots(), patch, beside: true, timeouts });
        // Only a run with tests before its patch can go beside it: otherwise run-many's way is the path `cached` took.
        const sequential = stage(cached.result, 'tests_before') ? await runTask(task, { cfg: withSnapshots(), patch, timeouts }) : cached;
        for (const r of [cached, sequential]) {
          expect(stage(r.result, 'clone'), id).toMatchObject({ status: 'cached', from: 'snapshot' });
          if (task.install) expect(stage(r.result, 'install'), id).toMatchObject({ status: 'cached', from: 'snapshot', snapshot: stage(r.result, 'clone')!.snapshot });
        }
        runs.push(cached, sequential);
      } else {
        // A failed or timed-out install is never kept: such a task runs from scratch every time (once more is enough to see it).
        expect(stage(building.result, 'clone'), id).toMatchObject({ status: 'ok' });
      }
      for (const r of runs) {
        expect(verdict(r.result), id).toEqual(verdict(scratch.result));
        expect(testStages(r.result), id).toEqual(testStages(scratch.result));
      }
    }
    expect(await ownContainers()).toEqual([]);
  }, 900_000);

  it('starts from a snapshot that holds no patch, no test run and no link to the mount, with bytecode that never goes stale', async () => {
    const task = (await loadTaskSet({})).find((t) => t.task_id === 'demo-statskit')!;
    const first = await runTask(task, { cfg: withSnapshots(), patch: patchFor(task, { kind: 'task' }) });
    expect(first.result.status).toBe('passed');
    const prep = await prepare(task, cfg, null);
    const snap = (await openSnapshot(task, prep, withSnapshots(), () => {}))!;
    expect(snap.hit).not.toBeNull();
    const runId = `snapcheck-${process.pid}`;
    try {
      const env = await startContainer(fromSnapshot(prep, snap.hit!, cfg.workdir), { cfg, timeouts: cfg.timeouts, runId, runDir: null });
      const check = await execIn(env.container, ['bash', '-c', [
        'set -ex', '! grep -q " /mnt/src " /proc/mounts', 'test -z "$(ls -A /mnt/src 2>/dev/null)"', // no mount, nothing there 'test ! -e .git/objects/info/alternates',
        'git -c safe.directory=* fsck --no-dangling >/dev/null 2>&1', 'git -c safe.directory=* diff --quiet HEAD', // no patch
        'test -z "$(find . -name "*-pytest-*.pyc" -o -name .pytest_cache)"', // no test run (pytest's own pycs)
        // The bytecode compiled in is checked against the source's hash: a change that keeps
        // the file's size and time (where a timestamp pyc would be used, stale) is seen.
        'python3 -c "import importlib.util as u, sys; sys.exit(open(u.cache_from_source(\'statskit/__init__.py\'), \'rb\').read(8)[4] != 3)"',
        'cp -p statskit/__init__.py /tmp/init.py', "sed -i 's/0.3.1/0.3.2/' statskit/__init__.py", 'touch -r /tmp/init.py statskit/__init__.py',
        'test "$(stat -c %s statskit/__init__.py)" = "$(stat -c %s /tmp/init.py)"',
        'test "$(python3 -c "import statskit; print(statskit.__version__)")" = 0.3.2',
        'echo CLEAN'].join('\n')], { timeoutS: 60, backstopS: 5, logs: cfg.logs, logFile: null, cwd: cfg.workdir });
      expect(check.output, `exit ${check.exitCode} ${check.clientError}`).toContain('CLEAN');
      // The agent's patch from such a container is the model's change alone, never the bytecode (statskit ignores no files).
      await execIn(env.container, ['sh', '-c', 'git checkout -q -- . && echo "# changed" >> statskit/rolling.py'], { timeoutS: 30, backstopS: 5, logs: cfg.logs, logFile: null, cwd: cfg.workdir });
      const result = { patch: null } as unknown as RunResult;
      const runDir = fs.mkdtempSync(path.join(tmp, 'agent-'));
      const patch = await savePatch(env.container, { cloned: true, head: snap.hit!.head } as unknown as Toolbox, result, runDir, cfg);
      expect(result.patch?.files).toEqual(['statskit/rolling.py']);
      expect(patch.text).not.toMatch(/pyc|__pycache__/);
    } finally {
      await stopContainer(runId);
    }
    const [listed] = (await listSnapshots(cfg.snapshots)).filter((s) => s.key === snap.key);
    expect(listed!.labels).toMatchObject({ [SNAPSHOT_LABELS.repo]: 'fixture:statskit', [SNAPSHOT_LABELS.commit]: first.result.head, [SNAPSHOT_LABELS.task]: 'demo-statskit', [SNAPSHOT_LABELS.base]: prep.image.id });
    expect(listed!.labels['swe-harness.run']).toBe('');
  });

  describe('the tests before the patch beside it, in a second container from the snapshot', () => {
    const note: PatchInput = { text: 'diff --git a/NOTE.txt b/NOTE.txt\nnew file mode 100644\n--- /dev/null\n+++ b/NOTE.txt\n@@ -0,0 +1 @@\n+beside\n', source: 'test' };
    const sleeper = async () => (await loadTaskSet({})).find((t) => t.task_id === 'probe-sleep')!;
    const leftovers = async (runDir: string) => [...(await listHarnessContainers(path.basename(runDir))), ...(await listHarnessContainers(`${path.basename(runDir)}-before`))];

    it('a "before" that times out ends the run there, as in one container, and both containers go', async () => {
      const task = await sleeper();
      await runTask(task, { cfg: withSnapshots(), timeouts: { test: 2 } }); // keeps the snapshot
      const seq = await runTask(task, { cfg: withSnapshots(), patch: note, timeouts: { test: 2 } });
      const r = await runTask(task, { cfg: withSnapshots(), patch: note, timeouts: { test: 2 }, beside: true });
      expect(stage(r.result, 'clone')).toMatchObject({ status: 'cached' });
      expect(r.result.status).toBe('timeout');
      expect(testStages(r.result)).toEqual(testStages(seq.result));
      expect(r.result.stages.map((x) => `${x.name}:${x.status}`).slice(2)).toEqual(['tests_before:timeout']);
      expect(await leftovers(r.runDir)).toEqual([]);
    });

    it("runs the sibling's tests with the instance's environment, as in one container", async () => {
      const inst = (await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') })).find((t) => t.task_id === 'swe-harness__statskit-1') as unknown as { env: Record<string, string> };
      // No test patch (so the run may go beside) and an env that changes which tests run.
      const task = { ...inst, test_patch: null, env: { ...inst.env, PYTEST_ADDOPTS: '-k zscore' } } as unknown as Task;
      const gold = patchFor(task, { kind: 'task' });
      const seq = await runTask(task, { cfg: withSnapshots(), patch: gold, before: true });
      const side = await runTask(task, { cfg: withSnapshots(), patch: gold, before: true, beside: true });
      expect(stage(side.result, 'clone')).toMatchObject({ status: 'cached' });
      expect(side.result.before?.counts, 'the env reached the sibling').toEqual(seq.result.before?.counts);
      expect(Object.keys(side.result.before?.tests ?? {}).every((id) => id.includes('zscore'))).toBe(true);
      expect(verdict(side.result)).toEqual(verdict(seq.result));
    });

    it('Ctrl-C stops both containers at once and removes them', async () => {
      const task = await sleeper();
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 2500);
      const t = performance.now();
      const r = await runTask(task, { cfg: withSnapshots(), patch: note, timeouts: { test: 60 }, beside: true, signal: ac.signal });
      expect(r.result.status).toBe('interrupted');
      expect(performance.now() - t).toBeLessThan(20_000);
      expect(await leftovers(r.runDir)).toEqual([]);
    });
  });

  it.each([
    ['fails', 'pip install --no-index --no-deps --no-build-isolation -q -e . && exit 3', undefined],
    ['times out', 'sleep 30', 1],
  ])('never keeps an install that %s', async (_what, install, limit) => {
    const task = { ...(await loadTaskSet({})).find((t) => t.task_id === 'statskit-passing')!, install };
    const before = (await listSnapshots(cfg.snapshots)).length;
    const r = await runTask(task, { cfg: withSnapshots(), timeouts: limit ? { install: limit } : {} });
    expect(r.result.status).toBe(limit ? 'timeout' : 'error');
    expect((await listSnapshots(cfg.snapshots)).length).toBe(before);
  });

  it('does not use a snapshot whose base image changed', async () => {
    const base = `${REPO}-base:x`;
    const harness = await resolveImage(null);
    expect(spawnSync('docker', ['tag', harness.name, base]).status).toBe(0);
    const task = { ...(await loadTaskSet({})).find((t) => t.task_id === 'statskit-passing')!, image: base };
    await runTask(task, { cfg: withSnapshots() });
    clearImageCache();
    expect(stage((await runTask(task, { cfg: withSnapshots() })).result, 'clone')?.status).toBe('cached');
    // The same name, another image: built FROM the old one with one more label.
    const built = spawnSync('docker', ['build', '-q', '-t', base, '-'], { input: `FROM ${harness.name}\nLABEL snapshot-test=${Date.now()}\n` });
    expect(built.status, String(built.stderr)).toBe(0);
    clearImageCache();
    expect(stage((await runTask(task, { cfg: withSnapshots() })).result, 'clone')?.status).toBe('ok');
    const newId = (await resolveImage(base)).id;
    builtImages.push(newId);
    expect((await listSnapshots(cfg.snapshots)).filter((s) => s.labels[SNAPSHOT_LABELS.base] === newId)).toHaveLength(1);
    // Rebuilt once more: that snapshot is stale now, and counted at its own layer (its base is still there by id, not by name).
    const again = spawnSync('docker', ['build', '-q', '-t', base, '-'], { input: `FROM ${harness.name}\nLABEL snapshot-test=${Date.now()}-2\n` });
    expect(again.status, String(again.stderr)).toBe(0);
    clearImageCache();
    builtImages.push((await resolveImage(base)).id);
    const old = (await listSnapshots(cfg.snapshots)).filter((s) => s.labels[SNAPSHOT_LABELS.base] === newId);
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ stale: true, untagged: false });
    expect(old[0]!.bytes).toBeLessThan(50 * 1024 ** 2);
  });

  it('removes what a refresh left untagged once no container uses it; a cap below the new snapshot applies after its run', async () => {
    const s = withSnapshots({ repo: `${REPO}-untagged` });
    const task = (await loadTaskSet({})).find((t) => t.task_id === 'demo-statskit')!;
    const patch = patchFor(task, { kind: 'task' })!;
    expect((await runTask(task, { cfg: s, patch, beside: true })).result.status).toBe('passed');
    const [snap] = await listSnapshots(s.snapshots);
    // A container from it (as another run's), while a refresh re-tags its key: the old image cannot go yet.
    const user = spawnSync('docker', ['run', '-d', '--rm', '--entrypoint', 'sleep', snap!.name, '300'], { encoding: 'utf8' }).stdout.trim();
    try {
      const again = await runTask(task, { cfg: { ...s, snapshots: { ...s.snapshots, refresh: true } }, patch, beside: true });
      expect(again.result.status).toBe('passed');
      const left = (await listSnapshots(s.snapshots)).filter((x) => x.untagged);
      expect(left.map((x) => [x.id, x.name, x.key])).toEqual([[snap!.id, snap!.id, snap!.key]]);
    } finally {
      spawnSync('docker', ['rm', '-f', user]);
    }
    // The next pass takes it whatever the cap, and leaves the tagged one and its mark.
    const { removed } = await evictSnapshots(s.snapshots);
    expect(removed.map((x) => x.id)).toEqual([snap!.id]);
    const now = await listSnapshots(s.snapshots);
    expect(now.map((x) => [x.key, x.untagged])).toEqual([[snap!.key, false]]);
    expect(fs.existsSync(path.join(s.snapshots.dir, `${snap!.key}.used`))).toBe(true);
    // A cap smaller than any snapshot: a first run still starts its second container from the one it keeps, which goes once the run is over.
    expect(await removeSnapshot(s.snapshots, now[0]!)).toBeNull();
    const lines: string[] = [];
    const tiny = await runTask(task, { cfg: { ...s, snapshots: { ...s.snapshots, capBytes: 1 } }, patch, beside: true, log: (l) => lines.push(l) });
    expect(tiny.result.status, lines.join('\n')).toBe('passed');
    expect(lines.join('\n')).toMatch(/^\[tests_before\] failed /m);
    expect(lines.join('\n')).toMatch(/snapshot: removed swe-harness-snapshot-test-\d+-untagged:\w+ \([\d.]+ MiB, over the 0\.0 GiB cap\)/);
    expect(await listSnapshots(s.snapshots)).toEqual([]);
    expect(await ownContainers()).toEqual([]);
  });

  it('installs once for a batch of predictions for one instance with 2 workers', async () => {
    const fresh = withSnapshots({ repo: `${REPO}-batch` });
    const [inst] = await loadTaskSet({ instancesFile: path.join(ROOT, 'tasks', 'instances.jsonl') });
    const gold = patchFor(inst!, { kind: 'task' })!;
    const items = [0, 1, 2, 3].map((i) => ({ task: inst!, patch: { ...gold, source: `prediction ${i}` } }));
    await runBatch(items, { cfg: { ...fresh, runsDir: path.join(tmp, 'batch') }, workers: 2, image: null, timeouts: {}, redoExisting: true, signal: new AbortController().signal, progress: () => {} });
    const results = fs.readdirSync(path.join(tmp, 'batch')).filter((d) => fs.existsSync(path.join(tmp, 'batch', d, 'result.json')))
      .map((d) => JSON.parse(fs.readFileSync(path.join(tmp, 'batch', d, 'result.json'), 'utf8')) as RunResult);
    expect(results).toHaveLength(4);
    expect(results.filter((r) => r.status === 'passed')).toHaveLength(4);
    expect(results.filter((r) => stage(r, 'install')?.status === 'ok')).toHaveLength(1);
    expect(results.filter((r) => stage(r, 'install')?.status === 'cached')).toHaveLength(3);
    for (const s of await listSnapshots(fresh.snapshots)) spawnSync('docker', ['image', 'rm', '-f', s.name]);
  }, 300_000);

  it('evicts the least recently used snapshots over the cap, the newest last', async () => {
    const s = withSnapshots({ repo: `${REPO}-lru` }).snapshots;
    const tasks = (await loadTaskSet({})).filter((t) => t.task_id === 'statskit-passing' || t.task_id === 'demo-frametools');
    for (const t of tasks) await runTask(t, { cfg: { ...cfg, snapshots: s } });
    const listed = await listSnapshots(s);
    expect(listed).toHaveLength(2);
    const newest = listed[1]!;
    const gone = await evictSnapshots({ ...s, capBytes: newest.bytes }, newest.key);
    expect(gone.removed.map((g) => g.key)).toEqual([listed[0]!.key]);
    expect(gone.over).toBe(false);
    expect((await listSnapshots(s)).map((x) => x.key)).toEqual([newest.key]);
    for (const x of await listSnapshots(s)) spawnSync('docker', ['image', 'rm', '-f', x.name]);
  }, 300_000);
});
