/**
 * The engine's guarantees, checked inside live containers: a timed-out command
 * and everything it spawned are gone (also after a fork bomb), scratch space is
 * size-capped, and files copy in and out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { createContainer, docker, execIn, killAllProcesses, listHarnessContainers, removeContainer, type Container } from '../../scripts/lib/engine/docker.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { resolveImage } from '../../scripts/lib/engine/images.js';
import { clone, runTests, type StageEnv } from '../../scripts/lib/run/stages.js';
import { SOURCE_MOUNT } from '../../scripts/lib/source/clone.js';

const runId = `test-docker-${process.pid}`;
let c: Container;
let env: StageEnv;
let probesHead: string;

/** Live (non-zombie) processes in the container other than its init, main script and ps itself. */
async function liveProcesses(): Promise<string[]> {
  const r = await docker(['exec', c.id, 'ps', '-eo', 'pid=,stat=,args=']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => !l.includes('swe-harness-main'))
    .map((l) => l.split(/\s+/))
    .filter(([pid, stat, cmd]) => pid && pid !== '1' && !stat!.startsWith('Z') && cmd !== 'ps')
    .map((parts) => parts.join(' '));
}

const quick = { backstopS: 5, logs: DEFAULT_CONFIG.logs, logFile: null };

beforeAll(async () => {
  const image = await resolveImage(null);
  const probes = await ensureFixture('probes');
  c = await createContainer({
    image: image.name,
    runId,
    limits: DEFAULT_CONFIG.container,
    network: false,
    mounts: [{ host: probes.path, container: SOURCE_MOUNT }],
  });
  env = { container: c, cfg: DEFAULT_CONFIG, logDir: null };
  probesHead = probes.head;
  const cloned = await clone(env, SOURCE_MOUNT, probes.head, 30);
  expect(cloned.record.status).toBe('ok');
});

afterAll(async () => {
  await removeContainer(c.id);
  expect(await listHarnessContainers(runId)).toEqual([]);
});

describe('timeouts kill inside the container', () => {
  it('kills a hanging pytest run and the child process it spawned', async () => {
    const run = await runTests(env, 'tests_after', { k: null, tests: ['tests/test_sleep.py'] }, 2);
    expect(run.record.status).toBe('timeout');
    expect(run.summary.status).toBe('timeout');
    expect(await liveProcesses()).toEqual([]);
  });

  it('kills processes that left the process group (setsid) too', async () => {
    const r = await execIn(c, ['bash', '-c', 'setsid sleep 300 & sleep 300'], {
      timeoutS: 1,
      backstopS: 5,
      logs: DEFAULT_CONFIG.logs,
      logFile: null,
    });
    expect(r.timedOut).toBe(true);
    expect(await liveProcesses()).toEqual([]);
  });

  it('does not count a command that finishes in time as a timeout', async () => {
    const r = await execIn(c, ['bash', '-c', 'echo out; echo err >&2; exit 7'], { timeoutS: 5, backstopS: 5, logs: DEFAULT_CONFIG.logs, logFile: null });
    expect(r).toMatchObject({ exitCode: 7, timedOut: false, output: 'out\nerr\n' });
  });
});

describe('clone through the remote path (a file:// URL stands in for the network)', () => {
  it.each([
    ['a commit id', () => probesHead],
    ['the default branch', () => 'main'],
  ])('checks out %s', async (_what, ref) => {
    const cloned = await clone(env, `file://${SOURCE_MOUNT}`, ref(), 30);
    expect(cloned.record.status).toBe('ok');
    expect(cloned.head).toBe(probesHead);
  });

  it.each(['no-such-branch', '0123456789abcdef0123456789abcdef01234567'])('refuses the missing ref %s instead of checking out another commit', async (ref) => {
    const cloned = await clone(env, `file://${SOURCE_MOUNT}`, ref, 30);
    expect(cloned.record.status).toBe('failed');
    expect(cloned.head).toBeNull();
    expect(cloned.message).toContain(ref);
  });
});

describe('a container with small limits', () => {
  const smallRun = `${runId}-small`;
  let small: Container;

  beforeAll(async () => {
    const image = await resolveImage(null);
    small = await createContainer({
      image: image.name,
      runId: smallRun,
      limits: { ...DEFAULT_CONFIG.container, pids: 64, tmpfsSize: '64m' },
      network: false,
    });
  });

  afterAll(async () => {
    await removeContainer(small.id);
    expect(await listHarnessContainers(smallRun)).toEqual([]);
  });

  it('caps what a test can write to /tmp and /var/tmp', async () => {
    for (const dir of ['/tmp', '/var/tmp']) {
      const r = await execIn(small, ['sh', '-c', `dd if=/dev/zero of=${dir}/big bs=1M count=200; s=$?; rm -f ${dir}/big; exit $s`], { ...quick, timeoutS: 60 });
      expect(r.exitCode, r.output).not.toBe(0);
      expect(r.output).toMatch(/No space left on device/);
    }
  });

  it('frees a pids limit filled by a fork bomb once the command times out', async () => {
    // setsid: the bomb leaves timeout's process group, so only killAll can end it.
    const bomb = await execIn(small, ['bash', '-c', 'setsid bash -c "f(){ f|f& }; f" 2>/dev/null; sleep 300'], { ...quick, timeoutS: 3 });
    expect(bomb.timedOut).toBe(true);
    const after = await execIn(small, ['sh', '-c', 'sh -c "echo child" & wait'], { ...quick, timeoutS: 10 });
    expect(after, after.output).toMatchObject({ exitCode: 0, output: 'child\n' });
  });

  it('kills leftovers on request and keeps the container alive', async () => {
    await execIn(small, ['sh', '-c', 'setsid sleep 300 >/dev/null 2>&1 &'], { ...quick, timeoutS: 10 });
    await killAllProcesses(small);
    const ps = await execIn(small, ['sh', '-c', 'ps -eo args= | grep -c "^sleep 300$"; exit 0'], { ...quick, timeoutS: 10 });
    expect(ps).toMatchObject({ exitCode: 0, output: '0\n' });
  });

  it('copies a file in and out through the engine', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-cp-'));
    try {
      fs.writeFileSync(path.join(dir, 'in.txt'), 'caf\xe9 bytes\n', 'latin1');
      await small.engine.copyIn(small, path.join(dir, 'in.txt'), '/run/copied.txt');
      const r = await execIn(small, ['sh', '-c', 'echo more >> /run/copied.txt && wc -c < /run/copied.txt'], { ...quick, timeoutS: 10 });
      expect(r.output.trim()).toBe('16');
      await small.engine.copyOut(small, '/run/copied.txt', path.join(dir, 'out.txt'));
      expect(fs.readFileSync(path.join(dir, 'out.txt'))).toEqual(Buffer.from('caf\xe9 bytes\nmore\n', 'latin1'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
