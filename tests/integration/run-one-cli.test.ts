/**
 * run-one as a user meets it: a real process, real flags, real signals.
 * Bad input must give one clear line, the documented exit code and, once the
 * task is known, a result file; Ctrl-C must leave no container behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, ROOT } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';
import { listSnapshots, removeSnapshot } from '../../scripts/lib/engine/snapshots.js';
import { resultsIn } from '../support/scripts.js';

const runsDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-cli-'));

function runOne(args: string[], env: NodeJS.ProcessEnv = {}, input?: Buffer) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
    input,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('run-one command line', () => {
  it('prints usage with --help and exits 0', () => {
    const r = runOne(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--task-id/);
    expect(r.stdout).toMatch(/Exit codes/);
  });

  it.each([
    [['--bogus'], /unknown option --bogus/],
    [['--task-id', 'no-such-task'], /unknown task id "no-such-task"; known ids: .*demo-statskit/],
    [['--repo', '/nonexistent/repo'], /--repo needs --ref/],
    [[], /give --task-id ID, or --repo and --ref/],
    [['--repo', 'fixture:probes', '--ref', 'main', '--instances', 'tasks/instances.jsonl'], /give --instances or --repo\/--ref, not both/],
    [['--instances', 'tasks/instances.jsonl', '--task-id', 'swe-harness__statskit-1', '--ref', 'main'], /give --instances or --repo\/--ref, not both/],
    [['--repo', 'fixture:probes', '--ref', 'main', '--tasks', '/nonexistent/tasks.jsonl'], /--tasks is not used with --repo/],
    [['--repo', 'fixture:probes', '--ref', 'main', '--specs', '/nonexistent/specs.json'], /--specs is not used with --repo/],
    [['--task-id', 'demo-statskit', '--specs', 'specs/default.json'], /--specs only applies to --instances/],
    [['--task-id', 'demo-statskit', '-k'], /^error: -k needs a value$/m],
    [['--repo', 'fixture:probes', '--ref', 'main', '-k', '--tests', 'tests/test_ok.py'], /^error: -k needs a value$/m],
    [['--task-id', 'demo-statskit', '--runs-dir', 'package.json'], /--runs-dir ".*package\.json" is a file, not a directory/],
    [['--instances', 'tasks/instances.jsonl', '--task-id', 'swe-harness__statskit-1', '--gold', '-k', 'foo'], /-k does not apply to --instances/],
    [['--instances', 'tasks/instances.jsonl', '--task-id', 'swe-harness__statskit-1', '--gold', '--tests', 'x.py'], /--tests does not apply to --instances/],
    [['--repo', 'fixture:probes', '--ref', 'main', '--task-id', 'a'.repeat(300)], /--task-id must be at most 128 characters/],
    [['--repo', 'fixture:probes', '--ref', 'main', '--task-id', '..'], /--task-id may only contain letters, digits/],
  ])('rejects %j with one line and exit 2', (args, message) => {
    const r = runOne(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [['--test-timeout', 'abc'], /--test-timeout must be a positive number of seconds up to 604800, got "abc"/],
    [['--patch', '/nonexistent.diff'], /--patch "\/nonexistent.diff" cannot be read \(no such file\)/],
    [['--test-timeout', '-5'], /--test-timeout must be a positive number of seconds up to 604800, got "-5"/],
    [['--test-timeout', '0x10'], /--test-timeout must be a positive number of seconds up to 604800, got "0x10"/],
    [['--before'], /--before needs a patch/],
  ])('rejects %j for a known task with exit 2 and still writes a result file', (args, message) => {
    const dir = runsDir();
    const r = runOne(['--task-id', 'demo-statskit', '--runs-dir', dir, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'demo-statskit', status: 'error', exit_code: 2 });
    expect(String(result!.error)).toMatch(message);
  });

  it('reports an unreachable engine in one line with exit 3 and a result file', () => {
    const dir = runsDir();
    const r = runOne(['--task-id', 'probe-ok', '--runs-dir', dir], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/engine not reachable/i);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(resultsIn(dir)[0]).toMatchObject({ status: 'error', exit_code: 3 });
  });

  it('prints the result as JSON with --json', () => {
    const dir = runsDir();
    const r = runOne(['--task-id', 'probe-ok', '--runs-dir', dir, '--json', '--quiet']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ task_id: 'probe-ok', status: 'passed' });
    expect(r.stderr).toBe('');
  });

  it('stops on Ctrl-C: exit 130, result "interrupted", no container left', async () => {
    const dir = runsDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', '--task-id', 'probe-sleep', '--runs-dir', dir, '--test-timeout', '120'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until the install is done: the sleeping test is then running in the container.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`install never finished: ${stderr}`)), 90_000);
      child.stderr.on('data', () => {
        if (/\[install\] ok/.test(stderr)) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The progress line says what result.json's stage says.
    expect(stderr).toMatch(/^\[tests_after\] interrupted /m);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', exit_code: 130 });
    const runId = fs.readdirSync(dir)[0]!;
    expect(await listHarnessContainers(runId)).toEqual([]);
  });

  it('stops when only the npx launcher gets SIGTERM: result "interrupted", no container left', async () => {
    const dir = runsDir();
    // As a process manager runs the documented command: npx → sh → tsx → node, and only npx is signalled.
    const npx = spawn('npx', ['tsx', 'scripts/run-one.ts', '--task-id', 'probe-sleep', '--runs-dir', dir, '--test-timeout', '120'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    npx.stderr.on('data', (d) => (stderr += d));
    // 'close' comes once every holder of the pipes, the harness included, has exited.
    const closed = new Promise<void>((resolve) => npx.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`install never finished: ${stderr}`)), 90_000);
        npx.stderr.on('data', () => {
          if (/\[install\] ok/.test(stderr)) {
            clearTimeout(t);
            resolve();
          } else if (/^result: /m.test(stderr)) reject(new Error(`the run ended before its test stage: ${stderr}`));
        });
      });
      await new Promise((r) => setTimeout(r, 1000));
      const started = Date.now();
      npx.kill('SIGTERM');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 20_000))]);
      expect(Date.now() - started, stderr).toBeLessThan(15_000);
      expect(stderr).toMatch(/interrupted \(the launching process \d+ is gone\): stopping and removing the container/);
      const [result] = resultsIn(dir);
      expect(result).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', exit_code: 130 });
      const runId = fs.readdirSync(dir)[0]!;
      expect(await listHarnessContainers(runId)).toEqual([]);
    } finally {
      // On failure, the harness may still be running: stop it as Ctrl-C would, so it removes its container.
      if (signalProcessesNaming(dir)) await Promise.race([closed, new Promise((r) => setTimeout(r, 15_000))]);
    }
  });
});

describe('run-one --watch', () => {
  it.each([
    [['--watch'], /--watch needs --patch FILE \(the file it watches\), got no patch$/m],
    [['--watch', '--patch', '-'], /--watch needs --patch FILE \(the file it watches\), got --patch - \(stdin\)/],
    [['--watch', '--task-patch'], /--watch needs --patch FILE \(the file it watches\), got --task-patch \(the task's own patch, not a file to watch\)/],
    [['--watch', '--patch', '/nonexistent/fix.diff'], /nonexistent\/fix\.diff/],
  ])('%j: one line, exit 2, as without --watch', (flags, message) => {
    const r = runOne(['--task-id', 'demo-statskit', '--runs-dir', runsDir(), ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n').filter((l) => /^error:/.test(l))).toHaveLength(1);
  });

  it('runs again from the snapshot when the patch file changes, not when it is saved unchanged; Ctrl-C while waiting ends with the last exit code', async () => {
    const dir = runsDir();
    const patch = path.join(dir, '..', `${path.basename(dir)}.diff`);
    fs.copyFileSync(path.join(ROOT, 'tasks', 'statskit', 'fix.patch'), patch);
    // Snapshots on, as a user has them (the suite turns them off); one this test makes is removed after it.
    const had = new Set((await listSnapshots(DEFAULT_CONFIG.snapshots)).map((x) => x.name));
    const w = startWatch(['--task-id', 'demo-statskit', '--patch', patch, '--runs-dir', dir, '--json'], { SWE_HARNESS_SNAPSHOTS: '' });
    try {
      await w.until(1, 120_000);
      expect(resultsIn(dir)).toEqual([expect.objectContaining({ status: 'passed', exit_code: 0 })]);
      // A patch that does not apply: the second run fails at apply, from the snapshot the first run kept.
      fs.writeFileSync(patch, fs.readFileSync(patch, 'utf8').replace(/^-(?!--)(.*)$/m, '-$1 and not this'));
      await w.until(2, 60_000);
      const second = resultsIn(dir).find((r) => r.status !== 'passed')!;
      expect(second).toMatchObject({ status: 'patch_failed', exit_code: 5 });
      expect((second.stages as Array<Record<string, unknown>>).slice(0, 2), w.stderr()).toEqual([
        expect.objectContaining({ name: 'clone', status: 'cached', from: 'snapshot' }),
        expect.objectContaining({ name: 'install', status: 'cached', from: 'snapshot' }),
      ]);
      // Saved again with the same content: nothing runs.
      fs.writeFileSync(patch, fs.readFileSync(patch));
      await new Promise((r) => setTimeout(r, 1500));
      expect(resultsIn(dir)).toHaveLength(2);
      w.child.kill('SIGINT');
      expect(await w.closed).toBe(5);
      // --json under --watch: one result per line.
      expect(w.stdout().trim().split('\n').map((l) => (JSON.parse(l) as { status: string }).status)).toEqual(['passed', 'patch_failed']);
      expect(w.stderr()).toMatch(/interrupted: the watch ends/);
      for (const runId of fs.readdirSync(dir)) expect(await listHarnessContainers(runId)).toEqual([]);
    } finally {
      if (signalProcessesNaming(dir)) await Promise.race([w.closed, new Promise((r) => setTimeout(r, 15_000))]);
      fs.rmSync(patch, { force: true });
      for (const x of await listSnapshots(DEFAULT_CONFIG.snapshots)) if (!had.has(x.name)) await removeSnapshot(DEFAULT_CONFIG.snapshots, x);
    }
  });

  it('Ctrl-C during a run stops it as without --watch (exit 130, result written, no container left) and ends the watch', async () => {
    const dir = runsDir();
    const patch = path.join(dir, '..', `${path.basename(dir)}.diff`);
    // Any repository takes a patch that only adds a file.
    fs.writeFileSync(patch, 'diff --git a/NOTES.txt b/NOTES.txt\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.txt\n@@ -0,0 +1 @@\n+note\n');
    const w = startWatch(['--task-id', 'probe-sleep', '--patch', patch, '--runs-dir', dir, '--test-timeout', '120']);
    try {
      await w.stage(/\[install\] ok/, 90_000);
      await new Promise((r) => setTimeout(r, 1000));
      w.child.kill('SIGINT');
      expect(await w.closed).toBe(130);
      expect(w.stderr()).toMatch(/interrupted: stopping and removing the container, then the watch ends/);
      expect(w.stderr()).not.toMatch(/^watching /m);
      expect(resultsIn(dir)).toEqual([expect.objectContaining({ task_id: 'probe-sleep', status: 'interrupted', exit_code: 130 })]);
      const runId = fs.readdirSync(dir)[0]!;
      expect(await listHarnessContainers(runId)).toEqual([]);
      expect(await listHarnessContainers(`${runId}-before`)).toEqual([]);
    } finally {
      if (signalProcessesNaming(dir)) await Promise.race([w.closed, new Promise((r) => setTimeout(r, 15_000))]);
      fs.rmSync(patch, { force: true });
    }
  });
});

/** run-one --watch as a process: waits for its n-th result line or a stage line; `closed` gives its exit code. */
function startWatch(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', '--watch', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const waitFor = (ok: () => boolean, ms: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      if (ok()) return resolve();
      const t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms: ${stderr}`)), ms);
      child.stderr.on('data', () => {
        if (!ok()) return;
        clearTimeout(t);
        resolve();
      });
    });
  return {
    child,
    closed,
    stderr: () => stderr,
    stdout: () => stdout,
    // The "watching" line comes after the result is written and printed.
    until: (n: number, ms: number) => waitFor(() => (stderr.match(/^watching /gm) ?? []).length >= n, ms, `result ${n}`),
    stage: (re: RegExp, ms: number) => waitFor(() => re.test(stderr), ms, String(re)),
  };
}

/** SIGINT to the processes of this test that are still running (found by their unique runs dir, signalled by pid); true if any. */
function signalProcessesNaming(dir: string): boolean {
  let found = false;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) continue;
      process.kill(Number(pid), 'SIGINT');
      found = true;
    } catch {
      // gone already
    }
  }
  return found;
}

describe('run-one with a patch that is not UTF-8', () => {
  // A new test file with a Latin-1 byte that checks its own bytes: it passes only if they arrived unchanged.
  const bytes = Buffer.concat([
    Buffer.from('diff --git a/tests/test_latin1.py b/tests/test_latin1.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/test_latin1.py\n@@ -0,0 +1,5 @@\n+# -*- coding: latin-1 -*-\n+# caf'),
    Buffer.from([0xe9]),
    Buffer.from("\n+def test_bytes_kept():\n+    data = open(__file__, 'rb').read()\n+    assert b'caf\\xe9' in data and b'\\xef\\xbf\\xbd' not in data\n"),
  ]);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-latin1-')), 'latin1.diff');
  fs.writeFileSync(file, bytes);
  const task = ['--repo', 'fixture:probes', '--ref', 'main', '--tests', 'tests/test_latin1.py'];

  it.each([
    ['from a file', ['--patch', file], undefined],
    ['from stdin', ['--patch', '-'], bytes],
  ])('applies it byte for byte %s and keeps those bytes in patch.diff', (_how, flags, input) => {
    const dir = runsDir();
    const r = runOne([...task, ...flags, '--runs-dir', dir], {}, input);
    expect(r.stderr).toMatch(/passed/);
    expect(r.code).toBe(0);
    const [result] = resultsIn(dir);
    expect(result!.patch).toMatchObject({ applied_with: 'git apply', bytes: bytes.length });
    const run = fs.readdirSync(dir).find((d) => fs.existsSync(path.join(dir, d, 'patch.diff')))!;
    expect(fs.readFileSync(path.join(dir, run, 'patch.diff')).equals(bytes)).toBe(true);
  });
});
