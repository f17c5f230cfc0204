/**
 * Images that datasets describe by a Dockerfile (SWE-Factory / R2E-Gym rows
 * carry `docker_image` plus the `dockerfile` that makes it): used as they are
 * when the engine has them, built from the Dockerfile otherwise — once per
 * image and process, however many runs ask at the same time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_LABELS } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { defaultEngine } from './docker.js';

/** Label on images the harness built from a dataset's Dockerfile (value: the instance that asked first). */
export const DOCKERFILE_IMAGE_LABEL = 'swe-harness.dockerfile-of';

/**
 * Labels that keep an image built FROM a harness image from passing for one:
 * labels are inherited, and the newest image labelled with an offline flavour
 * would become every plain run's default image (images.ts resolveDefault).
 */
export const NOT_A_HARNESS_IMAGE: Readonly<Record<string, string>> = { [IMAGE_LABELS.flavour]: '', [IMAGE_LABELS.recipe]: '' };

export interface DockerfileImage {
  /** `repository:tag` the image has (or gets). */
  name: string;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Build context directory; null: none (the Dockerfile may only fetch what it needs itself). */
  context?: string | null;
  /** Who asked (an instance id), for the label and messages. */
  owner: string;
  /** Progress lines (the build's output). */
  log?: (line: string) => void;
}

const inFlight = new Map<string, Promise<{ built: boolean }>>();

/**
 * Make sure the engine has `spec.name`: nothing to do when it exists, else a
 * `docker build` of the Dockerfile with its output as progress. Concurrent
 * callers for one name share one build; a failed build is forgotten, so a
 * later call tries again.
 * @throws HarnessError('image') when the build fails, ('engine') when the engine is down.
 */
export function ensureDockerfileImage(spec: DockerfileImage): Promise<{ built: boolean }> {
  let p = inFlight.get(spec.name);
  if (!p) {
    p = buildIfMissing(spec);
    inFlight.set(spec.name, p);
    // A finished check is not cached: the image may be removed between runs of a long batch.
    p.finally(() => inFlight.delete(spec.name)).catch(() => {});
  }
  return p;
}

async function buildIfMissing(spec: DockerfileImage): Promise<{ built: boolean }> {
  const engine = defaultEngine();
  if (await engine.inspectImage(spec.name)) return { built: false };
  if (!spec.dockerfile.trim()) throw new HarnessError('image', `image "${spec.name}" is missing and ${spec.owner} has an empty dockerfile`);
  const log = spec.log ?? (() => {});
  log(`image ${spec.name} not present: building it from the dockerfile of ${spec.owner}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-dockerfile-'));
  try {
    const file = path.join(dir, 'Dockerfile');
    fs.writeFileSync(file, spec.dockerfile);
    await engine.build({
      dockerfile: file,
      context: spec.context ?? undefined,
      tag: spec.name,
      labels: { ...NOT_A_HARNESS_IMAGE, [DOCKERFILE_IMAGE_LABEL]: spec.owner },
      log: (line) => log(`[build ${spec.name}] ${line}`),
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log(`image ${spec.name} built`);
  return { built: true };
}
