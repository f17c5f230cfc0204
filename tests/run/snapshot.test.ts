import { describe, expect, it } from 'vitest';
import { cachedStages, fromSnapshot, snapshotKey, type SnapshotKeyFields } from '../../scripts/lib/run/snapshot.js';
import type { Prepared } from '../../scripts/lib/run/sandbox.js';

const base: SnapshotKeyFields = {
  baseImageId: 'sha256:aaa',
  repo: 'owner/name',
  commit: 'a'.repeat(40),
  install: 'pip install -e .',
  env: { PYTHONPATH: 'src' },
  installNetwork: false,
  source: 'local',
  workdir: '/workspace/project',
  spec: {},
};

describe('snapshotKey', () => {
  it('is stable under the order of fields and env entries', () => {
    const reordered = { ...base, env: { PYTHONPATH: 'src' } } as SnapshotKeyFields;
    expect(snapshotKey(reordered)).toBe(snapshotKey(base));
    expect(snapshotKey(base)).toMatch(/^[0-9a-f]{24}$/);
  });

  it.each([
    ['the base image', { baseImageId: 'sha256:bbb' }],
    ['the repository', { repo: 'owner/other' }],
    ['the commit', { commit: 'b'.repeat(40) }],
    ['the install command', { install: 'pip install .' }],
    ['no install command', { install: null }],
    ['the env', { env: { PYTHONPATH: 'lib' } }],
    ['the install network', { installNetwork: true }],
    ['the source kind', { source: 'remote' as const }],
    ['the workdir', { workdir: '/testbed' }],
    ['the spec', { spec: { version: '1.0' } }],
  ])('changes with %s', (_what, change) => {
    expect(snapshotKey({ ...base, ...change })).not.toBe(snapshotKey(base));
  });
});

describe('cachedStages', () => {
  const hit = { name: 'swe-harness-snapshot:abc', key: 'abc', head: 'a'.repeat(40) };

  it('stands in for clone and install as cached, naming the snapshot', () => {
    expect(cachedStages(hit, true).map((r) => r.record)).toEqual([
      { name: 'clone', status: 'cached', duration_s: 0, exit_code: null, from: 'snapshot', snapshot: hit.name },
      { name: 'install', status: 'cached', duration_s: 0, exit_code: null, from: 'snapshot', snapshot: hit.name },
    ]);
  });

  it('has no install stage for a task without install', () => {
    expect(cachedStages(hit, false).map((r) => r.record.name)).toEqual(['clone']);
  });

  it('starts the container from the snapshot with no mount and no network', () => {
    const prep: Prepared = {
      image: { name: 'swebench-lite:py3.11', id: 'sha256:aaa', python: '3.11', flavour: 'offline', recipe: '', pytest: null, built: false },
      source: { kind: 'local', hostPath: '/x' },
      cloneSource: '/mnt/src',
      network: true,
    };
    const p = fromSnapshot(prep, hit, '/workspace/project');
    expect(p).toMatchObject({ image: { name: hit.name, python: '3.11' }, source: { kind: 'image', workdir: '/workspace/project' }, network: false, cloneSource: '' });
  });
});
