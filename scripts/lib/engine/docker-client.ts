/**
 * The docker client as a subprocess: run it with a time limit, collect its
 * (small) output, and tell an engine that does not answer from a command that failed.
 */
import { spawn } from 'node:child_process';
import { HarnessError, firstLine } from '../core/errors.js';

/**
 * Which engine a docker client call goes to: a host URL (`DOCKER_HOST`:
 * unix://, tcp://, ssh://) or a docker context name; neither: the client's own
 * default (DOCKER_HOST / DOCKER_CONTEXT of this process, else its current context).
 */
export interface DockerTarget {
  host?: string | null;
  context?: string | null;
  /** Drop DOCKER_HOST and DOCKER_CONTEXT from the client's environment (the machine's own engine). */
  stripEnv?: boolean;
  /** The client program: `docker` (default) or `podman`, whose CLI speaks Docker's. */
  binary?: 'docker' | 'podman';
}

/** The client program a target is reached with. */
export function clientBinary(target?: DockerTarget): string {
  return target?.binary ?? 'docker';
}

/** The client's argv for a target: a context is the global `--context` flag. */
export function clientArgv(args: string[], target?: DockerTarget): string[] {
  return target?.context ? ['--context', target.context, ...args] : args;
}

/** The client's environment for a target (undefined: this process's own). */
export function clientEnv(target?: DockerTarget): NodeJS.ProcessEnv | undefined {
  if (!target || (!target.host && !target.context && !target.stripEnv)) return undefined;
  const env = { ...process.env };
  // A host or a context named for this engine wins over what the process was started with.
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  // The TLS settings are the remote engine's (DOCKER_HOST=tcp://... with them): this machine's socket speaks none.
  if (target.stripEnv) for (const k of TLS_ENV) delete env[k];
  if (target.host) env.DOCKER_HOST = target.host;
  return env;
}

export interface DockerResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** The docker client's TLS settings (for an engine over tcp://). */
const TLS_ENV = ['DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS'] as const;

/**
 * Signs in the client's stderr that the engine itself is unreachable (not the
 * command failing): no answer, or no common language (plain HTTP to an engine
 * that wants TLS, a certificate it or we refuse). A certificate error the
 * daemon itself reports ("Error response from daemon: … x509: …", a registry's
 * during a pull) is the command failing, not the engine.
 */
export const ENGINE_DOWN =
  /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|permission denied while trying to connect|Cannot connect to Podman|Client sent an HTTP request to an HTTPS server|could not read CA certificate|unable to load client certificate|^(?!Error response from daemon|Error: ).*(?:x509: |remote error: tls|tls: )/im;

/** The docker (or podman) client saying the container itself is gone or stopped. */
export const CONTAINER_GONE = /No such container|No such exec instance|is not running|container .* is restarting|cannot exec in a stopped|container state improper/i;

/** The one message for an engine that does not answer (detail: what the client said). */
export function engineError(detail: string, engine?: string): HarnessError {
  if (engine) return new HarnessError('engine', `Docker engine not reachable at ${engine} (${firstLine(detail)})`);
  return new HarnessError('engine', `Docker engine not reachable (${firstLine(detail)}); run: npm run setup`);
}

function spawnError(err: NodeJS.ErrnoException): HarnessError {
  return new HarnessError(
    'engine',
    err.code === 'ENOENT' ? 'docker client not found on PATH; install Docker (npm run setup on Debian as root)' : `docker client failed: ${err.message}`,
  );
}

/**
 * Run the docker client and collect its output; `exitCode` is null when the
 * time limit killed it.
 * @throws HarnessError('engine') when the engine does not answer; other failures are returned for the caller to judge.
 */
export function docker(
  args: string[],
  opts: { input?: string | Uint8Array; timeoutMs?: number; target?: DockerTarget; engineName?: string } = {},
): Promise<DockerResult> {
  const p = new Promise<DockerResult>((resolve, reject) => {
    let child;
    try {
      child = spawn(clientBinary(opts.target), clientArgv(args, opts.target), { stdio: ['pipe', 'pipe', 'pipe'], env: clientEnv(opts.target) });
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
      reject(spawnError(err));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(errOut).toString('utf8');
      if (code !== 0 && ENGINE_DOWN.test(stderr)) return reject(engineError(stderr, opts.engineName));
      resolve({ exitCode: code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
    child.stdin.on('error', () => {}); // the client may exit before reading all input
    child.stdin.end(opts.input ?? '');
  });
  return TRACE ? traced(args, p) : p;
}

/** SWE_HARNESS_TRACE=1: one stderr line per engine call (what, when since process start, how long), for start-up measurements. */
export const TRACE = process.env.SWE_HARNESS_TRACE === '1';

/** Report `p`'s duration on stderr when tracing. */
export function traced<T>(args: string[], p: Promise<T>): Promise<T> {
  if (!TRACE) return p;
  const t0 = performance.now();
  const line = () => process.stderr.write(`[trace] +${(t0 / 1000).toFixed(3)}s docker ${args.slice(0, 2).join(' ')} ${((performance.now() - t0) / 1000).toFixed(3)}s\n`);
  p.then(line, line);
  return p;
}

/** Seconds a quick call (inspect, ps, images) may take before the engine counts as hung. */
export const QUICK_TIMEOUT_S = 30;

/**
 * A docker call that should answer at once: a timeout means the engine hangs.
 * @throws HarnessError('engine') when it does not answer.
 */
export async function quickDocker(args: string[], timeoutS = QUICK_TIMEOUT_S, target?: DockerTarget, engineName?: string): Promise<DockerResult> {
  const r = await docker(args, { timeoutMs: timeoutS * 1000, target, engineName });
  if (r.exitCode === null) throw engineError(`docker ${args[0]} did not answer within ${timeoutS} s`, engineName);
  return r;
}
