/**
 * The snapshot store: images of a container right after its install, tagged
 * `<repo>:<key>` and labelled with what they hold. Last use is a file's mtime
 * on the host (Docker keeps no such time), and a size cap evicts the least
 * recently used. What goes into a key and when one is taken is run/snapshot.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SNAPSHOT_LABELS, type SnapshotSettings } from '../core/config.js';
import { defaultEngine } from './docker.js';
import type { Container, ImageRecord } from './engine.js';

/** Seconds a commit may take (the install's files are written into a layer). */
const COMMIT_TIMEOUT_S = 600;

export interface Snapshot {
  /** `repository:tag`. */
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
  Object.assign(all, labels, { [SNAPSHOT_LABELS.key]: key });
  const id = await defaultEngine().commit(c, {
    tag: snapshotName(s, key),
    labels: all,
    changes: ['ENTRYPOINT ["bash"]', 'CMD ["-i"]', `WORKDIR ${workdir}`],
    timeoutS: COMMIT_TIMEOUT_S,
  });
  touchSnapshot(s, key);
  return id;
}

/** Every snapshot under the settings' repository, least recently used first. */
export async function listSnapshots(s: SnapshotSettings): Promise<Snapshot[]> {
  const engine = defaultEngine();
  const records = await engine.listImages(SNAPSHOT_LABELS.key, s.repo);
  const bases = new Map<string, ImageRecord | null>();
  for (const r of records) {
    const name = r.labels[SNAPSHOT_LABELS.baseName] ?? '';
    if (name && !bases.has(name)) bases.set(name, await engine.inspectImage(name).catch(() => null));
  }
  const out = records.map((r): Snapshot => {
    const key = r.labels[SNAPSHOT_LABELS.key] ?? r.name.slice(s.repo.length + 1);
    const base = bases.get(r.labels[SNAPSHOT_LABELS.baseName] ?? '') ?? null;
    let usedMs = Date.parse(r.created) || 0;
    try {
      usedMs = fs.statSync(markFile(s, key)).mtimeMs;
    } catch {
      /* never marked: its creation */
    }
    const sameBase = base !== null && base.id === r.labels[SNAPSHOT_LABELS.base];
    return { name: r.name, id: r.id, key, labels: r.labels, bytes: sameBase ? Math.max(0, r.size - base.size) : r.size, usedMs, stale: !sameBase };
  });
  return out.sort((a, b) => a.usedMs - b.usedMs);
}

/** Remove a snapshot and its mark; the engine's reason when it refused (an image a live container uses), null when removed. */
export async function removeSnapshot(s: SnapshotSettings, snap: Pick<Snapshot, 'name' | 'key'>): Promise<string | null> {
  const why = await defaultEngine().removeImage(snap.name);
  if (why === null) fs.rmSync(markFile(s, snap.key), { force: true });
  return why;
}

/**
 * Keep the snapshots under the cap: stale ones go first, then the least
 * recently used. `keep` (the one just made) goes last, and only when it alone
 * is over the cap. Returns what was removed.
 */
export async function evictSnapshots(s: SnapshotSettings, keep: string | null = null): Promise<Snapshot[]> {
  const all = await listSnapshots(s);
  let total = all.reduce((n, x) => n + x.bytes, 0);
  const order = [...all.filter((x) => x.stale && x.key !== keep), ...all.filter((x) => !x.stale && x.key !== keep), ...all.filter((x) => x.key === keep)];
  const removed: Snapshot[] = [];
  for (const snap of order) {
    if (total <= s.capBytes) break;
    if ((await removeSnapshot(s, snap)) === null) {
      total -= snap.bytes;
      removed.push(snap);
    }
  }
  return removed;
}
