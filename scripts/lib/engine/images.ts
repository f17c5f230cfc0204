/**
 * Choosing the image a run uses: harness images are found by their labels
 * (python version, recipe hash, flavour); an image named by the CLI or the
 * task must exist, otherwise the preferred one or the newest is taken.
 */
import { DEFAULT_CONFIG, IMAGE_LABELS } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { defaultEngine } from './docker.js';
import type { ImageRecord } from './engine.js';

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
export async function listHarnessImages(): Promise<ImageInfo[]> {
  const records = await defaultEngine().listImages(IMAGE_LABELS.flavour);
  // RFC 3339 timestamps of one engine sort as strings.
  records.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  // Only the harness's own tags: an image built FROM one inherits its labels, and must
  // never become every run's default (a test's look-alike, a dataset row's image).
  return records.map((r) => toInfo(r)).filter((i) => i.name.startsWith(`${DEFAULT_CONFIG.imageRepo}:`));
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
  const rec = await defaultEngine().inspectImage(name);
  if (!rec) throw new HarnessError('image', `image "${name}" not found; build it with npm run build-image`);
  return toInfo(rec);
}

async function resolveDefault(): Promise<ImageInfo> {
  const preferred = DEFAULT_CONFIG.preferredImage;
  const images = await listHarnessImages();
  const pick = images.find((i) => i.name === preferred) ?? images.find((i) => i.flavour === 'offline') ?? images[0];
  if (pick) return pick;
  // An unlabelled image under the preferred name (e.g. tagged by hand) still counts.
  const rec = await defaultEngine().inspectImage(preferred);
  if (rec) return toInfo(rec);
  throw new HarnessError('image', 'no harness image; run npm run build-image');
}

/** Existing tagged image of a flavour built from this recipe, if any. */
export async function findBuilt(flavour: ImageFlavour, recipe: string): Promise<ImageInfo | null> {
  const images = await listHarnessImages();
  return images.find((i) => i.flavour === flavour && i.recipe === recipe) ?? null;
}

const pulls = new Map<string, Promise<ImageInfo>>();

/**
 * A prebuilt image by name: the local one, else pulled — once per image per
 * process however many runs ask for it (a failed pull is not tried again), within `timeoutS`, its progress lines
 * going to `log` as they come.
 * @throws HarnessError('image') naming the image when it is not here and cannot be pulled.
 */
export function ensureImage(name: string, opts: { timeoutS: number; log?: (line: string) => void; signal?: AbortSignal }): Promise<ImageInfo> {
  let p = pulls.get(name);
  if (!p) {
    p = presentOrPulled(name, opts);
    pulls.set(name, p);
    // A pull that failed fails the same way for the rest of a batch: kept, so N runs do not wait
    // out N pulls; an engine that did not answer is asked again.
    p.catch((err) => {
      if (!(err instanceof HarnessError && err.code === 'image')) pulls.delete(name);
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
