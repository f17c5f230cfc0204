/**
 * A second Docker engine reached only through its socket: its own dockerd
 * (data root, exec root, pid file, socket) in its own network namespace,
 * started here (tests/support/second-engine.ts) and removed after. Runs on it must pass with nothing of this
 * machine bind-mounted (the repository goes in over the API, the image is
 * streamed once), record the engine, turn the engine going away into an
 * `error` naming it, and be cleaned up per engine. Needs root (dockerd, ip netns).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, RUN_LABEL, OWNER_LABELS } from '../../scripts/lib/core/config.js';
import { expectNoBindMounts, watchMounts as watchOn } from '../support/mounts.js';
import { secondEngine } from '../support/second-engine.js';
import { resultsIn, runScript } from '../support/scripts.js';

const ROOT_USER = process.getuid?.() === 0;
const engine2 = secondEngine(`swh-test-${process.pid}`);
const URL = engine2.url;
/** The docker client against the second engine only. */
const docker2 = engine2.docker;
const stopEngine = engine2.stop;
const watchMounts = () => watchOn(docker2);

const script = (name: string, args: string[], timeoutMs = 300_000) => runScript(name, args, { timeoutMs });

const made: string[] = [];
const runsDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-remote-'));
  made.push(d);
  return d;
};

/** Start run-one on the second engine and resolve once its tests are running in the container. */
async function sleepingRun(dir: string): Promise<{ child: ChildProcess; done: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', '--task-id', 'probe-sleep', '--runs-dir', dir, '--test-timeout', '120', '--engine', URL], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`install never finished: ${stderr}`)), 120_000);
    child.stderr!.on('data', () => {
      if (/\[install\] ok/.test(stderr)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await new Promise((r) => setTimeout(r, 1500));
  return { child, done, stderr: () => stderr };
}

describe.skipIf(!ROOT_USER)('a second engine, reached only through its socket', () => {
  beforeAll(async () => {
    await engine2.start();
  });

  afterAll(async () => {
    await engine2.remove();
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('runs the demo task there: passed, the image streamed in once, no bind mount, the engine recorded', async () => {
    const dir = runsDir();
    const watch = watchMounts();
    const r = await script('run-one', ['--task-id', 'demo-statskit', '--task-patch', '--engine', URL, '--runs-dir', dir, '--json']);
    const seen = watch.stop();
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ task_id: 'demo-statskit', status: 'passed', engine: URL });
    // A fresh engine has no image: it came from this machine's engine, once, with progress lines.
    expect(r.stderr.match(/streaming it from the local engine/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/\[image\] .* → unix:\/\/.*: streamed \d+ MiB in [\d.]+ s/);
    expectNoBindMounts(seen);
    // The container is gone from the engine that ran it.
    expect(docker2(['ps', '-aq', '--filter', `label=${RUN_LABEL}`]).stdout.trim()).toBe('');
  });

  it('runs a shipped instance there with run-many --gold: resolved, the image not streamed again, no bind mount', async () => {
    const dir = runsDir();
    const watch = watchMounts();
    const r = await script('run-many', ['--instances', 'tasks/instances.jsonl', '--filter', '^swe-harness__statskit-1$', '--gold', '--engine', URL, '--runs-dir', dir]);
    const seen = watch.stop();
    expect(r.code, r.stderr).toBe(0);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'swe-harness__statskit-1', status: 'passed', resolved: true, engine: URL });
    expect(r.stderr).not.toMatch(/streaming it from the local engine/);
    expectNoBindMounts(seen);
  });

  it('an engine that refuses bind mounts: the engine object itself refuses a host path', async () => {
    const { hostEngine } = await import('../../scripts/lib/engine/docker.js');
    const { DEFAULT_CONFIG } = await import('../../scripts/lib/core/config.js');
    const engine = hostEngine(URL);
    expect(engine.sharesHostFiles).toBe(false);
    await expect(engine.create({ image: 'x', runId: 'refused', limits: DEFAULT_CONFIG.container, network: false, mounts: [{ host: ROOT, container: '/mnt/src' }] })).rejects.toThrow(/cannot bind-mount host paths/);
  });

  it('cleanup --engine lists and removes the leftovers there, and only there', async () => {
    const image = docker2(['images', '--format', '{{.Repository}}:{{.Tag}}', 'swebench-lite']).stdout.split('\n')[0]!;
    const made = docker2(['run', '-d', '--network', 'none', '--label', `${RUN_LABEL}=leftover-remote`, '--label', `${OWNER_LABELS.pid}=999999999`, '--label', `${OWNER_LABELS.host}=${os.hostname()}`,
      '--entrypoint', 'sleep', image, '300']);
    expect(made.status, made.stderr).toBe(0);
    const id = made.stdout.trim().slice(0, 12);
    const dry = await script('cleanup', ['--engine', URL, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^${id}\\w* leftover-remote$`, 'm'));
    expect(dry.stderr).toMatch(/1 container\(s\) would be removed on engine unix:/);
    // The local engine does not hold it.
    const local = await script('cleanup', ['--dry-run']);
    expect(local.stdout).not.toMatch(/leftover-remote/);
    const gone = await script('cleanup', ['--engine', URL]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stderr).toMatch(/removed 1 container\(s\) on engine unix:/);
    expect(docker2(['ps', '-aq', '--filter', `label=${RUN_LABEL}`]).stdout.trim()).toBe('');
  });

  it('Ctrl-C removes the container on the engine that runs it', async () => {
    const dir = runsDir();
    const run = await sleepingRun(dir);
    expect(docker2(['ps', '-q', '--filter', `label=${RUN_LABEL}`]).stdout.trim()).not.toBe('');
    run.child.kill('SIGINT');
    expect(await run.done).toBe(130);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', engine: URL });
    expect(docker2(['ps', '-aq', '--filter', `label=${RUN_LABEL}`]).stdout.trim()).toBe('');
  });

  it('an engine that goes away mid-run is an error naming it, never a verdict', async () => {
    const dir = runsDir();
    const run = await sleepingRun(dir);
    await stopEngine();
    const code = await run.done;
    const [result] = resultsIn(dir);
    expect(result, run.stderr()).toMatchObject({ task_id: 'probe-sleep', status: 'error', exit_code: 3, engine: URL });
    expect(code).toBe(3);
    expect(String(result!.error)).toContain(URL);
  });
});
