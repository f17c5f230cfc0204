/**
 * A second Docker engine on this machine for the integration tests: its own
 * dockerd (data root, exec root, pid file, socket) in its own network
 * namespace, reached only through its socket, started by a test's set-up and
 * removed after. Needs root (dockerd, ip netns).
 *
 * Optionally it is also reached the ways a remote engine is: over TCP with TLS
 * (its own CA, server and client certificates; a veth pair into its namespace)
 * and over ssh (an sshd in its namespace whose sessions get DOCKER_HOST set to
 * the engine's socket, as `docker system dial-stdio` on a remote host would
 * find its engine); and its containers can be confined to some CPUs (a cpuset
 * cgroup as their parent), standing in for a machine of its own.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
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
  /** With `tls`: `tcp://ADDR:2376`, and the client environment that reaches it (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). */
  tcp?: { url: string; env: Record<string, string> };
  /** With `ssh`: `ssh://root@ADDR`, and PATH with an `ssh` that knows the key (the docker client runs `ssh`). */
  ssh?: { url: string; env: Record<string, string> };
}

export interface SecondEngineOptions {
  /** Also listen on TCP with TLS (client certificates required). */
  tls?: boolean;
  /** Also reachable over ssh (needs /usr/sbin/sshd). */
  ssh?: boolean;
  /** Confine its containers to these CPUs (cpuset syntax, e.g. "0"); cgroups v1 cpuset only. */
  cpus?: string;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
}

/** The `<name>` cgroup the engine's containers went under, in every hierarchy (docker makes it in each); empty once they are gone. */
async function removeCgroups(name: string): Promise<void> {
  const dirs = fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h, name)).filter((d) => fs.existsSync(d));
  for (const dir of dirs) {
    for (let i = 0; i < 20 && fs.existsSync(dir); i++) {
      try {
        fs.rmdirSync(dir);
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

/** A CA, a server certificate for `ip`, and a client certificate, as `docker` and `dockerd` read them. */
function makeCerts(dir: string, ip: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const o = (...args: string[]) => run('openssl', args);
  const f = (n: string) => path.join(dir, n);
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=swe-harness test CA', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'));
  fs.writeFileSync(f('server.ext'), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  fs.writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    o('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', f(`${who}-key.pem`), '-out', f(`${who}.csr`));
    o('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '2', '-extfile', f(ext), '-out', f(`${who}-cert.pem`));
  }
  // The client reads DOCKER_CERT_PATH/{ca,cert,key}.pem.
  fs.mkdirSync(f('client'), { recursive: true });
  fs.copyFileSync(f('ca.pem'), path.join(dir, 'client', 'ca.pem'));
  fs.copyFileSync(f('client-cert.pem'), path.join(dir, 'client', 'cert.pem'));
  fs.copyFileSync(f('client-key.pem'), path.join(dir, 'client', 'key.pem'));
}

export function secondEngine(name: string, opts: SecondEngineOptions = {}): SecondEngine {
  const sock = `/run/${name}.sock`;
  const url = `unix://${sock}`;
  const base = path.join(os.tmpdir(), name);
  const pidfile = path.join(base, 'docker.pid');
  let daemon: ChildProcess | null = null;
  let sshd: ChildProcess | null = null;
  // A /30 of its own on a veth pair: host side .1, the engine's namespace .2 (names within IFNAMSIZ).
  const net = 1 + (Number.parseInt(createHash('sha256').update(name).digest('hex').slice(0, 6), 16) % 250);
  const [hostIp, engineIp] = [`10.252.${net}.1`, `10.252.${net}.2`];
  const vethHost = `swh${net}h`;
  const certs = path.join(base, 'certs');
  const sshDir = path.join(base, 'ssh');
  const cgroup = opts.cpus !== undefined ? `/sys/fs/cgroup/cpuset/${name}` : null;
  const remote = opts.tls || opts.ssh;

  const docker = (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: url };
    delete env.DOCKER_CONTEXT;
    return spawnSync('docker', args, { env, encoding: 'utf8', timeout: 60_000 });
  };
  const up = () => docker(['info', '--format', '{{.ServerVersion}}']).status === 0;

  /** The veth pair into the namespace, once. */
  function link(): void {
    if (spawnSync('ip', ['link', 'show', vethHost]).status === 0) return;
    run('ip', ['link', 'add', vethHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', vethHost]);
    run('ip', ['link', 'set', vethHost, 'up']);
    run('ip', ['-n', name, 'addr', 'add', `${engineIp}/30`, 'dev', 'eth0']);
    run('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  /** A cpuset cgroup holding only `opts.cpus`: the engine's containers go under it. */
  function pin(): string[] {
    if (!cgroup) return [];
    fs.mkdirSync(cgroup, { recursive: true });
    fs.writeFileSync(path.join(cgroup, 'cpuset.mems'), fs.readFileSync('/sys/fs/cgroup/cpuset/cpuset.mems', 'utf8').trim());
    fs.writeFileSync(path.join(cgroup, 'cpuset.cpus'), opts.cpus!);
    return ['--cgroup-parent', `/${name}`];
  }

  function startSshd(): void {
    fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const f = (n: string) => path.join(sshDir, n);
    if (!fs.existsSync(f('host_key'))) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f('host_key')]);
    if (!fs.existsSync(f('id'))) run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f('id')]);
    fs.copyFileSync(f('id.pub'), f('authorized_keys'));
    fs.writeFileSync(f('sshd_config'), [
      `ListenAddress ${engineIp}:22`, `HostKey ${f('host_key')}`, `AuthorizedKeysFile ${f('authorized_keys')}`, `PidFile ${f('sshd.pid')}`,
      'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
      // What a remote host's login would find: its own engine.
      `SetEnv DOCKER_HOST=${url}`, '',
    ].join('\n'));
    fs.writeFileSync(f('ssh_config'), [
      'Host *', `  IdentityFile ${f('id')}`, '  IdentitiesOnly yes', '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null', '  LogLevel ERROR',
      // One connection for every client call, as the README advises for ssh:// engines (each call opens one otherwise).
      '  ControlMaster auto', `  ControlPath ${f('cm-%C')}`, '  ControlPersist 60', '',
    ].join('\n'));
    // The docker client runs `ssh` from PATH: this one reads the config above.
    fs.mkdirSync(f('bin'), { recursive: true });
    fs.writeFileSync(f('bin/ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${f('ssh_config')} "$@"\n`, { mode: 0o755 });
    fs.mkdirSync('/run/sshd', { recursive: true });
    sshd = spawn('nsenter', [`--net=/run/netns/${name}`, '/usr/sbin/sshd', '-D', '-e', '-f', f('sshd_config')], { stdio: ['ignore', fs.openSync(f('sshd.log'), 'a'), fs.openSync(f('sshd.log'), 'a')] });
  }

  async function start(): Promise<void> {
    fs.mkdirSync(base, { recursive: true });
    if (!fs.existsSync(`/run/netns/${name}`)) spawnSync('ip', ['netns', 'add', name]);
    const extra: string[] = [...pin()];
    if (remote) link();
    if (opts.tls) {
      if (!fs.existsSync(path.join(certs, 'client', 'key.pem'))) makeCerts(certs, engineIp);
      const c = (n: string) => path.join(certs, n);
      extra.push('-H', `tcp://${engineIp}:2376`, '--tlsverify', '--tlscacert', c('ca.pem'), '--tlscert', c('server-cert.pem'), '--tlskey', c('server-key.pem'));
    }
    const log = path.join(base, 'dockerd.log');
    // Only the network namespace: `ip netns exec` remounts /sys and dockerd then finds no devices cgroup.
    daemon = spawn('nsenter', [`--net=/run/netns/${name}`, 'dockerd', '--data-root', path.join(base, 'data'), '--exec-root', path.join(base, 'exec'),
      '--pidfile', pidfile, '-H', url, '--bridge', 'none', '--iptables=false', ...extra], { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] });
    if (opts.ssh && !sshd) startSshd();
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
    if (opts.ssh) spawnSync('/usr/bin/ssh', ['-F', path.join(sshDir, 'ssh_config'), '-O', 'exit', `root@${engineIp}`], { timeout: 5_000 });
    sshd?.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', vethHost]);
    spawnSync('ip', ['netns', 'del', name]);
    if (cgroup) await removeCgroups(name);
    unmountUnder(base);
    fs.rmSync(base, { recursive: true, force: true });
    fs.rmSync(sock, { force: true });
  }

  const tcp = opts.tls ? { url: `tcp://${engineIp}:2376`, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: path.join(certs, 'client') } } : undefined;
  const ssh = opts.ssh ? { url: `ssh://root@${engineIp}`, env: { PATH: `${path.join(sshDir, 'bin')}:${process.env.PATH}` } } : undefined;
  return { name, url, docker, up, start, stop, remove, ...(tcp ? { tcp } : {}), ...(ssh ? { ssh } : {}) };
}
