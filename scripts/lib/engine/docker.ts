/**
 * Everything that talks to the Docker engine: containers are created
 * labelled, limited and with a dead-man's switch; commands run inside them
 * under `timeout -s KILL` so a timeout kills the process in the container and
 * not only the host-side `docker exec` client; removal is always `rm -f`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { OWNER_LABELS, RUN_LABEL, type ContainerLimits, type LogLimits } from '../core/config.js';
import { HarnessError, firstLine } from '../core/errors.js';
import { CappedOutput } from './output.js';

export interface DockerResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Signs in the client's stderr that the engine itself is unreachable (not the command failing). */
/** The docker client saying the container itself is gone or stopped. */
const CONTAINER_GONE = /No such container|is not running|container .* is restarting|cannot exec in a stopped/i;

export const ENGINE_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|permission denied while trying to connect/i;

/** The one message for an engine that does not answer (detail: what the client said). */
export function engineError(detail: string): HarnessError {
  return new HarnessError('engine', `Docker engine not reachable (${firstLine(detail)}); run: npm run setup`);
}

/**
 * Run the docker client and collect its (small) output. Throws
 * HarnessError('engine') when the engine does not answer; other failures are
 * returned for the caller to judge.
 */
export function docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      reject(new HarnessError('engine', `cannot start the docker client: ${String(err)}`));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => errOut.push(d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(
        new HarnessError(
          'engine',
          err.code === 'ENOENT' ? 'docker client not found on PATH; install Docker (npm run setup on Debian as root)' : `docker client failed: ${err.message}`,
        ),
      );
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(errOut).toString('utf8');
      if (code !== 0 && ENGINE_DOWN.test(stderr)) return reject(engineError(stderr));
      resolve({ exitCode: code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    child.stdin.on('error', () => {}); // the client may exit before reading all input
    child.stdin.end(opts.input ?? '');
  });
}

/** Throws HarnessError('engine') unless `docker info` answers. */
export async function checkEngine(): Promise<void> {
  const r = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw engineError(r.stderr || 'docker info failed');
}

export interface CreateOptions {
  image: string;
  runId: string;
  limits: ContainerLimits;
  /** false: `--network none` for the container's whole life. */
  network: boolean;
  /** Read-only bind mounts, host path -> container path. */
  mounts?: Array<{ host: string; container: string }>;
  workdir?: string;
}

export interface Container {
  id: string;
  name: string;
  runId: string;
  /** Whether the container is still attached to the default bridge. */
  networked: boolean;
}

/** Container names derive from the run id, so a create that raced a Ctrl-C can still be removed by name. */
export function containerName(runId: string): string {
  return `swe-harness-${runId}`;
}

/**
 * Start a container whose PID 1 is `sleep <ttl>`: if the harness dies the
 * container ends by itself and `--rm` removes it.
 * @throws HarnessError('image') when the image is missing, ('engine') when the engine is down.
 */
export async function createContainer(opts: CreateOptions): Promise<Container> {
  const name = containerName(opts.runId);
  const args = [
    'run', '-d', '--rm',
    '--name', name,
    '--label', `${RUN_LABEL}=${opts.runId}`,
    // Who owns it: cleanup leaves the containers of a harness process that is still alive.
    '--label', `${OWNER_LABELS.pid}=${process.pid}`,
    '--label', `${OWNER_LABELS.host}=${os.hostname()}`,
    '--memory', opts.limits.memory,
    '--memory-swap', opts.limits.memory,
    '--pids-limit', String(opts.limits.pids),
    '--cpus', String(opts.limits.cpus),
    '--network', opts.network ? 'bridge' : 'none',
  ];
  for (const m of opts.mounts ?? []) args.push('-v', `${m.host}:${m.container}:ro`);
  if (opts.workdir) args.push('-w', opts.workdir);
  args.push('--entrypoint', 'sleep', opts.image, String(opts.limits.ttlSeconds));
  const r = await docker(args, { timeoutMs: 60_000 });
  if (r.exitCode !== 0) {
    const msg = r.stderr.trim().split('\n').pop() ?? '';
    if (/No such image|Unable to find image|pull access denied|not found/i.test(msg)) {
      throw new HarnessError('image', `image "${opts.image}" not available (${msg}); build it with: npm run build-image`);
    }
    throw new HarnessError('internal', `docker run failed: ${msg}`);
  }
  return { id: r.stdout.trim(), name, runId: opts.runId, networked: opts.network };
}

/** Take the container off the network (before patches and tests run). */
export async function disconnectNetwork(c: Container): Promise<void> {
  if (!c.networked) return;
  const r = await docker(['network', 'disconnect', '--force', 'bridge', c.id], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new HarnessError('internal', `could not take container off the network: ${r.stderr.trim()}`);
  c.networked = false;
}

/** Remove a container (by id or name) whatever its state; never throws. */
export async function removeContainer(idOrName: string): Promise<void> {
  try {
    await docker(['rm', '-f', idOrName], { timeoutMs: 60_000 });
  } catch {
    // The engine being gone means there is nothing we can remove; the TTL ends it.
  }
}

/** Kill every process in the container except its PID 1 (the dead-man's sleep). */
export async function killAllProcesses(c: Container): Promise<void> {
  // kill(-1) signals everything but PID 1 and the caller itself.
  await docker(['exec', c.id, 'sh', '-c', 'kill -9 -1 2>/dev/null; exit 0'], { timeoutMs: 30_000 }).catch(() => {});
}

export interface ExecOptions {
  /** In-container limit, seconds: the command runs under `timeout -s KILL`. */
  timeoutS: number;
  /** Extra seconds the host waits before killing the client and mopping up itself. */
  backstopS: number;
  logs: LogLimits;
  /** Where the capped log goes (appended), or null for none. */
  logFile: string | null;
  /** Text fed to the command's stdin. */
  input?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** User to run as (`docker exec -u`); default the image's (root). */
  user?: string;
  /** Aborting it (Ctrl-C) stops waiting at once; the caller removes the container. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  timedOut: boolean;
  interrupted: boolean;
  durationS: number;
  /** End of the merged stdout+stderr (the last `tailWindowBytes`). */
  output: string;
  bytes: number;
  truncated: boolean;
  /** The docker client's own complaint, if the exec itself failed. */
  clientError: string | null;
  /** Set when the container or the engine went away during the command (an infrastructure failure). */
  lost: string | null;
}

/**
 * Run argv inside the container with a hard time limit, merging stderr into
 * stdout inside the container so the order of lines is the real one.
 */
export function execIn(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
  const started = performance.now();
  const sink = new CappedOutput(opts.logFile, opts.logs.maxLogBytes, opts.logs.tailWindowBytes);
  const args = ['exec', '-i'];
  if (opts.cwd) args.push('-w', opts.cwd);
  if (opts.user) args.push('-u', opts.user);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  // `exec 2>&1` in a tiny sh wrapper merges the streams in the container, in order;
  // "$@" passes argv through untouched (no shell quoting of user values).
  args.push(c.id, 'timeout', '-s', 'KILL', String(opts.timeoutS), 'sh', '-c', 'exec 2>&1; exec "$@"', 'sh', ...argv);

  return new Promise((resolve) => {
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const clientErr: Buffer[] = [];
    let backstopFired = false;
    let interrupted = false;
    let settled = false;
    child.stdout.on('data', (d: Buffer) => sink.write(d));
    child.stderr.on('data', (d: Buffer) => {
      if (clientErr.length < 64) clientErr.push(d);
    });
    const backstop = setTimeout(() => {
      backstopFired = true;
      child.kill('SIGKILL');
    }, (opts.timeoutS + opts.backstopS) * 1000);
    const onAbort = () => {
      interrupted = true;
      child.kill('SIGKILL');
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = async (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      opts.signal?.removeEventListener('abort', onAbort);
      const durationS = (performance.now() - started) / 1000;
      // `timeout` exits 124, or 137 when its KILL also took itself down. Before the
      // limit, 137 is the OOM killer or a stray kill and 124 the command's own inner
      // `timeout`: not ours.
      const timedOut = backstopFired || ((code === 124 || code === 137) && durationS >= opts.timeoutS - 0.25);
      if (timedOut && !interrupted) {
        // Anything that escaped timeout's process group (setsid, daemons) dies here.
        await killAllProcesses(c);
      }
      const stderr = Buffer.concat(clientErr).toString('utf8').trim();
      const clientError = stderr && code !== 0 ? stderr.split('\n')[0]! : null;
      const truncated = sink.truncated;
      sink.close(timedOut ? `killed after ${opts.timeoutS}s time limit` : interrupted ? 'interrupted' : undefined);
      resolve({
        exitCode: backstopFired || interrupted ? null : code,
        timedOut,
        interrupted,
        durationS,
        output: sink.text(),
        bytes: sink.bytes,
        truncated,
        clientError,
        // The container or the engine went away under the command: the harness's failure, not the code's.
        lost: spawnFailed ? 'the docker client could not be started' : clientError && (CONTAINER_GONE.test(clientError) || ENGINE_DOWN.test(clientError)) ? clientError : null,
      });
    };
    let spawnFailed = false;
    child.on('error', () => {
      spawnFailed = true;
      void finish(null);
    });
    child.on('close', (code) => void finish(code));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export interface HarnessContainer {
  id: string;
  runId: string;
  /** The harness process that started it, when it runs on this host and is still alive. */
  ownerAlive: boolean;
}

/** Harness containers with their owners, for cleanup. */
export async function describeHarnessContainers(): Promise<HarnessContainer[]> {
  const fmt = `{{.ID}}\t{{.Label "${RUN_LABEL}"}}\t{{.Label "${OWNER_LABELS.pid}"}}\t{{.Label "${OWNER_LABELS.host}"}}`;
  const r = await docker(['ps', '-a', '--filter', `label=${RUN_LABEL}`, '--format', fmt], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new HarnessError('internal', `docker ps failed: ${firstLine(r.stderr)}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, runId, pid, host] = line.split('\t');
      return { id: id!, runId: runId ?? '', ownerAlive: host === os.hostname() && processAlive(Number(pid)) };
    });
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ids of containers carrying the harness label (all, or one run's). */
export async function listHarnessContainers(runId?: string): Promise<string[]> {
  const filter = runId ? `label=${RUN_LABEL}=${runId}` : `label=${RUN_LABEL}`;
  const r = await docker(['ps', '-aq', '--filter', filter], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new HarnessError('internal', `docker ps failed: ${firstLine(r.stderr)}`);
  return r.stdout.split('\n').filter(Boolean);
}
