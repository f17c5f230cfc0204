/**
 * Building harness images from the recipes under docker/: the registry one
 * (docker/Dockerfile, needs Docker Hub and PyPI) or the offline one
 * (docker/offline/: debootstrap from a Debian mirror, then imported). Every
 * image carries IMAGE_LABELS; a build is skipped when an image of that flavour
 * with the current recipe hash exists.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG, IMAGE_LABELS, ROOT } from '../core/config.js';
import { HarnessError, errorMessage } from '../core/errors.js';
import { failureLine, runLogged } from '../core/process.js';
import { defaultEngine } from './docker.js';
import { PYTEST_LABEL, clearImageCache, findBuilt, toInfo, type ImageFlavour, type ImageInfo } from './images.js';
import { inRootfs, makeRootfsDir, pickBuildParent, removeRootfs, sweepStaleRootfs } from './rootfs.js';

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

type Log = (line: string) => void;

const DOCKER_DIR = path.join(ROOT, 'docker');
const DOCKERFILE = path.join(DOCKER_DIR, 'Dockerfile');
const OFFLINE_DIR = path.join(DOCKER_DIR, 'offline');
/** debootstrap's per-package lines: too many to show. */
const DEBOOTSTRAP_PER_PACKAGE = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (?!the |required |base )[a-z0-9]/;

// ---------------------------------------------------------------------------
// Recipes

function readRecipe(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new HarnessError('image', `${what} missing: ${file} (${errorMessage(err)})`);
  }
}

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
  const text = readRecipe(DOCKERFILE, 'registry recipe');
  const base = /^\s*FROM\s+(\S+)/im.exec(text)?.[1];
  const python = base ? /^python:(\d+\.\d+)/.exec(base)?.[1] : undefined;
  if (!base || !python) throw new HarnessError('image', `${DOCKERFILE}: expected a "FROM python:X.Y..." line`);
  return { base, python };
}

/** `--change` instructions of the offline image (docker/offline/image.conf). */
function offlineChanges(): string[] {
  return readRecipe(path.join(OFFLINE_DIR, 'image.conf'), 'offline recipe')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

// ---------------------------------------------------------------------------
// Building

/**
 * Build (or keep) a harness image.
 * @throws HarnessError('image') when it cannot be built, ('engine') when the engine does not answer.
 */
export async function buildImage(opts: BuildImageOptions = {}): Promise<ImageInfo> {
  const log = opts.log ?? (() => {});
  const force = opts.force ?? false;
  const flavour = opts.flavour ?? 'auto';
  if (!['auto', 'registry', 'offline'].includes(flavour)) {
    throw new HarnessError('usage', `unknown image flavour "${flavour}" (auto, registry or offline)`);
  }
  await defaultEngine().check();
  clearImageCache();
  try {
    if (flavour === 'offline') return await buildOffline(force, log);
    const kept = force ? null : await findBuilt('registry', recipeHash('registry'));
    if (kept) return kept;
    const base = await getRegistryBase(opts.pullTimeoutSeconds ?? 20, log);
    if (base.ok) return await buildRegistry(log);
    if (flavour === 'registry') throw new HarnessError('image', `registry build impossible: ${base.reason}`);
    log(`registry image unavailable (${base.reason}); using the offline recipe (docker/offline/) instead`);
    return await buildOffline(force, log);
  } finally {
    clearImageCache();
  }
}

/** Is the registry base image here, or can it be pulled in time? */
async function getRegistryBase(timeoutSeconds: number, log: Log): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { base } = registryBase();
  if (await defaultEngine().inspectImage(base)) return { ok: true };
  log(`pulling ${base} (at most ${timeoutSeconds} s)`);
  return defaultEngine().pull(base, timeoutSeconds);
}

/** Id of the image a tag points at now (to drop it once the tag moves), or null. */
async function currentId(tag: string): Promise<string | null> {
  return (await defaultEngine().inspectImage(tag))?.id ?? null;
}

/** The image just made under `tag`; drops the one the tag used to name, if nothing else uses it. */
async function finishBuild(tag: string, oldId: string | null, log: Log): Promise<ImageInfo> {
  const rec = await defaultEngine().inspectImage(tag);
  if (!rec) throw new HarnessError('image', `the build reported success but ${tag} does not exist`);
  if (oldId && oldId !== rec.id) {
    const short = oldId.replace(/^sha256:/, '').slice(0, 12);
    const refused = await defaultEngine().removeImage(oldId);
    log(refused === null ? `removed the replaced image ${short}` : `kept the replaced image ${short} (${refused}); docker image prune removes it later`);
  }
  return toInfo(rec, true);
}

async function buildRegistry(log: Log): Promise<ImageInfo> {
  const { python } = registryBase();
  const recipe = recipeHash('registry');
  const tag = `${DEFAULT_CONFIG.imageRepo}:py${python}`;
  const oldId = await currentId(tag);
  log(`building ${tag} from docker/Dockerfile (recipe ${recipe})`);
  const labels = { [IMAGE_LABELS.python]: python, [IMAGE_LABELS.recipe]: recipe, [IMAGE_LABELS.flavour]: 'registry' };
  await defaultEngine().build({ dockerfile: DOCKERFILE, tag, labels, log });
  return finishBuild(tag, oldId, log);
}

/** PATH with the sbin directories debootstrap and chroot live in. */
function rootEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const dirs = (env.PATH ?? '').split(':').filter(Boolean);
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  env.PATH = dirs.join(':');
  return env;
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

/** @throws HarnessError('image') unless this process can run debootstrap. */
function offlinePrerequisites(): NodeJS.ProcessEnv {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new HarnessError(
      'image',
      'the offline image build runs debootstrap, which needs root: run npm run build-image as root (e.g. sudo -E npm run build-image)',
    );
  }
  const env = rootEnv();
  if (!hasDebootstrap(env)) throw new HarnessError('image', 'debootstrap is not installed (apt-get install debootstrap, or run npm run setup)');
  return env;
}

async function buildOffline(force: boolean, log: Log): Promise<ImageInfo> {
  const recipe = recipeHash('offline');
  const kept = force ? null : await findBuilt('offline', recipe);
  if (kept) return kept;
  const env = offlinePrerequisites();
  const parent = pickBuildParent();
  await sweepStaleRootfs(parent, log);
  const dir = makeRootfsDir(parent);
  const started = Date.now();
  try {
    await debootstrap(dir, env, log);
    const info = await importOffline(dir, recipe, env, log);
    log(`built ${info.name} in ${Math.round((Date.now() - started) / 1000)} s`);
    return info;
  } finally {
    await removeRootfs(dir, log);
  }
}

async function debootstrap(dir: string, env: NodeJS.ProcessEnv, log: Log): Promise<void> {
  log(`building the offline rootfs in ${dir} (debootstrap from ${env.DEBIAN_MIRROR || 'http://deb.debian.org/debian'}; a few minutes)`);
  const script = path.join(OFFLINE_DIR, 'build-rootfs.sh');
  const r = await runLogged('bash', [script, dir], { env }, log, (l) => !DEBOOTSTRAP_PER_PACKAGE.test(l));
  if (!r.ok) throw new HarnessError('image', `offline rootfs build failed (exit ${r.exitCode}): ${failureLine(r.tail)}`);
}

/** Import the built rootfs, tagged and labelled with the Python and pytest really inside it. */
async function importOffline(dir: string, recipe: string, env: NodeJS.ProcessEnv, log: Log): Promise<ImageInfo> {
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
  await defaultEngine().importRootfs({ rootfs: dir, tag, changes, message: `swe-harness offline image, recipe ${recipe}` });
  return finishBuild(tag, oldId, log);
}
