/**
 * Typed defaults for every component, in one place. Entry scripts override
 * fields from CLI flags, task rows override the timeouts; nothing else holds
 * a magic number.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (scripts/lib/ is two levels down). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface StageTimeouts {
  /** Seconds for `git clone` + checkout. Remote clones usually need more (task rows override). */
  clone: number;
  /** Seconds for the task's install command. */
  install: number;
  /** Seconds for one pytest run (before and after a patch each get this much). */
  test: number;
}

export interface ContainerLimits {
  /** Memory limit passed to `docker run --memory` (swap is disabled with the same value). */
  memory: string;
  /** Max processes inside the container (`--pids-limit`): stops fork bombs. */
  pids: number;
  /** CPUs (`--cpus`). */
  cpus: number;
  /** Dead-man's switch: the container's PID 1 is `sleep ttl`, so it dies by itself if the harness crashes. */
  ttlSeconds: number;
  /**
   * Size cap of each scratch tmpfs (/tmp, /var/tmp), e.g. '1g': a test cannot
   * fill the host disk through them, and their pages count against `memory`.
   */
  tmpfsSize: string;
}

export interface PatchLimits {
  /** Largest accepted patch in bytes. */
  maxBytes: number;
  /** Most files one patch may touch. */
  maxFiles: number;
  /** Most hunks over all files. */
  maxHunks: number;
}

export interface LogLimits {
  /** Bytes of each stage's output kept in its log file; the rest is counted, not stored. */
  maxLogBytes: number;
  /** Bytes of the end of each stage's output kept in memory for parsing (pytest summary sits at the end). */
  tailWindowBytes: number;
  /** Lines of output in the result's `tail` fields. */
  tailLines: number;
}

/** Snapshots of the installed environment (run/snapshot.ts): reused by every later run with the same key. */
export interface SnapshotSettings {
  /** false (`--no-snapshot`): every run clones and installs from scratch, and keeps nothing. */
  enabled: boolean;
  /** true (`--refresh-snapshot`): build the snapshot again (once per process) even when one exists. */
  refresh: boolean;
  /** Most bytes the snapshots' own layers may take together; least recently used ones go first. */
  capBytes: number;
  /** Image repository snapshots are tagged under (`<repo>:<key>`). */
  repo: string;
  /** Host directory of last-use marks (one file per snapshot, its mtime) and build locks. */
  dir: string;
}

export interface HarnessConfig {
  timeouts: StageTimeouts;
  container: ContainerLimits;
  patch: PatchLimits;
  logs: LogLimits;
  /** Extra seconds the host waits past an in-container timeout before killing everything itself. */
  backstopSeconds: number;
  /** Where run directories go. */
  runsDir: string;
  /** Where shipped fixture repositories are built (git-ignored). */
  reposDir: string;
  /** Image tried first when neither the CLI nor the task names one (the registry build). */
  preferredImage: string;
  /** Repository of harness images; offline builds are tagged `<imageRepo>:py<major.minor>`. */
  imageRepo: string;
  /** Path of the repository inside the container. */
  workdir: string;
  /** Directory of host-side git mirrors (`owner__name.git`), filled on first use; null: clone from the remote. */
  repoCache: string | null;
  /** Local checkouts or mirrors per `owner/name`, used instead of GitHub. */
  repoPaths: Record<string, string>;
  /** Seconds that filling one mirror may take (a first clone of a large repository). */
  mirrorTimeoutSeconds: number;
  /** Seconds one pull of a prebuilt instance image may take (SWE-bench's are 1-10 GB). */
  pullTimeoutSeconds: number;
  snapshots: SnapshotSettings;
}

export const DEFAULT_CONFIG: HarnessConfig = {
  timeouts: { clone: 5, install: 20, test: 5 },
  container: { memory: '2g', pids: 1024, cpus: 2, ttlSeconds: 3600, tmpfsSize: '1g' },
  patch: { maxBytes: 512 * 1024, maxFiles: 50, maxHunks: 400 },
  logs: { maxLogBytes: 2 * 1024 * 1024, tailWindowBytes: 4 * 1024 * 1024, tailLines: 30 },
  backstopSeconds: 5,
  runsDir: path.join(ROOT, 'sandbox', 'runs'),
  reposDir: path.join(ROOT, 'sandbox', 'repos'),
  preferredImage: 'swebench-lite:py3.10',
  imageRepo: 'swebench-lite',
  workdir: '/workspace/project',
  repoCache: null,
  repoPaths: {},
  mirrorTimeoutSeconds: 1800,
  pullTimeoutSeconds: 1800,
  snapshots: {
    // SWE_HARNESS_SNAPSHOTS=off is --no-snapshot for every run of the process (the test suite sets it).
    enabled: process.env.SWE_HARNESS_SNAPSHOTS !== 'off',
    refresh: false,
    capBytes: 4 * 1024 ** 3,
    repo: 'swe-harness-snapshot',
    dir: path.join(ROOT, 'sandbox', 'snapshots'),
  },
};

/** Defaults of the runner agent (scripts/lib/agent/); run-one flags override some of them. */
export interface AgentLimits {
  /** Model calls before the run stops with `max_turns`. */
  maxTurns: number;
  /** Wall-clock seconds for the agent loop (model calls and tools) before `time_limit`. */
  timeLimitS: number;
  /** Total tokens (summed `usage.total_tokens`) before `token_limit`; null: no limit. */
  maxTokensTotal: number | null;
  /** The same action this many times in a row draws one warning; the next time the run stops (`repeated_action`). */
  repeatLimit: number;
  /** Seconds for one `run_command` / file tool inside the container. */
  commandTimeoutS: number;
  /** User the read-only tools run as: the repository (owned by root) is read-only to it. */
  commandUser: string;
  /** Characters of one observation shown to the model; the rest is cut with a note. */
  observationChars: number;
  /** Lines of a stage's output (pytest, install) kept for the model. */
  observationLines: number;
  /** Most entries `list_files` returns. */
  listMaxEntries: number;
  /** Retries of one model call on 429, 5xx and connection errors. */
  maxRetries: number;
  /** First backoff wait in seconds when the server gives no retry-after; doubles per retry. */
  backoffBaseS: number;
  /** Longest backoff wait in seconds. */
  backoffCapS: number;
  /** Longest wait honoured from a retry-after header, in seconds. */
  retryAfterCapS: number;
  /** Seconds one model request may take. */
  requestTimeoutS: number;
  /** Seconds for the best-effort POST to --release-url. */
  releaseTimeoutS: number;
}

export const AGENT_DEFAULTS: AgentLimits = {
  maxTurns: 30,
  timeLimitS: 1800,
  maxTokensTotal: null,
  repeatLimit: 3,
  commandTimeoutS: 10,
  commandUser: 'nobody',
  observationChars: 10_000,
  observationLines: 200,
  listMaxEntries: 400,
  maxRetries: 6,
  backoffBaseS: 2,
  backoffCapS: 60,
  retryAfterCapS: 120,
  requestTimeoutS: 600,
  releaseTimeoutS: 5,
};

/**
 * Longest stage limit accepted anywhere (a week). Node's timers overflow past
 * 2^31-1 ms (~24.8 days) and would fire at once: a typo must not do that.
 */
export const MAX_STAGE_SECONDS = 7 * 24 * 3600;

/** A stage limit: a number of seconds in (0, MAX_STAGE_SECONDS]. */
export function validSeconds(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_STAGE_SECONDS;
}

/** Label every harness container carries; its value is the run id. */
export const RUN_LABEL = 'swe-harness.run';
/** Labels naming the harness process that started a container (cleanup spares live owners). */
export const OWNER_LABELS = { pid: 'swe-harness.pid', host: 'swe-harness.host' } as const;
/** Labels on snapshot images: what they hold, for the harness and for anyone running `docker images`. */
export const SNAPSHOT_LABELS = {
  key: 'swe-harness.snapshot',
  base: 'swe-harness.snapshot.base-image',
  baseName: 'swe-harness.snapshot.base-name',
  repo: 'swe-harness.snapshot.repo',
  commit: 'swe-harness.snapshot.commit',
  task: 'swe-harness.snapshot.task',
  install: 'swe-harness.snapshot.install',
  workdir: 'swe-harness.snapshot.workdir',
  about: 'swe-harness.snapshot.about',
  /** The image repository it was tagged in: an untagged one still says whose it is. */
  store: 'swe-harness.snapshot.store',
} as const;
/** Labels on harness images. */
export const IMAGE_LABELS = {
  python: 'swe-harness.python',
  recipe: 'swe-harness.recipe',
  flavour: 'swe-harness.flavour', // "registry" | "offline"
} as const;
