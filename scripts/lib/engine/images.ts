/**
 * Choosing the image a run uses: harness images are found by their labels
 * (python version, recipe hash, flavour); an image named by the CLI or the
 * task must exist, otherwise the preferred one or the newest is taken.
 */
import { DEFAULT_CONFIG, IMAGE_LABELS } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { defaultEngine, localEngine } from './docker.js';
import type { Engine, ImageRecord } from './engine.js';
import { streamImage } from './transfer.js';

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

/** Label with the pytest version inside the image (offline images). */
export const PYTEST_LABEL = 'swe-harness.pytest';

/** What the harness knows about an image, from the engine's record and its labels. */
export function toInfo(rec: ImageRecord, built = false): ImageInfo {
  const l = rec.labels;
  const flavour = l[IMAGE_LABELS.flavour];
  return {
    name: rec.name,
    id: rec.id,
    python: l[IMAGE_LABELS.python] || 'unknown',
    flavour: flavour === 'registry' || flavour === 'offline' ? flavour : 'unknown',
    recipe: l[IMAGE_LABELS.recipe] ?? '',
    pytest: l[PYTEST_LABEL] || null,
    built,
  };
}

/** Tagged images carrying the harness flavour label, newest first. */
export async function listHarnessImages(engine: Engine = defaultEngine()): Promise<ImageInfo[]> {
  // Only the harness's own tags: an image built FROM one inherits its labels (every snapshot
  // does), and must never become every run's default (a test's look-alike, a dataset row's image).
  const records = await engine.listImages(IMAGE_LABELS.flavour, DEFAULT_CONFIG.imageRepo);
  // RFC 3339 timestamps of one engine sort as strings.
  records.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  return records.map((r) => toInfo(r));
}

const resolveCache = new Map<string, Promise<ImageInfo>>();

/** Forget resolveImage's cached answers (buildImage does it itself). */
export function clearImageCache(): void {
  resolveCache.clear();
}

/**
 * The image a run uses. `requested` (CLI or task): it must exist. null: the
 * preferred (registry) image if present, else the newest harness image.
 * Answers are cached per process; one or two engine calls on a miss.
 */
export function resolveImage(requested: string | null, engine: Engine = defaultEngine()): Promise<ImageInfo> {
  const key = `${engine.label}\0${requested ?? '\0default'}`;
  let p = resolveCache.get(key);
  if (!p) {
    p = requested !== null ? resolveRequested(requested, engine) : resolveDefault(engine);
    resolveCache.set(key, p);
    p.catch(() => resolveCache.delete(key));
  }
  return p;
}

async function resolveRequested(name: string, engine: Engine): Promise<ImageInfo> {
  if (!name.trim()) throw new HarnessError('image', 'empty image name');
  const rec = await engine.inspectImage(name);
  if (!rec) throw new HarnessError('image', `image "${name}" not found; build it with npm run build-image`);
  return toInfo(rec);
}

async function resolveDefault(engine: Engine): Promise<ImageInfo> {
  const preferred = DEFAULT_CONFIG.preferredImage;
  const images = await listHarnessImages(engine);
  const pick = images.find((i) => i.name === preferred) ?? images.find((i) => i.flavour === 'offline') ?? images[0];
  if (pick) return pick;
  // An unlabelled image under the preferred name (e.g. tagged by hand) still counts.
  const rec = await engine.inspectImage(preferred);
  if (rec) return toInfo(rec);
  throw new HarnessError('image', 'no harness image; run npm run build-image');
}

/**
 * The image a run on the default engine uses, as its cache key names it: on
 * this machine's engine, where images are built (it is streamed to a remote
 * engine before the run: imageOnEngine); an image only the remote engine has
 * is taken from there.
 */
export async function resolveRunImage(requested: string | null): Promise<ImageInfo> {
  const engine = defaultEngine();
  if (engine.sharesHostFiles) return resolveImage(requested, engine);
  try {
    return await resolveImage(requested, localEngine());
  } catch (err) {
    if (err instanceof HarnessError && (err.code === 'image' || err.code === 'engine')) return resolveImage(requested, engine);
    throw err;
  }
}

const streams = new Map<string, Promise<ImageInfo>>();

/**
 * `info` (resolved on this machine's engine) present on `engine`: when that
 * engine lacks it, or holds another build under its name, it is streamed there
 * from this machine (docker save | docker load) — once per engine and image
 * however many runs ask, its progress lines going to `log`.
 * @throws HarnessError('engine') naming the engine when it went away, ('image') when the stream failed.
 */
export function imageOnEngine(info: ImageInfo, engine: Engine, opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<ImageInfo> {
  const key = `${engine.label}\0${info.name}\0${info.id}`;
  let p = streams.get(key);
  if (!p) {
    p = presentOrStreamed(info, engine, opts);
    streams.set(key, p);
    p.catch(() => streams.delete(key));
  }
  return p;
}

async function presentOrStreamed(info: ImageInfo, engine: Engine, opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<ImageInfo> {
  const there = await engine.inspectImage(info.name);
  if (there && (!info.id || there.id === info.id)) return { ...toInfo(there), built: info.built };
  const from = localEngine();
  if (from === engine) throw new HarnessError('image', `image "${info.name}" is not on engine ${engine.label}`);
  const log = opts.log ?? (() => {});
  log(`[image] ${info.name} is ${there ? 'another build' : 'missing'} on engine ${engine.label}: streaming it from the local engine (docker save | ${engine.name} load, at most ${opts.timeoutS} s)`);
  await streamImage(info.name, from, engine, { timeoutS: opts.timeoutS, log, signal: opts.signal });
  const rec = await engine.inspectImage(info.name);
  if (!rec) throw new HarnessError('image', `image ${info.name} was streamed to engine ${engine.label} but is not there`);
  return toInfo(rec);
}

/** Existing tagged image of a flavour built from this recipe, if any. */
export async function findBuilt(flavour: ImageFlavour, recipe: string): Promise<ImageInfo | null> {
  const images = await listHarnessImages();
  return images.find((i) => i.flavour === flavour && i.recipe === recipe) ?? null;
}

const pulls = new Map<string, Promise<ImageInfo>>();

/**
 * A prebuilt image by name on the default engine: there already, else pulled — once per image and engine per
 * process however many runs ask for it (a failed pull is not tried again), within `timeoutS`, its progress lines
 * going to `log` as they come.
 * @throws HarnessError('image') naming the image when it is not here and cannot be pulled.
 */
export function ensureImage(name: string, opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<ImageInfo> {
  // Per engine: runs on several engines at once each need the image where they run.
  const key = `${defaultEngine().label}\0${name}`;
  let p = pulls.get(key);
  if (!p) {
    p = presentOrPulled(name, opts);
    pulls.set(key, p);
    // A pull that failed fails the same way for the rest of a batch: kept, so N runs do not wait
    // out N pulls; an engine that did not answer is asked again.
    p.catch((err) => {
      if (!(err instanceof HarnessError && err.code === 'image')) pulls.delete(key);
    });
  }
  return p;
}

async function presentOrPulled(name: string, opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<ImageInfo> {
  if (!name.trim() || /\s/.test(name) || name.startsWith('-')) throw new HarnessError('image', `"${name}" is not an image name`);
  const here = await defaultEngine().inspectImage(name);
  if (here) return toInfo(here);
  const log = opts.log ?? (() => {});
  log(`pulling ${name} (at most ${opts.timeoutS} s)`);
  const r = await defaultEngine().pull(name, opts.timeoutS, { log: (line) => log(`[pull] ${line}`), signal: opts.signal });
  if (!r.ok) throw new HarnessError('image', `image ${name} is not here and could not be pulled: ${r.reason}`);
  const rec = await defaultEngine().inspectImage(name);
  if (!rec) throw new HarnessError('image', `docker pull ${name} reported success but the image is not there`);
  return toInfo(rec);
}
