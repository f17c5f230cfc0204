/**
 * The Docker CLI as an Engine: every call is one `docker` client subprocess,
 * so DOCKER_HOST and contexts work as they do for the user's own client.
 */
import os from 'node:os';
import { OWNER_LABELS, RUN_LABEL } from '../core/config.js';
import { HarnessError, errorMessage, firstLine } from '../core/errors.js';
import { failureLine, runLogged } from '../core/process.js';
import { ENGINE_DOWN, docker, engineError, quickDocker } from './docker-client.js';
import { dockerExec } from './docker-exec.js';
import {
  containerName,
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
const MAIN_SCRIPT =
  'trap "kill -9 -1; kill -9 -1" USR1; exec 3<> <(:); end=$((SECONDS + $1)); ' +
  'while [ "$SECONDS" -lt "$end" ]; do read -r -t "$((end - SECONDS))" -u 3; done';
const KILL_ALL_SIGNAL = 'USR1';
/** The init and the main script: what is left once killAll is done. */
const MAIN_PROCESSES = 2;
/** Scratch directories mounted as size-capped tmpfs (overlay2 on extfs cannot cap the writable layer). */
const SCRATCH_DIRS = ['/tmp', '/var/tmp'];

const INSPECT_FORMAT = '{{.Id}}\t{{.Created}}\t{{.Size}}\t{{json .Config.Labels}}';

/** `docker run` argv for a labelled, limited container with the dead-man's switch as its main process. */
export function runArgs(opts: CreateOptions): string[] {
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
  for (const dir of SCRATCH_DIRS) args.push('--tmpfs', `${dir}:rw,exec,nosuid,nodev,mode=1777,size=${limits.tmpfsSize}`);
  for (const m of opts.mounts ?? []) args.push('-v', `${m.host}:${m.container}:ro`);
  if (opts.workdir) args.push('-w', opts.workdir);
  args.push('--entrypoint', 'bash', opts.image, '-c', MAIN_SCRIPT, 'swe-harness-main', String(limits.ttlSeconds));
  return args;
}

function parseInspectLine(name: string, line: string): ImageRecord | null {
  const [id, created, size, json] = line.split('\t');
  if (!id || json === undefined) return null;
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

export class DockerCli implements Engine {
  readonly name = 'docker';

  async check(): Promise<void> {
    const r = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
    if (r.exitCode !== 0) throw engineError(r.stderr || 'docker info failed');
  }

  async create(opts: CreateOptions): Promise<Container> {
    const r = await docker(runArgs(opts), { timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const msg = r.stderr.trim().split('\n').pop() ?? '';
      if (/No such image|Unable to find image|pull access denied|not found/i.test(msg)) {
        throw new HarnessError('image', `image "${opts.image}" not available (${msg}); build it with: npm run build-image`);
      }
      throw new HarnessError('internal', `docker run failed: ${msg}`);
    }
    return { id: r.stdout.trim(), name: containerName(opts.runId), runId: opts.runId, networked: opts.network, engine: this };
  }

  exec(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    return dockerExec(c, argv, opts, (x) => this.killAll(x));
  }

  async copyIn(c: Container, hostPath: string, containerPath: string): Promise<void> {
    const r = await docker(['cp', hostPath, `${c.id}:${containerPath}`], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw failed(`docker cp into ${containerPath}`, r);
  }

  async copyOut(c: Container, containerPath: string, hostPath: string): Promise<void> {
    const r = await docker(['cp', `${c.id}:${containerPath}`, hostPath], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw failed(`docker cp of ${containerPath}`, r);
  }

  async disconnectNetwork(c: Container): Promise<void> {
    if (!c.networked) return;
    const r = await docker(['network', 'disconnect', '--force', 'bridge', c.id], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new HarnessError('internal', `could not take container off the network: ${r.stderr.trim()}`);
    c.networked = false;
  }

  async killAll(c: Container): Promise<void> {
    const r = await docker(['kill', '--signal', KILL_ALL_SIGNAL, c.id], { timeoutMs: 30_000 }).catch(() => null);
    if (r?.exitCode === 0) await this.waitForMainOnly(c);
  }

  /** The kill is asynchronous (a trap in the main process): wait until only the main processes are left. */
  private async waitForMainOnly(c: Container, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await docker(['top', c.id, '-o', 'pid'], { timeoutMs: 10_000 }).catch(() => null);
      if (!r || r.exitCode !== 0) return; // gone: nothing left to wait for
      if (r.stdout.trim().split('\n').length - 1 <= MAIN_PROCESSES) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async remove(idOrName: string): Promise<void> {
    try {
      await docker(['rm', '-f', idOrName], { timeoutMs: 60_000 });
    } catch {
      // The engine being gone means there is nothing we can remove; the TTL ends it.
    }
  }

  async listContainers(runId?: string): Promise<string[]> {
    const filter = runId ? `label=${RUN_LABEL}=${runId}` : `label=${RUN_LABEL}`;
    const r = await docker(['ps', '-aq', '--filter', filter], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new HarnessError('internal', `docker ps failed: ${firstLine(r.stderr)}`);
    return r.stdout.split('\n').filter(Boolean);
  }

  async describeContainers(): Promise<LabelledContainer[]> {
    const fmt = `{{.ID}}\t{{.Label "${RUN_LABEL}"}}\t{{.Label "${OWNER_LABELS.pid}"}}\t{{.Label "${OWNER_LABELS.host}"}}`;
    const r = await docker(['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', fmt], { timeoutMs: 30_000 });
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
    const r = await quickDocker(['image', 'inspect', '--format', INSPECT_FORMAT, name]);
    if (r.exitCode === 0) return parseInspectLine(name, firstLine(r.stdout));
    const err = firstLine(r.stderr);
    if (/no such image/i.test(err)) return null;
    throw new HarnessError('image', `docker image inspect ${name} failed: ${err || `exit ${r.exitCode}`}`);
  }

  async listImages(label: string): Promise<ImageRecord[]> {
    const r = await quickDocker(['images', '--filter', `label=${label}`, '--format', '{{.Repository}}:{{.Tag}}']);
    if (r.exitCode !== 0) throw new HarnessError('image', `docker images failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
    const names = [...new Set(r.stdout.split('\n').map((l) => l.trim()).filter((n) => n && !n.includes('<none>')))];
    if (names.length === 0) return [];
    const ins = await quickDocker(['image', 'inspect', '--format', INSPECT_FORMAT, ...names]);
    if (ins.exitCode !== 0) throw new HarnessError('image', `docker image inspect failed: ${firstLine(ins.stderr) || `exit ${ins.exitCode}`}`);
    const lines = ins.stdout.split('\n').filter(Boolean);
    return names.flatMap((name, i) => parseInspectLine(name, lines[i] ?? '') ?? []);
  }

  async build(spec: BuildSpec): Promise<void> {
    const args = ['build', '--force-rm']; // a failed build leaves no intermediate container
    for (const [k, v] of Object.entries(spec.labels)) args.push('--label', `${k}=${v}`);
    // Without a context the Dockerfile copies nothing: send it on stdin, with no build context.
    if (spec.context) args.push('--tag', spec.tag, '--file', spec.dockerfile, spec.context);
    else args.push('--tag', spec.tag, '-');
    const r = await runLogged('docker', args, spec.context ? {} : { inputFile: spec.dockerfile }, spec.log);
    if (r.ok) return;
    if (r.code === 'ENOENT') throw new HarnessError('engine', 'docker CLI not found; run npm run setup');
    const why = failureLine(r.tail);
    if (ENGINE_DOWN.test(why)) throw engineError(why);
    throw new HarnessError('image', `docker build of ${spec.tag} failed (exit ${r.exitCode}): ${why}`);
  }

  async importRootfs(spec: ImportSpec): Promise<void> {
    const { execa } = await import('execa');
    const tarArgs = ['-C', spec.rootfs, '--numeric-owner', '--one-file-system', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-c', '.'];
    const importArgs = ['import', ...spec.changes.flatMap((c) => ['--change', c]), '--message', spec.message, '-', spec.tag];
    try {
      await execa('tar', tarArgs, { buffer: { stdout: false } }).pipe('docker', importArgs);
    } catch (err) {
      const e = err as { stderr?: unknown; shortMessage?: string };
      const why = firstLine(e.stderr) || e.shortMessage || errorMessage(err);
      if (ENGINE_DOWN.test(why)) throw engineError(why);
      throw new HarnessError('image', `tar | docker import failed: ${why}`);
    }
  }

  async pull(name: string, timeoutS: number, opts: { log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<PullResult> {
    if (opts.log) return this.pullLogged(name, timeoutS, opts.log, opts.signal);
    const started = Date.now();
    const r = await docker(['pull', '--quiet', name], { timeoutMs: timeoutS * 1000 });
    if (r.exitCode === 0) return { ok: true };
    if (r.exitCode === null) return { ok: false, reason: `docker pull ${name} did not finish within ${timeoutS} s` };
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    return { ok: false, reason: `docker pull ${name} failed after ${secs} s: ${firstLine(r.stderr) || `exit ${r.exitCode}`}` };
  }

  /** A pull whose layer lines (one per state change off a terminal) are shown as they come. */
  private async pullLogged(name: string, timeoutS: number, log: (line: string) => void, signal?: AbortSignal): Promise<PullResult> {
    const started = Date.now();
    // The error line is the reason returned, not a progress line: it is said once, by the caller.
    const r = await runLogged('docker', ['pull', name], { timeoutMs: timeoutS * 1000, signal }, log, (line) => !/^error/i.test(line));
    if (r.ok) return { ok: true };
    if (r.code === 'ENOENT') throw new HarnessError('engine', 'docker CLI not found; run npm run setup');
    const why = failureLine(r.tail);
    if (ENGINE_DOWN.test(why)) throw engineError(why);
    if (r.timedOut) return { ok: false, reason: `docker pull did not finish within ${timeoutS} s` };
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    return { ok: false, reason: `docker pull failed after ${secs} s: ${why}` };
  }

  async commit(c: Container, spec: CommitSpec): Promise<string> {
    const args = ['commit'];
    for (const [k, v] of Object.entries(spec.labels)) args.push('--change', `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    for (const ch of spec.changes ?? []) args.push('--change', ch);
    args.push(c.id, spec.tag);
    const r = await docker(args, { timeoutMs: spec.timeoutS * 1000 });
    if (r.exitCode === null) throw new HarnessError('internal', `docker commit did not finish within ${spec.timeoutS} s`);
    if (r.exitCode !== 0) throw failed('docker commit', r);
    return r.stdout.trim();
  }

  async removeImage(id: string): Promise<string | null> {
    const r = await quickDocker(['image', 'rm', id]);
    return r.exitCode === 0 ? null : firstLine(r.stderr) || `exit ${r.exitCode}`;
  }
}
