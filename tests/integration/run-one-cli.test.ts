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
import { ROOT } from '../../scripts/lib/core/config.js';
import { listHarnessContainers } from '../../scripts/lib/engine/docker.js';

const runsDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-cli-'));

function runOne(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function resultsIn(dir: string): Array<Record<string, unknown>> {
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'result.json')))
    .map((d) => JSON.parse(fs.readFileSync(path.join(dir, d, 'result.json'), 'utf8')));
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
  ])('rejects %j with one line and exit 2', (args, message) => {
    const r = runOne(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [['--test-timeout', 'abc'], /--test-timeout must be a positive number of seconds up to 604800, got "abc"/],
    [['--patch', '/nonexistent.diff'], /--patch "\/nonexistent.diff" cannot be read \(no such file\)/],
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
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', exit_code: 130 });
    const runId = fs.readdirSync(dir)[0]!;
    expect(await listHarnessContainers(runId)).toEqual([]);
  });
});
