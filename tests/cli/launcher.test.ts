/**
 * Which processes above a script count as its launchers (npx, npm, sh -c 'tsx …',
 * the tsx cli) and which do not (shells, test runners, process managers).
 */
import { describe, expect, it } from 'vitest';
import { isLauncher, launcherChain, type ProcInfo } from '../../scripts/lib/cli/launcher.js';

describe('isLauncher', () => {
  it.each([
    [['npm', 'exec', 'tsx', 'scripts/run-one.ts']],
    [['node', '/usr/bin/npx', 'tsx', 'scripts/run-one.ts']],
    [['node', '/work/main/node_modules/.bin/tsx', 'scripts/run-one.ts']],
    [['/usr/bin/node', '/work/main/node_modules/tsx/dist/cli.mjs', 'scripts/run-one.ts']],
    [['sh', '-c', "'tsx'", 'scripts/run-one.ts']],
    [['sh', '-c', 'tsx', 'scripts/run-many.ts']],
  ])('%j is a launcher', (argv) => {
    expect(isLauncher(argv)).toBe(true);
  });

  it.each([
    [['bash', '/dev/fd/3']],
    [['bash', '-c', 'make test']],
    [['node', '/work/main/node_modules/vitest/dist/workers/forks.js']],
    [['/usr/lib/systemd/systemd', '--user']],
    [['nohup', 'sleep', '1']],
    [[]],
  ])('%j is not', (argv) => {
    expect(isLauncher(argv)).toBe(false);
  });
});

describe('launcherChain', () => {
  it('climbs from the parent while the processes are launchers', () => {
    const procs = new Map<number, ProcInfo>([
      [process.ppid, { ppid: 901, argv: ['node', '/x/node_modules/.bin/tsx', 'a.ts'], dead: false }],
      [901, { ppid: 902, argv: ['sh', '-c', "'tsx' a.ts"], dead: false }],
      [902, { ppid: 903, argv: ['npm', 'exec', 'tsx', 'a.ts'], dead: false }],
      [903, { ppid: 1, argv: ['bash'], dead: false }],
    ]);
    expect(launcherChain((pid) => procs.get(pid) ?? null)).toEqual([process.ppid, 901, 902]);
  });

  it('is empty when the parent is not a launcher (a shell, a test runner)', () => {
    expect(launcherChain(() => ({ ppid: 1, argv: ['bash'], dead: false }))).toEqual([]);
    expect(launcherChain(() => null)).toEqual([]);
  });
});
