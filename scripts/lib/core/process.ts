/**
 * Host processes: whether one is alive, and running a long command whose
 * output lines are shown as they come (image builds).
 */

/** Whether process `pid` exists on this host (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LoggedRun {
  ok: boolean;
  exitCode: number | undefined;
  /** The last 40 lines of output, for an error message. */
  tail: string[];
  /** The spawn error code (ENOENT: not on PATH), if any. */
  code?: string;
  /** Killed by `timeoutMs`. */
  timedOut?: boolean;
}

/**
 * Run a long command, passing its output lines to `log` (those `show` accepts)
 * and keeping the last ones for the error message. execa is loaded lazily:
 * only builds need it, and run-one's start-up should not pay for it.
 */
export async function runLogged(
  file: string,
  args: string[],
  options: { inputFile?: string; env?: NodeJS.ProcessEnv; extendEnv?: boolean; timeoutMs?: number; signal?: AbortSignal },
  log: (line: string) => void,
  show: (line: string) => boolean = () => true,
): Promise<LoggedRun> {
  const { execa } = await import('execa');
  const { timeoutMs, signal, ...rest } = options;
  const limits = { ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}), ...(signal ? { cancelSignal: signal } : {}) };
  const sub = execa(file, args, { ...rest, ...limits, all: true, buffer: false, reject: false });
  const tail: string[] = [];
  for await (const line of sub.iterable({ from: 'all' })) {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    if (show(line)) log(line);
  }
  const r = await sub;
  return { ok: !r.failed, exitCode: r.exitCode, tail, code: (r as { code?: string }).code, timedOut: r.timedOut };
}

/** Last line of a command's output that looks like the reason of a failure. */
export function failureLine(tail: string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /error|fail|E: |cannot|unable|not found|denied/i.test(l));
  return err ?? lines[lines.length - 1] ?? 'no output';
}
