/**
 * The engine seam: everything the harness asks of a container engine, as one
 * interface. The Docker CLI (docker-cli.ts) is today's implementation; a remote
 * engine or podman is another object with the same methods.
 */
import type { ContainerLimits, LogLimits } from '../core/config.js';

export interface CreateOptions {
  image: string;
  runId: string;
  limits: ContainerLimits;
  /** false: `--network none` for the container's whole life. */
  network: boolean;
  /** Read-only bind mounts, host path -> container path. */
  mounts?: Array<{ host: string; container: string }>;
  workdir?: string;
}

export interface Container {
  id: string;
  name: string;
  runId: string;
  /** Whether the container is still attached to the default bridge. */
  networked: boolean;
  /** The engine that made it: every later call about it goes there. */
  engine: Engine;
}

export interface ExecOptions {
  /** In-container limit, seconds: the command runs under `timeout -s KILL`. */
  timeoutS: number;
  /** Extra seconds the host waits before killing the client and mopping up itself. */
  backstopS: number;
  logs: LogLimits;
  /** Where the capped log goes (appended), or null for none. */
  logFile: string | null;
  /** Fed to the command's stdin: text (as UTF-8) or exact bytes. */
  input?: string | Uint8Array;
  cwd?: string;
  env?: Record<string, string>;
  /** User to run as (`docker exec -u`); default the image's (root). */
  user?: string;
  /** Aborting it (Ctrl-C) stops waiting at once; the caller removes the container. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number | null;
  timedOut: boolean;
  interrupted: boolean;
  durationS: number;
  /** End of the merged stdout+stderr (the last `tailWindowBytes`), as UTF-8 text. */
  output: string;
  /** The same bytes as they came, for output that must not be decoded (a diff of Latin-1 files). */
  outputBytes: Buffer;
  bytes: number;
  truncated: boolean;
  /** The engine client's own complaint, if the exec itself failed. */
  clientError: string | null;
  /** Set when the container or the engine went away during the command (an infrastructure failure). */
  lost: string | null;
}

/** A container carrying the harness label, as listed for cleanup. */
export interface LabelledContainer {
  id: string;
  runId: string;
  /** Pid and host of the harness process that started it (labels; '' when missing). */
  ownerPid: string;
  ownerHost: string;
}

/** An image as the engine describes it. */
export interface ImageRecord {
  /** `repository:tag` as asked for or listed. */
  name: string;
  /** Image id (`sha256:...`). */
  id: string;
  /** Creation time, RFC 3339 (sorts as a string within one engine). */
  created: string;
  labels: Record<string, string>;
  /** Bytes of the whole image, its base layers included (0 when not known). */
  size: number;
}

export interface CommitSpec {
  /** `repository:tag` of the new image (an existing tag moves to it). */
  tag: string;
  /** Labels set on the image (they also overwrite labels the container carries). */
  labels: Record<string, string>;
  /** Further Dockerfile instructions applied on commit (`ENTRYPOINT`, `CMD`, `WORKDIR`). */
  changes?: string[];
  timeoutS: number;
}

export interface BuildSpec {
  /** Dockerfile on this host; without `context` it copies nothing (no build context is sent). */
  dockerfile: string;
  /** Build context directory on this host, for a Dockerfile that COPYs files; none by default. */
  context?: string;
  tag: string;
  labels: Record<string, string>;
  log: (line: string) => void;
}

export interface ImportSpec {
  /** Root filesystem directory on this host. */
  rootfs: string;
  tag: string;
  /** Dockerfile instructions applied on import (`ENV`, `CMD`, `LABEL`, ...). */
  changes: string[];
  message: string;
}

export type PullResult = { ok: true } | { ok: false; reason: string };

export interface Engine {
  /** Short name for messages: the client program ("docker", "podman"). */
  readonly name: string;
  /** Which engine this is, as results record it: "local", a host URL or a docker context name. */
  readonly label: string;
  /** Whether the engine sees this machine's files, so a host path may be bind-mounted; false for any other engine. */
  readonly sharesHostFiles: boolean;
  /** Whether runs there keep and start from snapshots (commit); false on podman. */
  readonly snapshots: boolean;
  /** @throws HarnessError('engine') unless the engine answers. */
  check(): Promise<void>;

  /**
   * Start a labelled, limited container whose main process ends by itself
   * after `limits.ttlSeconds` (the dead-man's switch).
   * @throws HarnessError('image') when the image is missing, ('engine') when the engine is down.
   */
  create(opts: CreateOptions): Promise<Container>;
  /** Run argv in the container with a hard time limit that kills inside it. */
  exec(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult>;
  /** Copy a host file or directory to a path in the container (not into a tmpfs mount). */
  copyIn(c: Container, hostPath: string, containerPath: string): Promise<void>;
  /** Copy a file or directory out of the container to a host path. */
  copyOut(c: Container, containerPath: string, hostPath: string): Promise<void>;
  /** Take the container off the network for the rest of its life. */
  disconnectNetwork(c: Container): Promise<void>;
  /** Kill every process in the container but its main one, even when its pids limit is full. */
  killAll(c: Container): Promise<void>;
  /** Remove a container (by id or name) whatever its state; never throws. */
  remove(idOrName: string): Promise<void>;
  /** Ids of containers with the harness label (all, or one run's). */
  listContainers(runId?: string): Promise<string[]>;
  /** Harness containers with their owner labels. */
  describeContainers(): Promise<LabelledContainer[]>;

  /** One image, or null when the engine has none of that name. */
  inspectImage(name: string): Promise<ImageRecord | null>;
  /** Tagged images carrying a label (any value); only those named `repo:TAG` when `repo` is given (checked before inspecting each). */
  listImages(label: string, repo?: string): Promise<ImageRecord[]>;
  /** Images carrying a label that no tag names any more (`name` is their id): what a re-tag or a lost race left. */
  listUntagged(label: string): Promise<ImageRecord[]>;
  /** @throws HarnessError('image') when the build fails. */
  build(spec: BuildSpec): Promise<void>;
  /** Make an image of a host root filesystem. @throws HarnessError('image') */
  importRootfs(spec: ImportSpec): Promise<void>;
  /** Pull an image within a time limit; with `log`, the engine's progress lines go there as they come. */
  pull(name: string, timeoutS: number, opts?: { log?: (line: string) => void; signal?: AbortSignal }): Promise<PullResult>;
  /**
   * Keep a container's file system (not its tmpfs mounts, not its processes) as an image.
   * @returns the new image's id. @throws HarnessError('internal') when the engine refuses.
   */
  commit(c: Container, spec: CommitSpec): Promise<string>;
  /** Remove an image; the engine's reason when it refused, null when removed. */
  removeImage(id: string): Promise<string | null>;
}

/** Container names derive from the run id, so a create that raced a Ctrl-C can still be removed by name. */
export function containerName(runId: string): string {
  return `swe-harness-${runId}`;
}

/** Whether image `name` (`repo:tag`) is under `repo`; any name when no repo is asked for. */
export function inRepo(name: string, repo?: string): boolean {
  return repo === undefined || name.startsWith(`${repo}:`);
}
