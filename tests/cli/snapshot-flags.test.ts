import minimist from 'minimist';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { parseSize, RUN_FLAG_DEFAULTS, snapshotFlags } from '../../scripts/lib/cli/run-flags.js';
import { catchHarnessError } from '../support/helpers.js';

const usageError = (fn: () => unknown) => catchHarnessError(fn, 'usage');

const parse = (argv: string[]) => minimist(argv, { boolean: ['snapshot', 'refresh-snapshot'], string: ['snapshot-cap'], default: RUN_FLAG_DEFAULTS });

describe('snapshot flags', () => {
  it('are on by default with the default cap', () => {
    expect(snapshotFlags(parse([]), {})).toMatchObject({ enabled: true, refresh: false, capBytes: DEFAULT_CONFIG.snapshots.capBytes });
  });

  it.each([
    [['--no-snapshot'], {}, { enabled: false }],
    [['--refresh-snapshot'], {}, { enabled: true, refresh: true }],
    [['--snapshot-cap', '500m'], {}, { capBytes: 500 * 1024 ** 2 }],
    [[], { SWE_HARNESS_SNAPSHOT_CAP: '2g' }, { capBytes: 2 * 1024 ** 3 }],
    [['--snapshot-cap', '1g'], { SWE_HARNESS_SNAPSHOT_CAP: '2g' }, { capBytes: 1024 ** 3 }],
    [[], { SWE_HARNESS_SNAPSHOTS: 'off' }, { enabled: false }],
  ])('%j with env %j', (argv, env, want) => {
    expect(snapshotFlags(parse(argv), env)).toMatchObject(want);
  });

  it('refuses --no-snapshot with --refresh-snapshot, and a bad size naming its source', () => {
    expect(usageError(() => snapshotFlags(parse(['--no-snapshot', '--refresh-snapshot']), {})).message).toMatch(/not both/);
    expect(usageError(() => snapshotFlags(parse(['--no-snapshot', '--snapshot-cap', '1g']), {})).message).toBe('give --no-snapshot or --snapshot-cap, not both');
    expect(usageError(() => snapshotFlags(parse(['--refresh-snapshot']), { SWE_HARNESS_SNAPSHOTS: 'off' })).message).toMatch(/^--refresh-snapshot has no effect while SWE_HARNESS_SNAPSHOTS=off/);
    expect(usageError(() => snapshotFlags(parse(['--snapshot-cap', '1g']), { SWE_HARNESS_SNAPSHOTS: 'off' })).message).toMatch(/^--snapshot-cap has no effect/);
    // The cap from the environment is a default, not a request: no conflict.
    expect(snapshotFlags(parse(['--no-snapshot']), { SWE_HARNESS_SNAPSHOT_CAP: '1g' })).toMatchObject({ enabled: false });
    expect(usageError(() => snapshotFlags(parse(['--snapshot-cap', 'lots']), {})).message).toMatch(/--snapshot-cap .*"lots"/);
    expect(usageError(() => snapshotFlags(parse([]), { SWE_HARNESS_SNAPSHOT_CAP: '-1' })).message).toMatch(/SWE_HARNESS_SNAPSHOT_CAP/);
  });
});

describe('parseSize', () => {
  it.each([
    ['4g', 4 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['512MiB', 512 * 1024 ** 2],
    ['1024k', 1024 ** 2],
    ['1048576', 1048576],
  ])('%s is %d bytes', (raw, bytes) => {
    expect(parseSize(raw, '--snapshot-cap')).toBe(bytes);
  });
});
