/**
 * A second Docker engine on this machine for the integration tests: its own
 * dockerd (data root, exec root, pid file, socket) in its own network
 * namespace, reached only through its socket, started by a test's set-up and
 * removed after. Needs root (dockerd, ip netns).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SecondEngine {
  /** Its network namespace's name, also the stem of its paths. */
  name: string;
  /** `unix:///run/<name>.sock`: the engine as DOCKER_HOST or --engine names it. */
  url: string;
  /** The docker client against this engine only. */
  docker(args: string[]): SpawnSyncReturns<string>;
  /** Whether it answers. */
  up(): boolean;
  /** Start it and wait until it answers. */
  start(): Promise<void>;
  /** Kill it (SIGKILL, as a machine that goes away) and wait until it no longer answers; its files stay. */
  stop(): Promise<void>;
  /** Stop it and remove everything it had: the namespace, mounts under its roots, its files and socket. */
  remove(): Promise<void>;
}

export function secondEngine(name: string): SecondEngine {
  const sock = `/run/${name}.sock`;
  const url = `unix://${sock}`;
  const base = path.join(os.tmpdir(), name);
  const pidfile = path.join(base, 'docker.pid');
  let daemon: ChildProcess | null = null;

  const docker = (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: url };
    delete env.DOCKER_CONTEXT;
    return spawnSync('docker', args, { env, encoding: 'utf8', timeout: 60_000 });
  };
  const up = () => docker(['info', '--format', '{{.ServerVersion}}']).status === 0;

  async function start(): Promise<void> {
    fs.mkdirSync(base, { recursive: true });
    if (!fs.existsSync(`/run/netns/${name}`)) spawnSync('ip', ['netns', 'add', name]);
    const log = path.join(base, 'dockerd.log');
    // Only the network namespace: `ip netns exec` remounts /sys and dockerd then finds no devices cgroup.
    daemon = spawn('nsenter', [`--net=/run/netns/${name}`, 'dockerd', '--data-root', path.join(base, 'data'), '--exec-root', path.join(base, 'exec'),
      '--pidfile', pidfile, '-H', url, '--bridge', 'none', '--iptables=false'], { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] });
    for (let i = 0; i < 120; i++) {
      if (up()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`the second engine did not come up: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
  }

  async function stop(): Promise<void> {
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
    } catch {
      pid = daemon?.pid ?? 0;
    }
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
    }
    // containerd-shims of its containers die with the engine's namespace; wait for the socket's owner to go.
    for (let i = 0; i < 50 && up(); i++) await new Promise((r) => setTimeout(r, 100));
  }

  /** Overlay and other mounts the engine left under its roots. */
  function unmountUnder(dir: string): void {
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  }

  async function remove(): Promise<void> {
    await stop();
    spawnSync('ip', ['netns', 'del', name]);
    unmountUnder(base);
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(sock, { force: true });
  }

  return { name, url, docker, up, start, stop, remove };
}
