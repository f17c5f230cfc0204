/** Watching an engine's harness containers for bind mounts while a run goes on (an engine elsewhere must never get one). */
import type { SpawnSyncReturns } from 'node:child_process';
import { expect } from 'vitest';
import { RUN_LABEL } from '../../scripts/lib/core/config.js';

/** Every harness container seen on the second engine while a watch runs, with its mounts. */
export interface Seen {
  id: string;
  mounts: unknown[];
  binds: unknown;
}

/** Poll the second engine for harness containers and record their mounts (a bind mount must never be among them). */
export function watchMounts(docker2: (args: string[]) => SpawnSyncReturns<string>): { stop: () => Seen[] } {
  const seen = new Map<string, Seen>();
  let on = true;
  const tick = async () => {
    while (on) {
      const ps = docker2(['ps', '-q', '--filter', `label=${RUN_LABEL}`]);
      for (const id of (ps.stdout ?? '').split('\n').filter(Boolean)) {
        if (seen.has(id)) continue;
        const ins = docker2(['inspect', '--format', '{{json .Mounts}}\t{{json .HostConfig.Binds}}', id]);
        if (ins.status !== 0) continue;
        const [mounts, binds] = ins.stdout.trim().split('\t');
        seen.set(id, { id, mounts: JSON.parse(mounts ?? '[]') ?? [], binds: JSON.parse(binds ?? 'null') });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const running = tick();
  return {
    stop: () => {
      on = false;
      void running;
      return [...seen.values()];
    },
  };
}

export function expectNoBindMounts(seen: Seen[]): void {
  expect(seen.length).toBeGreaterThan(0); // the watch did see the run's container
  for (const c of seen) {
    expect(c.mounts, `container ${c.id} has mounts`).toEqual([]);
    expect(c.binds, `container ${c.id} has binds`).toBeNull();
  }
}
