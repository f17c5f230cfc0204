/**
 * Notice that the process which launched this one is gone: `npx tsx script.ts`
 * runs the script under npx → sh → tsx, and npx dies on SIGTERM without passing it on.
 */
import fs from 'node:fs';
import path from 'node:path';

/** How often the launchers are checked. */
const POLL_MS = 1000;

/** True for the processes `npx tsx …` / `npm run …` put above a script: npm, npx, `sh -c 'tsx …'`, the tsx cli. */
export function isLauncher(argv: readonly string[]): boolean {
  const [a = '', b = '', c = ''] = argv.map((w) => path.basename(w));
  if (/^(npm|npx)$/.test(a)) return true; // npm sets its title: "npm exec tsx …"
  if (/^(node|nodejs)$/.test(a)) return /^(npm|npx|tsx)$|^(npm|npx)-cli\.js$/.test(b) || /\/tsx\/dist\/cli\.m?js$/.test(argv[1] ?? '');
  if (/^(sh|bash|dash)$/.test(a)) return b === '-c' && /^(npm|npx|tsx)$/.test(c.replace(/['"]/g, '').split(' ')[0] ?? '');
  return false;
}

export interface ProcInfo {
  ppid: number;
  argv: string[];
  dead: boolean;
}

/** A process as /proc shows it, or null (gone, or no /proc on this system). */
function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return { dead: fields[0] === 'Z' || fields[0] === 'X', ppid: Number(fields[1]), argv: cmdline.split(/[\0\s]+/).filter(Boolean) };
  } catch {
    return null;
  }
}

/** The launchers right above this process, nearest first ([] when started otherwise, or without /proc). */
export function launcherChain(read: (pid: number) => ProcInfo | null = procInfo): number[] {
  const chain: number[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 8; ) {
    const info = read(pid);
    if (!info || !isLauncher(info.argv)) break;
    chain.push(pid);
    pid = info.ppid;
  }
  return chain;
}

/** Running, and not a zombie: unlike core/process.ts processAlive, a launcher that exited but is not reaped yet is gone. */
function running(pid: number): boolean {
  const info = procInfo(pid);
  return info !== null && !info.dead;
}

/**
 * Call `onGone(pid)` once when one of this process's launchers exits. Polls
 * every second without keeping the process alive; returns the stop function.
 */
export function watchLaunchers(onGone: (pid: number) => void): () => void {
  const chain = launcherChain();
  if (chain.length === 0) return () => {};
  const timer = setInterval(() => {
    const gone = chain.find((pid) => !running(pid));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
