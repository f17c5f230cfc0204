/**
 * The container a task runs in, shared by run-one and the agent: resolve the
 * image and the repository, start a labelled, limited container with the
 * repository mounted (local, on this machine's engine), copied in over the
 * engine's API (local, on any other engine: no host path is ever mounted
 * there) or the network on (remote), and remove it.
 */
import type { HarnessConfig, StageTimeouts } from '../core/config.js';
import { createContainer, containerName, defaultEngine, removeContainer } from '../engine/docker.js';
import { ensureImage, imageOnEngine, resolveRunImage, type ImageInfo } from '../engine/images.js';
import { resolveRepo, type RepoSource } from '../source/repo.js';
import { SOURCE_COPY, SOURCE_MOUNT, gitDirOf } from '../source/clone.js';
import type { ImageSource } from '../source/in-image.js';
import type { StageEnv } from './stages.js';
import type { Task } from '../core/types.js';
import type { Container } from '../engine/engine.js';

export interface Prepared {
  image: ImageInfo;
  /** Where the repository comes from; `image`: it is already in the (prebuilt) image. */
  source: RepoSource | ImageSource;
  /** What the clone stage clones from, inside the container: a URL, SOURCE_MOUNT (bind mount) or SOURCE_COPY (sent in). */
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
  const engine = defaultEngine();
  const [image, source] = await Promise.all([
    resolveRunImage(requestedImage ?? task.image ?? null).then((info) =>
      // An engine elsewhere gets the image from here when it lacks it.
      engine.sharesHostFiles ? info : imageOnEngine(info, engine, { timeoutS: cfg.pullTimeoutSeconds, log, signal }),
    ),
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
    cloneSource: source.kind === 'local' ? (engine.sharesHostFiles ? SOURCE_MOUNT : SOURCE_COPY) : source.url,
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
  opts: { cfg: HarnessConfig; timeouts: StageTimeouts; runId: string; runDir: string | null; signal?: AbortSignal; vars?: Record<string, string>; extraTtlS?: number; log?: (line: string) => void },
): Promise<StageEnv> {
  const ttlSeconds = Math.max(opts.cfg.container.ttlSeconds, minimumTtl(opts.timeouts) + Math.ceil(opts.extraTtlS ?? 0));
  const cfg: HarnessConfig = { ...opts.cfg, timeouts: opts.timeouts, container: { ...opts.cfg.container, ttlSeconds } };
  const container = await createContainer({
    image: prep.image.name,
    runId: opts.runId,
    limits: cfg.container,
    network: prep.network,
    // A bind mount only on this machine's own engine (another engine refuses one: it cannot see the path).
    mounts: prep.source.kind === 'local' && prep.cloneSource === SOURCE_MOUNT ? [{ host: prep.source.hostPath, container: SOURCE_MOUNT }] : [],
  });
  if (prep.source.kind === 'local' && prep.cloneSource === SOURCE_COPY) await sendRepository(container, prep.source.hostPath, opts.log);
  return { container, cfg, logDir: opts.runDir, signal: opts.signal, vars: opts.vars };
}

/**
 * A local repository into a container on an engine that cannot see it: its git
 * directory goes in over the engine's API (`docker cp`, a tar stream), to
 * SOURCE_COPY, which the clone stage clones from and removes.
 * @throws HarnessError when the copy fails (an infrastructure error, not a verdict).
 */
async function sendRepository(container: Container, hostPath: string, log?: (line: string) => void): Promise<void> {
  const started = performance.now();
  await container.engine.copyIn(container, gitDirOf(hostPath), SOURCE_COPY);
  log?.(`[send] repository copied to engine ${container.engine.label} (${((performance.now() - started) / 1000).toFixed(2)}s)`);
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
