import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { podmanUlimits, runArgs } from '../../scripts/lib/engine/docker-cli.js';
import { engineFor } from '../../scripts/lib/engine/docker.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             96365                96365                processes
Max open files            1024                 20000                files
`;

describe('podman as an engine', () => {
  it('gives podman containers this process\'s hard nofile and nproc limits, nproc capped at pid_max', () => {
    expect(podmanUlimits(LIMITS, '32768\n')).toEqual(['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768']);
    expect(podmanUlimits(LIMITS, '4194304')).toEqual(['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=96365:96365']);
  });

  it('falls back to 1024 open files and 4096 processes when the limits cannot be read', () => {
    expect(podmanUlimits('', '')).toEqual(['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096']);
  });

  it('adds the ulimits to podman run only; docker run is unchanged', () => {
    const opts = { image: 'img', runId: 'r1', limits: DEFAULT_CONFIG.container, network: false };
    expect(runArgs(opts)).not.toContain('--ulimit');
    const p = runArgs(opts, 'podman');
    expect(p.filter((a) => a === '--ulimit')).toHaveLength(2);
    expect(p.slice(0, p.indexOf('--ulimit'))).toEqual(runArgs(opts).slice(0, p.indexOf('--ulimit')));
  });

  it('--engine podman is podman through its own CLI, treated as an engine that sees no host files and keeps no snapshots', async () => {
    const e = await engineFor('podman');
    expect(e).toMatchObject({ name: 'podman', label: 'podman', sharesHostFiles: false, snapshots: false });
  });
});
