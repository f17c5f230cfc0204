/**
 * The snapshot store: images of a container right after its install, tagged
 * `<repo>:<key>` and labelled with what they hold. Last use is a file's mtime
 * on the host (Docker keeps no such time), and a size cap evicts the least
 * recently used. What goes into a key and when one is taken is run/snapshot.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG, SNAPSHOT_LABELS, type SnapshotSettings } from '../core/config.js';
import { defaultEngine } from './docker.js';
import type { Container, ImageRecord } from './engine.js';

/** Seconds a commit may take (the install's files are written into a layer). */
const COMMIT_TIMEOUT_S = 600;

export interface Snapshot {
  /** `repository:tag`; the image id for an untagged one. */
  name: string;
  id: string;
  key: string;
  labels: Record<string, string>;
  /** Bytes of the snapshot's own layer (its size less its base image's, when the base is here). */
  bytes: number;
  /** Last use (ms since the epoch): the mark's mtime, else the image's creation. */
  usedMs: number;
  /** The base image it was made from is gone or was rebuilt under its name: it will not be used again. */
  stale: boolean;
  /**
   * No tag names it any more (a refresh re-tagged its key while a container
   * used it, or two checkouts committed the same key): never used again either.
   * Its `name` is its id.
   */
  untagged: boolean;
}

export function snapshotName(s: SnapshotSettings, key: string): string {
  return `${s.repo}:${key}`;
}

function markFile(s: SnapshotSettings, key: string): string {
  return path.join(s.dir, `${key}.used`);
}

/** Record a use now (the LRU order). Never throws: a mark that cannot be written only costs its place in the order. */
export function touchSnapshot(s: SnapshotSettings, key: string): void {
  try {
    fs.mkdirSync(s.dir, { recursive: true });
    const f = markFile(s, key);
    const now = new Date();
    try {
      fs.utimesSync(f, now, now);
    } catch {
      fs.writeFileSync(f, '');
    }
  } catch {
    /* best effort */
  }
}

/** The snapshot of `key` when it exists and was made from the base image `baseId`; null otherwise. */
export async function findSnapshot(s: SnapshotSettings, key: string, baseId: string): Promise<ImageRecord | null> {
  const rec = await defaultEngine().inspectImage(snapshotName(s, key));
  if (!rec || rec.labels[SNAPSHOT_LABELS.key] !== key) return null;
  // The key holds the base image's id already; the label says it again for anyone looking.
  if (rec.labels[SNAPSHOT_LABELS.base] !== baseId) return null;
  return rec;
}

/**
 * Commit the container as the snapshot of `key`. The container's own labels
 * (run id, owner) are blanked, and the image starts a shell when run by hand;
 * the harness always gives its own entrypoint, `--init` and limits.
 * @returns the image id. @throws HarnessError('internal') when the commit fails.
 */
export async function commitSnapshot(c: Container, s: SnapshotSettings, key: string, labels: Record<string, string>, blank: string[], workdir: string): Promise<string> {
  const all: Record<string, string> = {};
  for (const l of blank) all[l] = '';
  Object.assign(all, labels, { [SNAPSHOT_LABELS.key]: key, [SNAPSHOT_LABELS.store]: s.repo });
  const id = await defaultEngine().commit(c, {
    tag: snapshotName(s, key),
    labels: all,
    changes: ['ENTRYPOINT ["bash"]', 'CMD ["-i"]', `WORKDIR ${workdir}`],
    timeoutS: COMMIT_TIMEOUT_S,
  });
  touchSnapshot(s, key);
  return id;
}

/**
 * Every snapshot under the settings' repository, least recently used first,
 * the untagged ones of that repository included (by their store label; one
 * made before that label counts as the default repository's).
 */
export async function listSnapshots(s: SnapshotSettings): Promise<Snapshot[]> {
  const engine = defaultEngine();
  const [tagged, all] = await Promise.all([engine.listImages(SNAPSHOT_LABELS.key, s.repo), engine.listUntagged(SNAPSHOT_LABELS.key)]);
  const untagged = all.filter((r) => (r.labels[SNAPSHOT_LABELS.store] || DEFAULT_CONFIG.snapshots.repo) === s.repo);
  const look = memo((ref: string) => engine.inspectImage(ref).catch(() => null));
  const out = await Promise.all(
    [...tagged.map((r) => ({ r, untagged: false })), ...untagged.map((r) => ({ r, untagged: true }))].map(async ({ r, untagged }): Promise<Snapshot> => {
      const l = r.labels;
      const key = l[SNAPSHOT_LABELS.key] ?? r.name.slice(s.repo.length + 1);
      let usedMs = Date.parse(r.created) || 0;
      try {
        if (!untagged) usedMs = fs.statSync(markFile(s, key)).mtimeMs;
      } catch {
        /* never marked: its creation */
      }
      // Its own layer: the base it was made from stays on the engine (by id) while the snapshot is there, even once its name moved on.
      const [base, current] = await Promise.all([look(l[SNAPSHOT_LABELS.base] ?? ''), look(l[SNAPSHOT_LABELS.baseName] ?? '')]);
      const bytes = base ? Math.max(0, r.size - base.size) : r.size;
      const stale = current === null || current.id !== l[SNAPSHOT_LABELS.base];
      return { name: r.name, id: r.id, key, labels: l, bytes, usedMs, stale, untagged };
    }),
  );
  return out.sort((a, b) => a.usedMs - b.usedMs);
}

/** One look-up per argument, however many ask; nothing for an empty one. */
function memo(f: (ref: string) => Promise<ImageRecord | null>): (ref: string) => Promise<ImageRecord | null> {
  const seen = new Map<string, Promise<ImageRecord | null>>();
  return (ref) => {
    if (!ref) return Promise.resolve(null);
    let p = seen.get(ref);
    if (!p) seen.set(ref, (p = f(ref)));
    return p;
  };
}

/**
 * Remove a snapshot and its mark (an untagged one has none of its own: its key's
 * mark is the tagged snapshot's); the engine's reason when it refused (an image
 * a live container uses), null when removed.
 */
export async function removeSnapshot(s: SnapshotSettings, snap: Pick<Snapshot, 'name' | 'key' | 'untagged'>): Promise<string | null> {
  const why = await defaultEngine().removeImage(snap.name);
  if (why === null && !snap.untagged) fs.rmSync(markFile(s, snap.key), { force: true });
  return why;
}

/**
 * Keep the snapshots under the cap: untagged ones go whatever the cap (nothing
 * can use them again), then stale ones, then the least recently used. `keep`
 * (the one just made) goes last, and only when it alone is over the cap;
 * `spare` keeps it whatever the cap (while the run that made it may still
 * start a container from it). Returns what was removed and whether the
 * snapshots left are still over the cap.
 */
export async function evictSnapshots(s: SnapshotSettings, keep: string | null = null, opts: { spare?: boolean } = {}): Promise<{ removed: Snapshot[]; over: boolean }> {
  const all = await listSnapshots(s);
  let total = all.reduce((n, x) => n + x.bytes, 0);
  const mine = (x: Snapshot) => !x.untagged && x.key === keep;
  const order = [
    ...all.filter((x) => x.untagged),
    ...all.filter((x) => !x.untagged && x.stale && !mine(x)),
    ...all.filter((x) => !x.untagged && !x.stale && !mine(x)),
    ...(opts.spare ? [] : all.filter(mine)),
  ];
  const removed: Snapshot[] = [];
  for (const snap of order) {
    if (total <= s.capBytes && !snap.untagged) break;
    // A refusal (a live container uses it) leaves it for a later pass.
    if ((await removeSnapshot(s, snap)) === null) {
      total -= snap.bytes;
      removed.push(snap);
    }
  }
  return { removed, over: total > s.capBytes };
}
