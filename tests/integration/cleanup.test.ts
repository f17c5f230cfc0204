/** cleanup removes what a dead harness left and spares the containers of live runs. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { OWNER_LABELS, ROOT, RUN_LABEL } from '../../scripts/lib/core/config.js';
import { docker, listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { resolveImage } from '../../scripts/lib/engine/images.js';

const tag = `cleanup-test-${process.pid}`;

async function start(runId: string, pid: number): Promise<void> {
  const image = await resolveImage(null);
  const r = await docker([
    'run', '-d', '--rm', '--network', 'none',
    '--label', `${RUN_LABEL}=${runId}`, '--label', `${OWNER_LABELS.pid}=${pid}`, '--label', `${OWNER_LABELS.host}=${os.hostname()}`,
    '--entrypoint', 'sleep', image.name, '300',
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
}

function cleanup(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cleanup.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

afterAll(async () => {
  for (const id of [`${tag}-dead`, `${tag}-live`]) for (const c of await listHarnessContainers(id)) await docker(['rm', '-f', c]);
});

describe('cleanup', () => {
  it('removes containers of dead harness processes, spares live ones unless named with --run', async () => {
    // A pid far above pid_max's default cannot be alive.
    await start(`${tag}-dead`, 4_000_000);
    await start(`${tag}-live`, process.pid);
    const r = cleanup();
    expect(r.status, r.stderr).toBe(0);
    expect(await listHarnessContainers(`${tag}-dead`)).toEqual([]);
    expect(await listHarnessContainers(`${tag}-live`)).toHaveLength(1);
    expect(r.stderr).toMatch(/spared \d+ of live runs/);

    // (--all would do the same for every live run; it is not used here, so that
    // this test can never remove the containers of runs going on beside it.)
    const named = cleanup('--run', `${tag}-live`);
    expect(named.status, named.stderr).toBe(0);
    expect(await listHarnessContainers(`${tag}-live`)).toEqual([]);
  });
});
