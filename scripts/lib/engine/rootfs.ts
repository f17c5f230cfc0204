/**
 * The host directory an offline image's root filesystem is built in: picked
 * where exec and device nodes are allowed and there is room, removed without
 * leaving its filesystem, and swept when a killed build left one behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessError, errorMessage, firstLine } from '../core/errors.js';
import { processAlive } from '../core/process.js';

const ROOTFS_PREFIX = 'swe-harness-rootfs-';
/** Free space the offline build wants where the rootfs goes (it is ~600 MB). */
const MIN_FREE_BYTES = 2 * 1024 ** 3;

interface MountEntry {
  point: string;
  options: string[];
}

function readMounts(): MountEntry[] {
  try {
    return fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split(' ');
        // /proc/mounts escapes spaces etc. as octal (\040).
        const point = (f[1] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
        return { point, options: (f[3] ?? '').split(',') };
      });
  } catch {
    return [];
  }
}

/** Mount holding `dir` (longest mount point that is a prefix of it). */
function mountOf(dir: string, mounts: MountEntry[]): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    const inside = m.point === '/' || dir === m.point || dir.startsWith(m.point + '/');
    if (inside && (!best || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

/** Why `cand` cannot hold the rootfs, or its resolved path when it can. */
function judgeBuildDir(cand: string, mounts: MountEntry[]): { why: string } | { real: string } {
  let real: string;
  try {
    real = fs.realpathSync(cand);
    if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    return { why: `${cand}: ${errorMessage(err)}` };
  }
  const bad = (mountOf(real, mounts)?.options ?? []).filter((o) => o === 'noexec' || o === 'nodev' || o === 'ro');
  if (bad.length) return { why: `${cand}: mounted ${bad.join(',')}` };
  try {
    const st = fs.statfsSync(real);
    const free = st.bavail * st.bsize;
    if (free < MIN_FREE_BYTES) return { why: `${cand}: only ${(free / 1024 ** 3).toFixed(1)} GiB free` };
  } catch {
    /* unknown free space: try it */
  }
  return { real };
}

/**
 * Parent directory for the rootfs: it must allow exec and device nodes
 * (debootstrap chroots into it and creates /dev entries) and have room.
 * Env SWE_HARNESS_BUILD_DIR first, then /var/tmp, then the OS temp dir.
 */
export function pickBuildParent(): string {
  const candidates = [process.env.SWE_HARNESS_BUILD_DIR, '/var/tmp', os.tmpdir()].filter((d): d is string => typeof d === 'string' && d !== '');
  const mounts = readMounts();
  const rejected: string[] = [];
  for (const cand of new Set(candidates)) {
    const r = judgeBuildDir(cand, mounts);
    if ('real' in r) return r.real;
    rejected.push(r.why);
  }
  throw new HarnessError('image', `no directory to build the rootfs in (${rejected.join('; ')}); set SWE_HARNESS_BUILD_DIR`);
}

/** A fresh rootfs directory named after this process (so a sweep knows when its builder is gone). */
export function makeRootfsDir(parent: string): string {
  return fs.mkdtempSync(path.join(parent, `${ROOTFS_PREFIX}${process.pid}-`));
}

/** Unmount whatever is mounted inside dir, then delete it without leaving its filesystem. */
export async function removeRootfs(dir: string, log: (line: string) => void): Promise<void> {
  if (!path.basename(dir).startsWith(ROOTFS_PREFIX)) return; // never anything else
  const { execa } = await import('execa');
  const inside = () =>
    readMounts()
      .map((m) => m.point)
      .filter((p) => p.startsWith(dir + '/'))
      .sort()
      .reverse();
  for (const point of inside()) await execa('umount', ['-l', point], { reject: false });
  const left = inside();
  if (left.length) {
    log(`warning: ${left[0]} is still mounted; leaving ${dir} for you to delete`);
    return;
  }
  const r = await execa('rm', ['-rf', '--one-file-system', dir], { reject: false });
  if (r.failed) log(`warning: could not delete ${dir}: ${firstLine(r.stderr)}`);
}

/** Delete rootfs dirs left by builds whose process died (e.g. killed by Ctrl-C). */
export async function sweepStaleRootfs(parent: string, log: (line: string) => void): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = new RegExp(`^${ROOTFS_PREFIX}(\\d+)-`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    log(`removing a stale rootfs from an interrupted build: ${path.join(parent, name)}`);
    await removeRootfs(path.join(parent, name), log);
  }
}

/** Run Python inside the rootfs (no container needed) and return its stdout. */
export async function inRootfs(dir: string, code: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { execa } = await import('execa');
  const r = await execa('chroot', [dir, '/usr/bin/python3', '-c', code], {
    reject: false,
    env: { ...env, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' },
    extendEnv: false,
    timeout: 60_000,
  });
  if (r.failed) throw new HarnessError('image', `python3 in the rootfs failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
  return String(r.stdout).trim();
}
