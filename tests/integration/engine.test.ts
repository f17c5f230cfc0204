/**
 * The kill guarantees, checked inside a live container: a timed-out command
 * and everything it spawned are gone, not only the host-side docker client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { createContainer, docker, execIn, listHarnessContainers, removeContainer, type Container } from '../../scripts/lib/engine/docker.js';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { resolveImage } from '../../scripts/lib/engine/image.js';
import { clone, runPytest, SOURCE_MOUNT, type StageEnv } from '../../scripts/lib/run/stages.js';

const runId = `test-docker-${process.pid}`;
let c: Container;
let env: StageEnv;
let probesHead: string;

/** Live (non-zombie) processes in the container other than PID 1 and ps itself. */
async function liveProcesses(): Promise<string[]> {
  const r = await docker(['exec', c.id, 'ps', '-eo', 'pid=,stat=,args=']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, stat, cmd]) => pid && pid !== '1' && !stat!.startsWith('Z') && cmd !== 'ps')
    .map((parts) => parts.join(' '));
}

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
    const run = await runPytest(env, 'tests_after', { k: null, tests: ['tests/test_sleep.py'] }, 2);
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
