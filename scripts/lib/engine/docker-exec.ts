/**
 * `docker exec` with a hard limit: the command runs under `timeout -s KILL`
 * inside the container (killing the host-side client alone would leave it
 * running), with a host backstop a little later and a capped output capture.
 */
import { spawn } from 'node:child_process';
import type { Container, ExecOptions, ExecResult } from './engine.js';
import { CONTAINER_GONE, ENGINE_DOWN, clientArgv, clientBinary, clientEnv, traced, type DockerTarget } from './docker-client.js';
import { CappedOutput } from './output.js';

/** How the client (a CLI process, or an API connection) ended. */
export interface ClientEnd {
  code: number | null;
  backstopFired: boolean;
  interrupted: boolean;
  spawnFailed: boolean;
  /** The client's own stderr (the command's is merged into stdout). */
  stderr: string;
}

/** The command run in the container: `exec 2>&1` in a tiny sh merges the streams in order; "$@" passes argv untouched. */
export function execCommand(argv: string[], timeoutS: number): string[] {
  return ['timeout', '-s', 'KILL', String(timeoutS), 'sh', '-c', 'exec 2>&1; exec "$@"', 'sh', ...argv];
}

/** `docker exec` argv for the CLI. */
function execArgs(c: Container, argv: string[], opts: ExecOptions): string[] {
  const args = ['exec', '-i'];
  if (opts.cwd) args.push('-w', opts.cwd);
  if (opts.user) args.push('-u', opts.user);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  args.push(c.id, ...execCommand(argv, opts.timeoutS));
  return args;
}

/** Run the client, feeding stdout to the sink; SIGKILL it at the backstop or on abort. */
function runClient(args: string[], sink: CappedOutput, opts: ExecOptions, target?: DockerTarget): Promise<ClientEnd> {
  return new Promise((resolve) => {
    const child = spawn(clientBinary(target), clientArgv(args, target), { stdio: ['pipe', 'pipe', 'pipe'], env: clientEnv(target) });
    const clientErr: Buffer[] = [];
    const end = { backstopFired: false, interrupted: false, spawnFailed: false };
    let settled = false;
    child.stdout.on('data', (d: Buffer) => sink.write(d));
    child.stderr.on('data', (d: Buffer) => {
      if (clientErr.length < 64) clientErr.push(d);
    });
    const backstop = setTimeout(() => {
      end.backstopFired = true;
      child.kill('SIGKILL');
    }, (opts.timeoutS + opts.backstopS) * 1000);
    const onAbort = () => {
      end.interrupted = true;
      child.kill('SIGKILL');
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ ...end, code, stderr: Buffer.concat(clientErr).toString('utf8').trim() });
    };
    child.on('error', () => {
      end.spawnFailed = true;
      finish(null);
    });
    child.on('close', finish);
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * `timeout` exits 124, or 137 when its KILL also took itself down. Before the
 * limit, 137 is the OOM killer or a stray kill and 124 the command's own inner
 * `timeout`: not ours.
 */
function isTimeout(end: ClientEnd, durationS: number, limitS: number): boolean {
  return end.backstopFired || ((end.code === 124 || end.code === 137) && durationS >= limitS - 0.25);
}

/** Why the command's result says nothing about the code: the container or the engine went away. */
function lostReason(end: ClientEnd, clientError: string | null): string | null {
  if (end.spawnFailed) return 'the docker client could not be started';
  return clientError && (CONTAINER_GONE.test(clientError) || ENGINE_DOWN.test(clientError)) ? clientError : null;
}

/** How the exec reaches its engine, and how to tell that the engine went away. */
export interface ExecClient {
  target?: DockerTarget;
  /** The engine as messages name it (undefined: the local one, named as before). */
  engineName?: string;
  /** Null when the engine answers, else why not: asked when the client failed in a way that may be the engine's. */
  probe?: () => Promise<string | null>;
  /** Runs the exec itself, feeding the sink (default: a CLI client process). */
  transport?: (sink: CappedOutput) => Promise<ClientEnd>;
}

/**
 * Run argv inside the container with a hard time limit. After a timeout,
 * `killAll` ends whatever escaped timeout's process group (setsid, daemons).
 */
export async function dockerExec(
  c: Container,
  argv: string[],
  opts: ExecOptions,
  killAll: (c: Container) => Promise<void>,
  client: ExecClient = {},
): Promise<ExecResult> {
  const started = performance.now();
  const sink = new CappedOutput(opts.logFile, opts.logs.maxLogBytes, opts.logs.tailWindowBytes);
  const running = client.transport ? client.transport(sink) : runClient(execArgs(c, argv, opts), sink, opts, client.target);
  const end = await traced(['exec', argv.slice(0, 2).join(' ').slice(0, 30)], running);
  const durationS = (performance.now() - started) / 1000;
  const timedOut = isTimeout(end, durationS, opts.timeoutS);
  if (timedOut && !end.interrupted) await killAll(c);
  const clientError = end.stderr && end.code !== 0 ? end.stderr.split('\n')[0]! : null;
  let lost = lostReason(end, clientError);
  // The client complained, or the command was killed before its limit: when the engine
  // itself no longer answers, that is what happened (never a verdict on the code).
  if (client.probe && !end.interrupted && !timedOut && (clientError !== null || end.code === 137 || end.code === null || end.code === 255)) {
    const down = await client.probe();
    if (down) lost = down;
  }
  if (lost && client.engineName && !lost.includes(client.engineName)) lost = `engine ${client.engineName}: ${lost}`;
  const truncated = sink.truncated;
  sink.close(timedOut ? `killed after ${opts.timeoutS}s time limit` : end.interrupted ? 'interrupted' : undefined);
  return {
    exitCode: end.backstopFired || end.interrupted ? null : end.code,
    timedOut,
    interrupted: end.interrupted,
    durationS,
    output: sink.text(),
    outputBytes: sink.buffer(),
    bytes: sink.bytes,
    truncated,
    clientError,
    lost,
  };
}
