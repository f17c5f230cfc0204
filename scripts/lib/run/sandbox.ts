/**
 * The container a task runs in, shared by run-one and the agent: resolve the
 * image and the repository, start a labelled, limited container with the
 * repository mounted (local) or the network on (remote), and remove it.
 */
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { createContainer, containerName, removeContainer } from '../engine/docker.js';
import { ensureImage, resolveImage, type ImageInfo } from '../engine/images.js';
import { resolveRepo, type RepoSource } from '../source/repo.js';
import { SOURCE_MOUNT } from '../source/clone.js';
import type { ImageSource } from '../source/in-image.js';
import type { StageEnv } from './stages.js';
import type { Task } from '../core/types.js';

export interface Prepared {
  image: ImageInfo;
  /** Where the repository comes from; `image`: it is already in the (prebuilt) image. */
  source: RepoSource | ImageSource;
  /** What the clone stage clones from, inside the container. */
  cloneSource: string;
  /** Remote clone or an install that asked for it: the container starts on the bridge network. */
  network: boolean;
}

/**
 * Resolve image and repository (in parallel: both are on every run's path).
 * @throws HarnessError('image') for a missing image, ('usage') for a bad repo.
 */
export async function prepare(
  task: Task,
  cfg: HarnessConfig,
  requestedImage: string | null,
  log?: (line: string) => void,
  signal?: AbortSignal,
): Promise<Prepared> {
  const [image, source] = await Promise.all([
    resolveImage(requestedImage ?? task.image ?? null),
    resolveRepo(task.repo, {
      reposDir: cfg.reposDir,
      repoCache: cfg.repoCache,
      repoPaths: cfg.repoPaths,
      ref: task.ref,
      mirrorTimeoutS: cfg.mirrorTimeoutSeconds,
      log,
      signal,
    }),
  ]);
  return {
    image,
    source,
    cloneSource: source.kind === 'local' ? SOURCE_MOUNT : source.url,
    network: source.kind === 'remote' || task.install_network,
  };
}

/**
 * A prebuilt instance image (the repository already in it at `workdir`): the
 * image is pulled when it is not here, nothing else is resolved, and the
 * container never needs the network.
 * @throws HarnessError('image') naming the image when it is not here and cannot be pulled.
 */
export async function preparePrebuilt(
  image: string,
  workdir: string,
  cfg: HarnessConfig,
  log?: (line: string) => void,
  signal?: AbortSignal,
): Promise<Prepared> {
  const info = await ensureImage(image, { timeoutS: cfg.pullTimeoutSeconds, log, signal });
  return { image: info, source: { kind: 'image', workdir }, cloneSource: '', network: false };
}

/**
 * Start the run's container; the returned env is what every stage takes. Its
 * stages read their limits from it: the run's effective timeouts, and a
 * dead-man's switch that outlives them all (plus `extraTtlS`, the agent's time).
 */
export async function startContainer(
  prep: Prepared,
  opts: { cfg: HarnessConfig; timeouts: StageTimeouts; runId: string; runDir: string | null; signal?: AbortSignal; vars?: Record<string, string>; extraTtlS?: number },
): Promise<StageEnv> {
  const ttlSeconds = Math.max(opts.cfg.container.ttlSeconds, minimumTtl(opts.timeouts) + Math.ceil(opts.extraTtlS ?? 0));
  const cfg: HarnessConfig = { ...opts.cfg, timeouts: opts.timeouts, container: { ...opts.cfg.container, ttlSeconds } };
  const container = await createContainer({
    image: prep.image.name,
    runId: opts.runId,
    limits: cfg.container,
    network: prep.network,
    mounts: prep.source.kind === 'local' ? [{ host: prep.source.hostPath, container: SOURCE_MOUNT }] : [],
  });
  return { container, cfg, logDir: opts.runDir, signal: opts.signal, vars: opts.vars };
}

/**
 * Seconds a run's container must live at least: every stage at its limit plus
 * a margin. The dead-man's switch must never end a run that is within its limits.
 */
export function minimumTtl(t: StageTimeouts): number {
  // clone + install + tests before/after + two patch applications (each under the test limit)
  return Math.ceil(t.clone + t.install + 4 * t.test + 300);
}

/** Remove the run's container by name: also right when `docker run` raced a Ctrl-C. Never throws. */
export function stopContainer(runId: string): Promise<void> {
  return removeContainer(containerName(runId));
}
