/**
 * Harness images: build them (registry or offline recipe), list them, and pick
 * the one a run uses.
 *
 * Two recipes, both under docker/:
 * - registry: docker/Dockerfile, FROM python:3.10-slim + pip (needs Docker Hub and PyPI),
 *   tagged `<imageRepo>:py3.10` (= DEFAULT_CONFIG.preferredImage).
 * - offline: docker/offline/ (debootstrap of Debian bookworm from a Debian mirror,
 *   then `tar | docker import`), tagged `<imageRepo>:py<major.minor>` with the
 *   Python version really inside (bookworm: 3.11).
 *
 * Every image carries IMAGE_LABELS (python, recipe hash, flavour); a build is
 * skipped when an image of that flavour with the current recipe hash exists.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_DOWN, checkEngine, docker as dockerCall, engineError } from './docker.js';
import { DEFAULT_CONFIG, IMAGE_LABELS, ROOT } from '../core/config.js';
import { HarnessError, errorMessage, firstLine } from '../core/errors.js';

export type ImageFlavour = 'registry' | 'offline';

export interface ImageInfo {
  /** `repository:tag` to pass to `docker run`. */
  name: string;
  /** Image id (`sha256:...`), or '' when not known. */
  id: string;
  /** Python `major.minor` from the image's label, or 'unknown' for an image without harness labels. */
  python: string;
  /** Recipe flavour from the label; 'unknown' for an image without harness labels. */
  flavour: ImageFlavour | 'unknown';
  /** Recipe hash from the label ('' when none). */
  recipe: string;
  /** pytest version from the label (offline images carry one), or null. */
  pytest: string | null;
  /** True when this call built it, false when it already existed. */
  built: boolean;
}

export interface BuildImageOptions {
  /** Build even when an image with the current recipe exists. */
  force?: boolean;
  /** auto (default): registry when its base image can be had, else offline. */
  flavour?: 'auto' | ImageFlavour;
  /** Progress lines (build output, decisions). */
  log?: (line: string) => void;
  /** Seconds the `docker pull` of the registry base may take (default 20). */
  pullTimeoutSeconds?: number;
}

/** Label with the pytest version inside the image (offline images). */
export const PYTEST_LABEL = 'swe-harness.pytest';

const DOCKER_DIR = path.join(ROOT, 'docker');
const DOCKERFILE = path.join(DOCKER_DIR, 'Dockerfile');
const OFFLINE_DIR = path.join(DOCKER_DIR, 'offline');
const ROOTFS_PREFIX = 'swe-harness-rootfs-';
/** Free space the offline build wants where the rootfs goes (it is ~600 MB). */
const MIN_FREE_BYTES = 2 * 1024 ** 3;
const ENGINE_HINT = 'run npm run setup';
/** Format of `docker image inspect` lines parsed by parseInspectLine. */
const INSPECT_FORMAT = '{{.Id}}\t{{.Created}}\t{{json .Config.Labels}}';
/** Seconds a quick docker call (inspect, images, version) may take before the engine counts as hung. */
const QUICK_TIMEOUT_S = 30;

// ---------------------------------------------------------------------------
// Recipes

function recipeFiles(flavour: ImageFlavour): string[] {
  if (flavour === 'registry') return [DOCKERFILE];
  let names: string[];
  try {
    names = fs.readdirSync(OFFLINE_DIR).sort();
  } catch (err) {
    throw new HarnessError('image', `offline recipe missing: cannot read ${OFFLINE_DIR} (${errorMessage(err)})`);
  }
  return names.map((n) => path.join(OFFLINE_DIR, n)).filter((p) => fs.statSync(p).isFile());
}

/** Short sha256 (16 hex) of the recipe files of a flavour: a changed recipe means a rebuild. */
export function recipeHash(flavour: ImageFlavour): string {
  const h = createHash('sha256');
  h.update(`swe-harness-recipe\0${flavour}\0`);
  for (const file of recipeFiles(flavour)) {
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch (err) {
      throw new HarnessError('image', `recipe file unreadable: ${file} (${errorMessage(err)})`);
    }
    h.update(path.relative(DOCKER_DIR, file).split(path.sep).join('/'));
    h.update('\0');
    h.update(content);
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Base image and its Python version, read from the Dockerfile's FROM line. */
function registryBase(): { base: string; python: string } {
  let text: string;
  try {
    text = fs.readFileSync(DOCKERFILE, 'utf8');
  } catch (err) {
    throw new HarnessError('image', `registry recipe missing: ${DOCKERFILE} (${errorMessage(err)})`);
  }
  const base = /^\s*FROM\s+(\S+)/im.exec(text)?.[1];
  const python = base ? /^python:(\d+\.\d+)/.exec(base)?.[1] : undefined;
  if (!base || !python) throw new HarnessError('image', `${DOCKERFILE}: expected a "FROM python:X.Y..." line`);
  return { base, python };
}

/** `--change` instructions of the offline image (docker/offline/image.conf). */
function offlineChanges(): string[] {
  const file = path.join(OFFLINE_DIR, 'image.conf');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new HarnessError('image', `offline recipe missing: ${file} (${errorMessage(err)})`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

// ---------------------------------------------------------------------------
// Docker calls

/**
 * execa is only needed to build images; loading it lazily keeps ~130 ms off
 * every run-one start.
 */
const loadExeca = async () => (await import('execa')).execa;

/** What the quick docker calls here return: docker.ts's result plus a failed flag. */
type DockerResult = { exitCode: number | null; stdout: string; stderr: string; failed: boolean };

/**
 * Run `docker ARGS` through docker.ts (which throws HarnessError('engine') when
 * the engine does not answer), never rejecting for a non-zero exit.
 */
async function docker(args: string[], timeoutSeconds = QUICK_TIMEOUT_S): Promise<DockerResult> {
  const r = await dockerCall(args, { timeoutMs: timeoutSeconds * 1000 });
  // Killed by the timeout: for quick calls that means the engine hangs.
  if (r.exitCode === null && args[0] !== 'pull' && args[0] !== 'build') {
    throw engineError(`docker ${args[0]} did not answer within ${timeoutSeconds} s`);
  }
  return { ...r, failed: r.exitCode !== 0 };
}

interface Inspected {
  id: string;
  created: string;
  labels: Record<string, string>;
}

function parseInspectLine(line: string): Inspected | null {
  const [id, created, json] = line.split('\t');
  if (!id || json === undefined) return null;
  let labels: Record<string, string> = {};
  try {
    labels = (JSON.parse(json) as Record<string, string> | null) ?? {};
  } catch {
    /* no labels */
  }
  return { id, created: created ?? '', labels };
}

function toInfo(name: string, insp: Inspected, built = false): ImageInfo {
  const l = insp.labels;
  const flavour = l[IMAGE_LABELS.flavour];
  return {
    name,
    id: insp.id,
    python: l[IMAGE_LABELS.python] || 'unknown',
    flavour: flavour === 'registry' || flavour === 'offline' ? flavour : 'unknown',
    recipe: l[IMAGE_LABELS.recipe] ?? '',
    pytest: l[PYTEST_LABEL] || null,
    built,
  };
}

/** Inspect one image; null when it does not exist. */
async function inspectImage(name: string): Promise<Inspected | null> {
  const r = await docker(['image', 'inspect', '--format', INSPECT_FORMAT, name]);
  if (!r.failed) return parseInspectLine(firstLine(r.stdout));
  const err = firstLine(r.stderr);
  if (/no such image/i.test(err)) return null;
  throw new HarnessError('image', `docker image inspect ${name} failed: ${err || `exit ${r.exitCode}`}`);
}

// ---------------------------------------------------------------------------
// Listing and resolving

/** Tagged images carrying the harness flavour label, newest first. */
export async function listHarnessImages(): Promise<ImageInfo[]> {
  const r = await docker(['images', '--filter', `label=${IMAGE_LABELS.flavour}`, '--format', '{{.Repository}}:{{.Tag}}']);
  if (r.failed) throw new HarnessError('image', `docker images failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
  const names = [
    ...new Set(
      String(r.stdout)
        .split('\n')
        .map((l) => l.trim())
        .filter((n) => n && !n.includes('<none>')),
    ),
  ];
  if (names.length === 0) return [];
  const ins = await docker(['image', 'inspect', '--format', INSPECT_FORMAT, ...names]);
  if (ins.failed) throw new HarnessError('image', `docker image inspect failed: ${firstLine(ins.stderr) || `exit ${ins.exitCode}`}`);
  const lines = String(ins.stdout).split('\n').filter(Boolean);
  const out: Array<ImageInfo & { created: string }> = [];
  names.forEach((name, i) => {
    const insp = parseInspectLine(lines[i] ?? '');
    if (insp) out.push({ ...toInfo(name, insp), created: insp.created });
  });
  // RFC 3339 timestamps of one engine sort as strings.
  out.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  return out.map(({ created: _created, ...info }) => info);
}

const resolveCache = new Map<string, Promise<ImageInfo>>();

/** Forget resolveImage's cached answers (buildImage does it itself). */
export function clearImageCache(): void {
  resolveCache.clear();
}

/**
 * The image a run uses. `requested` (CLI or task): it must exist. null: the
 * preferred (registry) image if present, else the newest harness image.
 * Answers are cached per process; one or two docker calls on a miss.
 */
export function resolveImage(requested: string | null): Promise<ImageInfo> {
  const key = requested ?? '\0default';
  let p = resolveCache.get(key);
  if (!p) {
    p = requested !== null ? resolveRequested(requested) : resolveDefault();
    resolveCache.set(key, p);
    p.catch(() => resolveCache.delete(key));
  }
  return p;
}

async function resolveRequested(name: string): Promise<ImageInfo> {
  if (!name.trim()) throw new HarnessError('image', 'empty image name');
  const insp = await inspectImage(name);
  if (!insp) throw new HarnessError('image', `image "${name}" not found; build it with npm run build-image`);
  return toInfo(name, insp);
}

async function resolveDefault(): Promise<ImageInfo> {
  const preferred = DEFAULT_CONFIG.preferredImage;
  const images = await listHarnessImages();
  const pick =
    images.find((i) => i.name === preferred) ??
    images.find((i) => i.flavour === 'offline') ??
    images[0];
  if (pick) return pick;
  // An unlabelled image under the preferred name (e.g. tagged by hand) still counts.
  const insp = await inspectImage(preferred);
  if (insp) return toInfo(preferred, insp);
  throw new HarnessError('image', 'no harness image; run npm run build-image');
}

/** Existing tagged image of a flavour built from this recipe, if any. */
async function findBuilt(flavour: ImageFlavour, recipe: string): Promise<ImageInfo | null> {
  const images = await listHarnessImages();
  return images.find((i) => i.flavour === flavour && i.recipe === recipe) ?? null;
}

// ---------------------------------------------------------------------------
// Building

/**
 * Build (or keep) a harness image. Throws HarnessError('image') when it cannot
 * be built, HarnessError('engine') when Docker does not answer.
 */
export async function buildImage(opts: BuildImageOptions = {}): Promise<ImageInfo> {
  const log = opts.log ?? (() => {});
  const force = opts.force ?? false;
  const flavour = opts.flavour ?? 'auto';
  const pullTimeout = opts.pullTimeoutSeconds ?? 20;
  if (!['auto', 'registry', 'offline'].includes(flavour)) {
    throw new HarnessError('usage', `unknown image flavour "${flavour}" (auto, registry or offline)`);
  }
  await checkEngine();
  clearImageCache();
  try {
    if (flavour === 'offline') return await buildOffline(force, log);
    if (flavour === 'registry') {
      const kept = force ? null : await findBuilt('registry', recipeHash('registry'));
      if (kept) return kept;
      const base = await getRegistryBase(pullTimeout, log);
      if (!base.ok) throw new HarnessError('image', `registry build impossible: ${base.reason}`);
      return await buildRegistry(log);
    }
    // auto
    const kept = force ? null : await findBuilt('registry', recipeHash('registry'));
    if (kept) return kept;
    const base = await getRegistryBase(pullTimeout, log);
    if (base.ok) return await buildRegistry(log);
    log(`registry image unavailable (${base.reason}); using the offline recipe (docker/offline/) instead`);
    return await buildOffline(force, log);
  } finally {
    clearImageCache();
  }
}

/** Is the registry base image here, or can it be pulled in time? */
async function getRegistryBase(
  timeoutSeconds: number,
  log: (line: string) => void,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { base } = registryBase();
  if (await inspectImage(base)) return { ok: true };
  log(`pulling ${base} (at most ${timeoutSeconds} s)`);
  const started = Date.now();
  const r = await docker(['pull', '--quiet', base], timeoutSeconds);
  if (!r.failed) return { ok: true };
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.exitCode === null) return { ok: false, reason: `docker pull ${base} did not finish within ${timeoutSeconds} s` };
  return { ok: false, reason: `docker pull ${base} failed after ${secs} s: ${firstLine(r.stderr) || `exit ${r.exitCode}`}` };
}

/** Id of the image a tag points at now (to drop it once the tag moves), or null. */
async function currentId(tag: string): Promise<string | null> {
  return (await inspectImage(tag))?.id ?? null;
}

/** Best effort: remove the image a rebuilt tag used to point at, if nothing else names or uses it. */
async function dropReplaced(oldId: string | null, newId: string, log: (line: string) => void): Promise<void> {
  if (!oldId || oldId === newId) return;
  const short = oldId.replace(/^sha256:/, '').slice(0, 12);
  const r = await docker(['image', 'rm', oldId]);
  if (!r.failed) log(`removed the replaced image ${short}`);
  else log(`kept the replaced image ${short} (${firstLine(r.stderr) || `exit ${r.exitCode}`}); docker image prune removes it later`);
}

/**
 * Run a long command, passing its output lines to `log` (those `show` accepts)
 * and keeping the last ones for the error message.
 */
async function runLogged(
  file: string,
  args: string[],
  options: { inputFile?: string; env?: NodeJS.ProcessEnv },
  log: (line: string) => void,
  show: (line: string) => boolean = () => true,
): Promise<{ ok: boolean; exitCode: number | undefined; tail: string[]; code?: string }> {
  const sub = (await loadExeca())(file, args, { ...options, all: true, buffer: false, reject: false });
  const tail: string[] = [];
  for await (const line of sub.iterable({ from: 'all' })) {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    if (show(line)) log(line);
  }
  const r = await sub;
  return { ok: !r.failed, exitCode: r.exitCode, tail, code: (r as { code?: string }).code };
}

/** Last line of output that looks like the reason of a failure. */
function failureLine(tail: string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => /error|fail|E: |cannot|unable|not found|denied/i.test(l));
  return err ?? lines[lines.length - 1] ?? 'no output';
}

async function buildRegistry(log: (line: string) => void): Promise<ImageInfo> {
  const { python } = registryBase();
  const recipe = recipeHash('registry');
  const tag = `${DEFAULT_CONFIG.imageRepo}:py${python}`;
  const oldId = await currentId(tag);
  log(`building ${tag} from docker/Dockerfile (recipe ${recipe})`);
  // The Dockerfile copies nothing: send it on stdin, with no build context.
  const args = [
    'build',
    '--force-rm', // a failed build leaves no intermediate container
    '--label', `${IMAGE_LABELS.python}=${python}`,
    '--label', `${IMAGE_LABELS.recipe}=${recipe}`,
    '--label', `${IMAGE_LABELS.flavour}=registry`,
    '--tag', tag,
    '-',
  ];
  const r = await runLogged('docker', args, { inputFile: DOCKERFILE }, log);
  if (!r.ok) {
    if (r.code === 'ENOENT') throw new HarnessError('engine', `docker CLI not found; ${ENGINE_HINT}`);
    const why = failureLine(r.tail);
    if (ENGINE_DOWN.test(why)) throw engineError(why);
    throw new HarnessError('image', `docker build of ${tag} failed (exit ${r.exitCode}): ${why}`);
  }
  const insp = await inspectImage(tag);
  if (!insp) throw new HarnessError('image', `docker build reported success but ${tag} does not exist`);
  await dropReplaced(oldId, insp.id, log);
  return toInfo(tag, insp, true);
}

// --- offline ---------------------------------------------------------------

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

/**
 * Parent directory for the rootfs: it must allow exec and device nodes
 * (debootstrap chroots into it and creates /dev entries) and have room.
 * Env SWE_HARNESS_BUILD_DIR first, then /var/tmp, then the OS temp dir.
 */
function pickBuildParent(): string {
  const candidates = [process.env.SWE_HARNESS_BUILD_DIR, '/var/tmp', os.tmpdir()].filter(
    (d): d is string => typeof d === 'string' && d !== '',
  );
  const mounts = readMounts();
  const rejected: string[] = [];
  for (const cand of [...new Set(candidates)]) {
    let real: string;
    try {
      real = fs.realpathSync(cand);
      if (!fs.statSync(real).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      rejected.push(`${cand}: ${errorMessage(err)}`);
      continue;
    }
    const m = mountOf(real, mounts);
    const bad = (m?.options ?? []).filter((o) => o === 'noexec' || o === 'nodev' || o === 'ro');
    if (bad.length) {
      rejected.push(`${cand}: mounted ${bad.join(',')}`);
      continue;
    }
    try {
      const st = fs.statfsSync(real);
      const free = st.bavail * st.bsize;
      if (free < MIN_FREE_BYTES) {
        rejected.push(`${cand}: only ${(free / 1024 ** 3).toFixed(1)} GiB free`);
        continue;
      }
    } catch {
      /* unknown free space: try it */
    }
    return real;
  }
  throw new HarnessError('image', `no directory to build the rootfs in (${rejected.join('; ')}); set SWE_HARNESS_BUILD_DIR`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Unmount whatever is mounted inside dir, then delete it without leaving its filesystem. */
async function removeRootfs(dir: string, log: (line: string) => void): Promise<void> {
  if (!path.basename(dir).startsWith(ROOTFS_PREFIX)) return; // never anything else
  const inside = () =>
    readMounts()
      .map((m) => m.point)
      .filter((p) => p.startsWith(dir + '/'))
      .sort()
      .reverse();
  for (const point of inside()) {
    await (await loadExeca())('umount', ['-l', point], { reject: false });
  }
  const left = inside();
  if (left.length) {
    log(`warning: ${left[0]} is still mounted; leaving ${dir} for you to delete`);
    return;
  }
  const r = await (await loadExeca())('rm', ['-rf', '--one-file-system', dir], { reject: false });
  if (r.failed) log(`warning: could not delete ${dir}: ${firstLine(r.stderr)}`);
}

/** Delete rootfs dirs left by builds whose process died (e.g. killed by Ctrl-C). */
async function sweepStaleRootfs(parent: string, log: (line: string) => void): Promise<void> {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = new RegExp(`^${ROOTFS_PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    log(`removing a stale rootfs from an interrupted build: ${path.join(parent, name)}`);
    await removeRootfs(path.join(parent, name), log);
  }
}

function hasDebootstrap(env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(':').some((d) => {
    try {
      fs.accessSync(path.join(d, 'debootstrap'), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Run Python inside the rootfs (no container needed) and return its stdout. */
async function inRootfs(dir: string, code: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await (await loadExeca())('chroot', [dir, '/usr/bin/python3', '-c', code], {
    reject: false,
    env: { ...env, PYTHONDONTWRITEBYTECODE: '1', LANG: 'C.UTF-8' },
    extendEnv: false,
    timeout: 60_000,
  });
  if (r.failed) throw new HarnessError('image', `python3 in the rootfs failed: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
  return String(r.stdout).trim();
}

const DEBOOTSTRAP_PER_PACKAGE = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (?!the |required |base )[a-z0-9]/;

async function buildOffline(force: boolean, log: (line: string) => void): Promise<ImageInfo> {
  const recipe = recipeHash('offline');
  if (!force) {
    const kept = await findBuilt('offline', recipe);
    if (kept) return kept;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new HarnessError(
      'image',
      'the offline image build runs debootstrap, which needs root: run npm run build-image as root (e.g. sudo -E npm run build-image)',
    );
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  const pathDirs = (env.PATH ?? '').split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!pathDirs.includes(d)) pathDirs.push(d);
  env.PATH = pathDirs.join(':');
  if (!hasDebootstrap(env)) {
    throw new HarnessError('image', 'debootstrap is not installed (apt-get install debootstrap, or run npm run setup)');
  }

  const parent = pickBuildParent();
  await sweepStaleRootfs(parent, log);
  const dir = fs.mkdtempSync(path.join(parent, `${ROOTFS_PREFIX}${process.pid}-`));
  const started = Date.now();
  try {
    log(`building the offline rootfs in ${dir} (debootstrap from ${env.DEBIAN_MIRROR || 'http://deb.debian.org/debian'}; a few minutes)`);
    const script = path.join(OFFLINE_DIR, 'build-rootfs.sh');
    const r = await runLogged('bash', [script, dir], { env }, log, (l) => !DEBOOTSTRAP_PER_PACKAGE.test(l));
    if (!r.ok) throw new HarnessError('image', `offline rootfs build failed (exit ${r.exitCode}): ${failureLine(r.tail)}`);

    const python = await inRootfs(dir, 'import sys; print("%d.%d" % sys.version_info[:2])', env);
    const pytest = await inRootfs(dir, 'import pytest; print(pytest.__version__)', env);
    if (!/^\d+\.\d+$/.test(python)) throw new HarnessError('image', `unexpected Python version in the rootfs: "${python}"`);
    const tag = `${DEFAULT_CONFIG.imageRepo}:py${python}`;
    const oldId = await currentId(tag);

    const changes = [
      ...offlineChanges(),
      `LABEL ${IMAGE_LABELS.python}=${python}`,
      `LABEL ${IMAGE_LABELS.recipe}=${recipe}`,
      `LABEL ${IMAGE_LABELS.flavour}=offline`,
      `LABEL ${PYTEST_LABEL}=${pytest}`,
    ];
    log(`importing the rootfs as ${tag} (python ${python}, pytest ${pytest})`);
    const tarArgs = ['-C', dir, '--numeric-owner', '--one-file-system', '--exclude=./dev/*', '--exclude=./proc/*', '--exclude=./sys/*', '-c', '.'];
    const importArgs = ['import', ...changes.flatMap((c) => ['--change', c]), '--message', `swe-harness offline image, recipe ${recipe}`, '-', tag];
    try {
      await (await loadExeca())('tar', tarArgs, { buffer: { stdout: false } }).pipe('docker', importArgs);
    } catch (err) {
      const e = err as { stderr?: unknown; shortMessage?: string; code?: string };
      const why = firstLine(e.stderr) || e.shortMessage || errorMessage(err);
      if (ENGINE_DOWN.test(why)) throw engineError(why);
      throw new HarnessError('image', `tar | docker import failed: ${why}`);
    }
    const insp = await inspectImage(tag);
    if (!insp) throw new HarnessError('image', `docker import reported success but ${tag} does not exist`);
    await dropReplaced(oldId, insp.id, log);
    log(`built ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
    return toInfo(tag, insp, true);
  } finally {
    await removeRootfs(dir, log);
  }
}
