/**
 * The Docker CLI as an Engine: every call is one `docker` client subprocess,
 * so DOCKER_HOST and contexts work as they do for the user's own client.
 * The same class drives podman (`binary: 'podman'`), whose CLI speaks Docker's;
 * where the two differ (formats, ulimits, network name) it says so inline.
 */
import fs from 'node:fs';
import os from 'node:os';
import { OWNER_LABELS, RUN_LABEL } from '../core/config.js';
import { HarnessError, errorMessage, firstLine } from '../core/errors.js';
import { failureLine, runLogged } from '../core/process.js';
import { ENGINE_DOWN, clientArgv, clientBinary, clientEnv, docker, engineError, quickDocker, QUICK_TIMEOUT_S, type DockerResult, type DockerTarget } from './docker-client.js';
import { dockerExec } from './docker-exec.js';
import {
  containerName,
  inRepo,
  type BuildSpec,
  type CommitSpec,
  type Container,
  type CreateOptions,
  type Engine,
  type ExecOptions,
  type ExecResult,
  type ImageRecord,
  type ImportSpec,
  type LabelledContainer,
  type PullResult,
} from './engine.js';

/**
 * The container's main process, under `--init` (which reaps every zombie):
 * bash waits out the TTL without a child of its own, and on KILL_ALL_SIGNAL
 * kills everything else. So killAll needs no new process in the container,
 * and works when a fork bomb has filled its pids limit.
 */
export const MAIN_SCRIPT =
  'trap "kill -9 -1; kill -9 -1" USR1; exec 3<> <(:); end=$((SECONDS + $1)); ' +
  'while [ "$SECONDS" -lt "$end" ]; do read -r -t "$((end - SECONDS))" -u 3; done';
export const KILL_ALL_SIGNAL = 'USR1';
/** The init and the main script: what is left once killAll is done. */
const MAIN_PROCESSES = 2;
/** Scratch directories mounted as size-capped tmpfs (overlay2 on extfs cannot cap the writable layer). */
export const SCRATCH_DIRS = ['/tmp', '/var/tmp'];

/** podman's warning when it cannot apply resource limits (rootless on cgroups v1). */
const LIMITS_IGNORED = /Resource limits are not supported and ignored[^\n]*/;

const INSPECT_FORMAT = '{{.Id}}\t{{.Created}}\t{{.Size}}\t{{json .Config.Labels}}';

/**
 * podman sets its own default rlimits (nofile, nproc) far above what a machine may
 * allow (runc then fails: "error setting rlimit type 7"); docker's containers
 * inherit dockerd's. So podman's containers get this process's hard limits,
 * nproc capped at pid_max (above it runc is refused here too).
 */
export function podmanUlimits(limitsText?: string, pidMax?: string): string[] {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const text = limitsText ?? read('/proc/self/limits');
  const hard = (label: string, fallback: number) => {
    const m = new RegExp(`^${label}\\s+\\S+\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : fallback;
  };
  const nofile = hard('Max open files', 1024);
  const maxPid = Number((pidMax ?? read('/proc/sys/kernel/pid_max')).trim()) || 4096;
  const nproc = Math.min(hard('Max processes', 4096), maxPid);
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

/** `docker run` argv for a labelled, limited container with the dead-man's switch as its main process. */
export function runArgs(opts: CreateOptions, binary: 'docker' | 'podman' = 'docker'): string[] {
  const { limits } = opts;
  const args = [
    'run', '-d', '--rm', '--init',
    '--name', containerName(opts.runId),
    '--label', `${RUN_LABEL}=${opts.runId}`,
    // Who owns it: cleanup leaves the containers of a harness process that is still alive.
    '--label', `${OWNER_LABELS.pid}=${process.pid}`,
    '--label', `${OWNER_LABELS.host}=${os.hostname()}`,
    '--memory', limits.memory,
    '--memory-swap', limits.memory,
    '--pids-limit', String(limits.pids),
    '--cpus', String(limits.cpus),
    '--network', opts.network ? 'bridge' : 'none',
  ];
  if (binary === 'podman') args.push(...podmanUlimits());
  for (const dir of SCRATCH_DIRS) args.push('--tmpfs', `${dir}:rw,exec,nosuid,nodev,mode=1777,size=${limits.tmpfsSize}`);
  for (const m of opts.mounts ?? []) args.push('-v', `${m.host}:${m.container}:ro`);
  if (opts.workdir) args.push('-w', opts.workdir);
  args.push('--entrypoint', 'bash', opts.image, '-c', MAIN_SCRIPT, 'swe-harness-main', String(limits.ttlSeconds));
  return args;
}

function parseInspectLine(name: string, line: string): ImageRecord | null {
  const [rawId, created, size, json] = line.split('\t');
  if (!rawId || json === undefined) return null;
  // podman gives the bare digest: the same image must have the same id on either engine.
  const id = /^[0-9a-f]{64}$/.test(rawId) ? `sha256:${rawId}` : rawId;
  let labels: Record<string, string> = {};
  try {
    labels = (JSON.parse(json) as Record<string, string> | null) ?? {};
  } catch {
    /* no labels */
  }
  return { name, id, created: created ?? '', labels, size: Number(size) || 0 };
}

function failed(what: string, r: { exitCode: number | null; stderr: string }): HarnessError {
  return new HarnessError('internal', `${what} failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
}

export interface DockerCliOptions {
  /** Where its client calls go; none: the docker client's own default. */
  target?: DockerTarget;
  /** How results and messages name it (default "local"). */
  label?: string;
  /** Whether the engine sees this machine's files (bind mounts work); default true. */
  sharesHostFiles?: boolean;
}

/** Per-client spellings of the same request. */
const DIALECT = {
  docker: {
    info: '{{.ServerVersion}}',
    label: (k: string) => `{{.Label "${k}"}}`,
    top: ['-o', 'pid'],
    network: 'bridge',
  },
  podman: {
    info: '{{.Version.Version}}',
    label: (k: string) => `{{index .Labels "${k}"}}`,
    top: ['pid', 'state'],
    // podman's default network is called "podman" (`--network bridge` joins it).
    network: 'podman',
  },
} as const;

export class DockerCli implements Engine {
  readonly name: 'docker' | 'podman';
  readonly label: string;
  readonly sharesHostFiles: boolean;
  /** Not on podman: its commit is untested here, so runs there clone and install every time. */
  readonly snapshots: boolean;
  readonly target: DockerTarget | undefined;
  /** The name messages use: undefined for the local engine (its messages stay as they were). */
  private readonly engineName: string | undefined;

  constructor(opts: DockerCliOptions = {}) {
    this.target = opts.target;
    this.name = opts.target?.binary ?? 'docker';
    this.snapshots = this.name === 'docker';
    this.label = opts.label ?? 'local';
    this.sharesHostFiles = opts.sharesHostFiles ?? true;
    this.engineName = this.sharesHostFiles && this.label === 'local' ? undefined : this.label;
  }

  /** One client call to this engine. */
  private docker(args: string[], opts: { input?: string | Uint8Array; timeoutMs?: number } = {}): Promise<DockerResult> {
    return docker(args, { ...opts, target: this.target, engineName: this.engineName });
  }

  private quick(args: string[]): Promise<DockerResult> {
    return quickDocker(args, QUICK_TIMEOUT_S, this.target, this.engineName);
  }

  /** Program, argv and environment of a client process talking to this engine (for pipes between engines). */
  client(args: string[]): { bin: string; argv: string[]; env: NodeJS.ProcessEnv | undefined } {
    return { bin: clientBinary(this.target), argv: clientArgv(args, this.target), env: clientEnv(this.target) };
  }

  protected down(detail: string): HarnessError {
    return engineError(detail, this.engineName);
  }

  async check(): Promise<void> {
    const r = await this.docker(['info', '--format', DIALECT[this.name].info], { timeoutMs: 15_000 });
    if (r.exitCode !== 0) throw this.down(r.stderr || `${this.name} info failed`);
    if (r.exitCode === null) throw this.down(`${this.name} info did not answer within 15 s`);
  }

  /** Null when the engine answers, else why not (naming it). */
  private async probe(): Promise<string | null> {
    try {
      await this.check();
      return null;
    } catch (err) {
      return errorMessage(err);
    }
  }

  async create(opts: CreateOptions): Promise<Container> {
    // An engine elsewhere cannot see this machine's paths: what a run needs goes in over the API (copyIn).
    if (!this.sharesHostFiles && opts.mounts?.length) {
      throw new HarnessError('internal', `engine ${this.label} cannot bind-mount host paths (${opts.mounts.map((m) => m.host).join(', ')}); send them with copyIn`);
    }
    const r = await this.docker(runArgs(opts, this.name), { timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const msg = r.stderr.trim().split('\n').pop() ?? '';
      if (/No such image|Unable to find image|pull access denied|not found|image not known|did not resolve to an alias/i.test(msg)) {
        throw new HarnessError('image', `image "${opts.image}" not available (${msg}); build it with: npm run build-image`);
      }
      throw new HarnessError('internal', `${this.name} run failed: ${msg}`);
    }
    const id = r.stdout.trim();
    // Rootless podman on cgroups v1 starts the container without any of its limits: refuse it.
    if (this.name === 'podman' && LIMITS_IGNORED.test(r.stderr)) {
      await this.remove(id || containerName(opts.runId));
      throw new HarnessError('engine', `engine ${this.label} cannot enforce the container's limits (podman: "${r.stderr.match(LIMITS_IGNORED)![0]}"); rootless podman needs cgroups v2 with delegation, or run podman as root`);
    }
    return { id, name: containerName(opts.runId), runId: opts.runId, networked: opts.network, engine: this };
  }

  async exec(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    // A remote engine can go away on its own: a failed client call asks whether it still answers.
    const remote = this.engineName !== undefined;
    const r = await dockerExec(c, argv, opts, (x) => this.killAll(x), {
      target: this.target,
      engineName: this.engineName,
      ...(remote ? { probe: () => this.probe() } : {}),
    });
    // podman exits 125 with "Error: ..." for its own failures: never the command's verdict.
    if (this.name === 'podman' && !r.lost && r.exitCode === 125 && r.clientError?.startsWith('Error:')) {
      return { ...r, lost: `engine ${this.label}: ${r.clientError}` };
    }
    return r;
  }

  async copyIn(c: Container, hostPath: string, containerPath: string): Promise<void> {
    const r = await this.docker(['cp', hostPath, `${c.id}:${containerPath}`], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw failed(`docker cp into ${containerPath}`, r);
  }

  async copyOut(c: Container, containerPath: string, hostPath: string): Promise<void> {
    const r = await this.docker(['cp', `${c.id}:${containerPath}`, hostPath], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw failed(`docker cp of ${containerPath}`, r);
  }

  async disconnectNetwork(c: Container): Promise<void> {
    if (!c.networked) return;
    const r = await this.docker(['network', 'disconnect', '--force', DIALECT[this.name].network, c.id], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new HarnessError('internal', `could not take container off the network: ${r.stderr.trim()}`);
    c.networked = false;
  }

  async killAll(c: Container): Promise<void> {
    if (await this.signalAll(c)) await this.waitForMainOnly(c);
  }

  /** Send the main process KILL_ALL_SIGNAL; false when the engine refused (the container is gone). */
  protected async signalAll(c: Container): Promise<boolean> {
    const r = await this.docker(['kill', '--signal', KILL_ALL_SIGNAL, c.id], { timeoutMs: 30_000 }).catch(() => null);
    return r?.exitCode === 0;
  }

  /** How many processes in the container are alive (zombies do not count), or null when it is gone. */
  protected async liveProcesses(c: Container): Promise<number | null> {
    const r = await this.docker(['top', c.id, ...DIALECT[this.name].top], { timeoutMs: 10_000 }).catch(() => null);
    if (!r || r.exitCode !== 0) return null;
    // Under podman's init the main script's finished `<(:)` stays a zombie.
    return r.stdout.trim().split('\n').slice(1).filter((l) => !/\sZ\S*\s*$/.test(l)).length;
  }

  /** The kill is asynchronous (a trap in the main process): wait until only the main processes are left. */
  private async waitForMainOnly(c: Container, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = await this.liveProcesses(c);
      if (live === null || live <= MAIN_PROCESSES) return; // gone, or only the main processes left
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async remove(idOrName: string): Promise<void> {
    try {
      await this.docker(['rm', '-f', idOrName], { timeoutMs: 60_000 });
    } catch {
      // The engine being gone means there is nothing we can remove; the TTL ends it.
    }
  }

  async listContainers(runId?: string): Promise<string[]> {
    const filter = runId ? `label=${RUN_LABEL}=${runId}` : `label=${RUN_LABEL}`;
    const r = await this.docker(['ps', '-aq', '--filter', filter], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new HarnessError('internal', `docker ps failed: ${firstLine(r.stderr)}`);
    return r.stdout.split('\n').filter(Boolean);
  }

  async describeContainers(): Promise<LabelledContainer[]> {
    const label = DIALECT[this.name].label;
    const fmt = `{{.ID}}\t${label(RUN_LABEL)}\t${label(OWNER_LABELS.pid)}\t${label(OWNER_LABELS.host)}`;
    const r = await this.docker(['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', fmt], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new HarnessError('internal', `docker ps failed: ${firstLine(r.stderr)}`);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, runId, pid, host] = line.split('\t');
        return { id: id!, runId: runId ?? '', ownerPid: pid ?? '', ownerHost: host ?? '' };
      });
  }

  async inspectImage(name: string): Promise<ImageRecord | null> {
    const r = await this.quick(['image', 'inspect', '--format', INSPECT_FORMAT, name]);
    if (r.exitCode === 0) return parseInspectLine(name, firstLine(r.stdout));
    const err = firstLine(r.stderr);
    if (/no such image|image not known/i.test(err)) return null; // docker's words, podman's
    throw new HarnessError('image', `docker image inspect ${name} failed: ${err || `exit ${r.exitCode}`}`);
  }

  async listImages(label: string, repo?: string): Promise<ImageRecord[]> {
    const r = await this.quick(['images', '--filter', `label=${label}`, '--format', '{{.Repository}}:{{.Tag}}']);
    if (r.exitCode !== 0) throw new HarnessError('image', `docker images failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
    // podman names local images `localhost/NAME`; a short name finds them there too.
    const names = [...new Set(r.stdout.split('\n').map((l) => l.trim().replace(/^localhost\//, '')).filter((n) => n && !n.includes('<none>') && inRepo(n, repo)))];
    return this.inspectAll(names);
  }

  async listUntagged(label: string): Promise<ImageRecord[]> {
    const r = await this.quick(['images', '--quiet', '--no-trunc', '--filter', 'dangling=true', '--filter', `label=${label}`]);
    if (r.exitCode !== 0) throw new HarnessError('image', `docker images failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
    return this.inspectAll([...new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean))]);
  }

  /**
   * Images by name or id in one inspect call; one by one when it fails, since
   * one may be gone since it was listed (then it is left out, as the API
   * engine's look-ups leave it).
   */
  private async inspectAll(refs: string[]): Promise<ImageRecord[]> {
    if (refs.length === 0) return [];
    const ins = await this.quick(['image', 'inspect', '--format', INSPECT_FORMAT, ...refs]);
    if (ins.exitCode !== 0) return (await Promise.all(refs.map((ref) => this.inspectImage(ref)))).flatMap((x) => x ?? []);
    const lines = ins.stdout.split('\n').filter(Boolean);
    return refs.flatMap((ref, i) => parseInspectLine(ref, lines[i] ?? '') ?? []);
  }

  async build(spec: BuildSpec): Promise<void> {
    const args = ['build', '--force-rm']; // a failed build leaves no intermediate container
    for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
    // Without a context the Dockerfile copies nothing: send it on stdin, with no build context.
    if (spec.context) args.push('--tag', spec.tag, '--file', spec.dockerfile, spec.context);
    else args.push('--tag', spec.tag, '-');
    const cl = this.client(args);
    const r = await runLogged(cl.bin, cl.argv, { ...(spec.context ? {} : { inputFile: spec.dockerfile }), ...(cl.env ? { env: cl.env, extendEnv: false } : {}) }, spec.log);
    if (r.ok) return;
    if (r.code === 'ENOENT') throw new HarnessError('engine', 'docker CLI not found; run npm run setup');
    const why = failureLine(r.tail);
    if (ENGINE_DOWN.test(why)) throw this.down(why);
    throw new HarnessError('image', `docker build of ${spec.tag} failed (exit ${r.exitCode}): ${why}`);
  }

  async importRootfs(spec: ImportSpec): Promise<void> {
    const { execa } = await import('execa');
    const tarArgs = ['-C', spec.rootfs, '--numeric-owner', '--one-file-system', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-c', '.'];
    const importArgs = ['import', ...spec.changes.flatMap((c) => ['--change', c]), '--message', spec.message, '-', spec.tag];
    try {
      const cl = this.client(importArgs);
      await execa('tar', tarArgs, { buffer: { stdout: false } }).pipe(cl.bin, cl.argv, cl.env ? { env: cl.env, extendEnv: false } : {});
    } catch (err) {
      const e = err as { stderr?: unknown; shortMessage?: string };
      const why = firstLine(e.stderr) || e.shortMessage || errorMessage(err);
      if (ENGINE_DOWN.test(why)) throw this.down(why);
      throw new HarnessError('image', `tar | docker import failed: ${why}`);
    }
  }

  async pull(name: string, timeoutS: number, opts: { log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<PullResult> {
    if (opts.log) return this.pullLogged(name, timeoutS, opts.log, opts.signal);
    const started = Date.now();
    const r = await this.docker(['pull', '--quiet', name], { timeoutMs: timeoutS * 1000 });
    if (r.exitCode === 0) return { ok: true };
    if (r.exitCode === null) return { ok: false, reason: `docker pull ${name} did not finish within ${timeoutS} s` };
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    return { ok: false, reason: `docker pull ${name} failed after ${secs} s: ${firstLine(r.stderr) || `exit ${r.exitCode}`}` };
  }

  /** A pull whose layer lines (one per state change off a terminal) are shown as they come. */
  private async pullLogged(name: string, timeoutS: number, log: (line: string) => void, signal?: AbortSignal): Promise<PullResult> {
    const started = Date.now();
    // The error line is the reason returned, not a progress line: it is said once, by the caller.
    const cl = this.client(['pull', name]);
    const r = await runLogged(cl.bin, cl.argv, { timeoutMs: timeoutS * 1000, signal, ...(cl.env ? { env: cl.env, extendEnv: false } : {}) }, log, (line) => !/^error/i.test(line));
    if (r.ok) return { ok: true };
    if (r.code === 'ENOENT') throw new HarnessError('engine', 'docker CLI not found; run npm run setup');
    const why = failureLine(r.tail);
    if (ENGINE_DOWN.test(why)) throw this.down(why);
    if (r.timedOut) return { ok: false, reason: `docker pull did not finish within ${timeoutS} s` };
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    return { ok: false, reason: `docker pull failed after ${secs} s: ${why}` };
  }

  async commit(c: Container, spec: CommitSpec): Promise<string> {
    const args = ['commit'];
    for (const [k, v] of Object.entries(spec.labels)) args.push('--change', `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    for (const ch of spec.changes ?? []) args.push('--change', ch);
    args.push(c.id, spec.tag);
    const r = await this.docker(args, { timeoutMs: spec.timeoutS * 1000 });
    if (r.exitCode === null) throw new HarnessError('internal', `docker commit did not finish within ${spec.timeoutS} s`);
    if (r.exitCode !== 0) throw failed('docker commit', r);
    return r.stdout.trim();
  }

  async removeImage(id: string): Promise<string | null> {
    const r = await this.quick(['image', 'rm', id]);
    return r.exitCode === 0 ? null : firstLine(r.stderr) || `exit ${r.exitCode}`;
  }
}
