/**
 * `--engine podman`: the same runs on this machine's podman (as root), its own
 * image store filled from docker once, every container with the same limits,
 * labels and network isolation, and nothing left behind. Rootless podman as a
 * throwaway user: passes where podman can enforce the limits, else is refused
 * with the reason. Skipped when podman is not installed (scripts/setup-engine.sh
 * installs it as root on Debian).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, OWNER_LABELS, ROOT, RUN_LABEL, SNAPSHOT_LABELS } from '../../scripts/lib/core/config.js';
import { resultsIn, runScript } from '../support/scripts.js';

const ROOT_USER = process.getuid?.() === 0;

function podman(args: string[], user?: string) {
  if (!user) return spawnSync('podman', args, { encoding: 'utf8', timeout: 120_000 });
  const cmd = ['podman', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return spawnSync('su', [user, '-c', `cd ~ && ${cmd}`], { encoding: 'utf8', timeout: 300_000 });
}

/** podman answers and can start a container here (its binary, its init, and the runtime's rlimits). */
const PODMAN_OK = ROOT_USER && podman(['info', '--format', '{{.Version.Version}}']).status === 0;

const made: string[] = [];
const runsDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-podman-'));
  made.push(d);
  return d;
};

const harnessContainers = () => podman(['ps', '-aq', '--filter', `label=${RUN_LABEL}`]).stdout.trim();

interface Seen {
  id: string;
  inspect: string;
}

/** Poll podman for harness containers and record how each was made (limits, network, mounts, labels). */
function watch(): { stop: () => Seen[] } {
  const seen = new Map<string, Seen>();
  let on = true;
  const fmt = '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.NetworkMode}} {{.HostConfig.Init}} {{json .HostConfig.Tmpfs}} {{json .Mounts}} {{json .Config.Labels}}';
  const tick = async () => {
    while (on) {
      for (const id of podman(['ps', '-q', '--filter', `label=${RUN_LABEL}`]).stdout.split('\n').filter(Boolean)) {
        if (seen.has(id)) continue;
        const ins = podman(['inspect', '--format', fmt, id]);
        if (ins.status === 0) seen.set(id, { id, inspect: ins.stdout.trim() });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  void tick();
  return {
    stop: () => {
      on = false;
      return [...seen.values()];
    },
  };
}

/** Every container had the harness's limits, no network, no mount, the run label. */
function expectLimited(seen: Seen[]): void {
  expect(seen.length).toBeGreaterThan(0);
  const { container } = DEFAULT_CONFIG;
  for (const c of seen) {
    const [mem, pids, cpus, net, init, tmpfs, mounts, labels] = c.inspect.split(' ');
    expect(Number(mem)).toBe(parseInt(container.memory, 10) * 1024 ** 3);
    expect(Number(pids)).toBe(container.pids);
    expect(Number(cpus)).toBe(container.cpus * 1e9);
    expect(net).toBe('none');
    expect(init).toBe('true');
    expect(Object.keys(JSON.parse(tmpfs!) as object).sort()).toEqual(['/tmp', '/var/tmp']);
    expect(JSON.parse(mounts!)).toEqual([]);
    expect(JSON.parse(labels!)).toHaveProperty([RUN_LABEL]);
  }
}

/** The image a default run picks: this machine's docker engine decides, as for any other engine. */
let image = '';
const harnessImage = () => image;

describe.skipIf(!PODMAN_OK)('--engine podman (as root)', () => {
  beforeAll(async () => {
    const { resolveImage } = await import('../../scripts/lib/engine/images.js');
    image = (await resolveImage(null)).name;
    // Start from a podman store without the harness image: the first run must load it from docker.
    podman(['rmi', '-f', image]);
  });

  afterAll(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('runs the demo task with its patch: passed, the image loaded from docker once, limits and labels as on docker', async () => {
    const dir = runsDir();
    const w = watch();
    // Snapshots on (the suite turns them off): podman keeps none, and says so.
    const r = await runScript('run-one', ['--task-id', 'demo-statskit', '--task-patch', '--engine', 'podman', '--runs-dir', dir, '--json'], { env: { SWE_HARNESS_SNAPSHOTS: 'on' } });
    const seen = w.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ task_id: 'demo-statskit', status: 'passed', engine: 'podman' });
    expect(r.stderr.match(/streaming it from the local engine \(docker save \| podman load/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/\[image\] .* → podman: streamed \d+ MiB in [\d.]+ s/);
    expect(r.stderr).toMatch(/snapshot: not used \(engine podman keeps no snapshots\)/);
    expectLimited(seen);
    expect(harnessContainers()).toBe('');
    expect(podman(['images', '-q', '--filter', `label=${SNAPSHOT_LABELS.key}`]).stdout.trim()).toBe('');
  });

  it('a hanging test: timeout, killed inside the container, no container left', async () => {
    const dir = runsDir();
    const r = await runScript('run-one', ['--task-id', 'probe-sleep', '--test-timeout', '3', '--engine', 'podman', '--runs-dir', dir, '--json']);
    const result = JSON.parse(r.stdout) as { status: string; timeout_stage: string; duration_s: number; stages: Array<{ name: string; status: string; duration_s: number }> };
    expect(result, r.stderr).toMatchObject({ status: 'timeout', timeout_stage: 'tests_after', engine: 'podman' });
    expect(result.stages.find((s) => s.name === 'tests_after')!.duration_s).toBeLessThan(8);
    expect(r.stderr).not.toMatch(/streaming it/); // loaded once, found since
    expect(harnessContainers()).toBe('');
  });

  it('runs a shipped instance with run-many --gold: resolved', async () => {
    const dir = runsDir();
    const r = await runScript('run-many', ['--instances', 'tasks/instances.jsonl', '--filter', '^swe-harness__statskit-1$', '--gold', '--engine', 'podman', '--runs-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(resultsIn(dir)[0]).toMatchObject({ task_id: 'swe-harness__statskit-1', status: 'passed', resolved: true, engine: 'podman' });
    expect(harnessContainers()).toBe('');
  });

  it('the network: a container started on it is taken off it for good', async () => {
    const { podmanEngine } = await import('../../scripts/lib/engine/docker.js');
    const engine = podmanEngine();
    const c = await engine.create({ image: harnessImage(), runId: `podman-net-${process.pid}`, limits: DEFAULT_CONFIG.container, network: true });
    try {
      const ifaces = async () => {
        const r = await engine.exec(c, ['sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"], { timeoutS: 10, backstopS: 5, logs: DEFAULT_CONFIG.logs, logFile: null });
        return r.output.trim().split('\n').sort();
      };
      expect(await ifaces()).toContain('eth0');
      await engine.disconnectNetwork(c);
      expect(await ifaces()).toEqual(['lo']);
    } finally {
      await engine.remove(c.id);
    }
    expect(harnessContainers()).toBe('');
  });

  it('Ctrl-C: interrupted, the container removed', async () => {
    const dir = runsDir();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', '--task-id', 'probe-sleep', '--runs-dir', dir, '--test-timeout', '120', '--engine', 'podman'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`install never finished: ${stderr}`));
      }, 120_000);
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/\[install\] ok/.test(stderr)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(harnessContainers()).not.toBe('');
    child.kill('SIGINT');
    expect(await done).toBe(130);
    expect(resultsIn(dir)[0]).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', engine: 'podman' });
    expect(harnessContainers()).toBe('');
  }, 200_000);

  it('cleanup --engine podman lists and removes the leftovers there, and only there', async () => {
    const made = podman(['run', '-d', '--network', 'none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--label', `${RUN_LABEL}=leftover-podman`,
      '--label', `${OWNER_LABELS.pid}=999999999`, '--label', `${OWNER_LABELS.host}=${os.hostname()}`, '--entrypoint', 'sleep', harnessImage(), '300']);
    expect(made.status, made.stderr).toBe(0);
    const id = made.stdout.trim().slice(0, 12);
    const dry = await runScript('cleanup', ['--engine', 'podman', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^${id}\\w* leftover-podman$`, 'm'));
    expect(dry.stderr).toMatch(/1 container\(s\) would be removed on engine podman/);
    expect((await runScript('cleanup', ['--dry-run'])).stdout).not.toMatch(/leftover-podman/);
    const gone = await runScript('cleanup', ['--engine', 'podman']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stderr).toMatch(/removed 1 container\(s\) on engine podman/);
    expect(harnessContainers()).toBe('');
  });
});

const USER = `swhpod${process.pid % 100000}`;

describe.skipIf(!PODMAN_OK)('--engine podman, rootless (a throwaway user)', () => {
  let home = '';
  beforeAll(async () => {
    if (!image) {
      const { resolveImage } = await import('../../scripts/lib/engine/images.js');
      image = (await resolveImage(null)).name;
    }
    const add = spawnSync('useradd', ['-m', '-s', '/bin/bash', USER], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`useradd failed: ${add.stderr}`);
    home = `/home/${USER}`;
    // The user's own store gets the image (docker is not theirs to reach), and a repository of their own.
    const load = spawnSync('sh', ['-c', `docker save ${image} | su ${USER} -c 'cd ~ && podman load --quiet'`], { encoding: 'utf8', timeout: 300_000 });
    if (load.status !== 0) throw new Error(`podman load as ${USER} failed: ${load.stderr}`);
    fs.cpSync(path.join(DEFAULT_CONFIG.reposDir, 'statskit'), path.join(home, 'statskit'), { recursive: true });
    fs.mkdirSync(path.join(home, 'runs'));
    spawnSync('chown', ['-R', `${USER}:`, home]);
  });

  afterAll(() => {
    podman(['rm', '-af'], USER);
    podman(['system', 'reset', '-f'], USER);
    // The user's own processes only (podman's rootless pause process), each by its id.
    for (const pid of spawnSync('ps', ['-u', USER, '-o', 'pid='], { encoding: 'utf8' }).stdout.split('\n').map(Number).filter(Boolean)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('userdel', ['-r', '-f', USER]);
  });

  it('runs a local repository there when podman enforces the limits, else refuses with the reason', async () => {
    const cgroups = podman(['info', '--format', '{{.Host.CgroupsVersion}}'], USER).stdout.trim();
    const r = await runScript('run-one', ['--repo', path.join(home, 'statskit'), '--ref', 'HEAD', '--tests', 'tests/test_stats.py', '--engine', 'podman', '--runs-dir', path.join(home, 'runs'), '--json'], { user: USER });
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    if (cgroups === 'v1') {
      // Checked here: on cgroups v1 rootless podman starts containers without --memory/--pids-limit/--cpus.
      expect(result, r.stderr).toMatchObject({ status: 'error', exit_code: 3, engine: 'podman' });
      expect(String(result.error)).toMatch(/cannot enforce the container's limits .*cgroups V1 rootless/);
    } else {
      expect(result, r.stderr).toMatchObject({ status: 'passed', engine: 'podman' });
    }
    expect(podman(['ps', '-aq'], USER).stdout.trim()).toBe('');
  });
});
