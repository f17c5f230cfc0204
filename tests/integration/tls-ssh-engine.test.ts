/**
 * An engine reached the ways a remote one is: over TCP with TLS (its own CA,
 * client certificates required) and over ssh:// (an sshd in the engine's
 * network namespace; the docker client runs `docker system dial-stdio`
 * there). A second dockerd on this machine in its own network namespace,
 * reached over a veth pair (tests/support/second-engine.ts), started here and
 * removed after. Runs there must pass with no bind mount, record the engine,
 * keep their time limits and Ctrl-C, and an engine the client cannot speak to
 * is an error naming it. Needs root (dockerd, ip netns) and /usr/sbin/sshd.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, RUN_LABEL } from '../../scripts/lib/core/config.js';
import { expectNoBindMounts, watchMounts } from '../support/mounts.js';
import { resultsIn, runScript } from '../support/scripts.js';
import { secondEngine } from '../support/second-engine.js';

const ROOT_USER = process.getuid?.() === 0;
const SSHD = fs.existsSync('/usr/sbin/sshd');
const engine = secondEngine(`swh-tls-${process.pid}`, { tls: true, ssh: true });
const tcp = engine.tcp!;
const ssh = engine.ssh!;

const made: string[] = [];
const runsDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-tls-'));
  made.push(d);
  return d;
};
/** The demo task with its patch through `--engine url`: it passes, no bind mount is seen on the engine meanwhile, and the result names the engine. */
async function demoPasses(to: { url: string; env: Record<string, string> }, dir: string) {
  const watch = watchMounts(engine.docker);
  const r = await runScript('run-one', ['--task-id', 'demo-statskit', '--task-patch', '--engine', to.url, '--runs-dir', dir, '--json'], { env: to.env });
  const seen = watch.stop();
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ task_id: 'demo-statskit', status: 'passed', engine: to.url });
  expectNoBindMounts(seen);
  return r;
}

const leftovers = () => engine.docker(['ps', '-aq', '--filter', `label=${RUN_LABEL}`]).stdout.trim();

describe.skipIf(!ROOT_USER || !SSHD)('an engine over TCP with TLS, and over ssh', () => {
  beforeAll(async () => {
    await engine.start();
  });

  afterAll(async () => {
    await engine.remove();
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('tcp:// with TLS: the demo task passes there, the image streamed in, no bind mount, the engine recorded', async () => {
    const r = await demoPasses(tcp, runsDir());
    expect(r.stderr).toMatch(/\[image\] .* → tcp:\/\/.*: streamed \d+ MiB in [\d.]+ s/);
    expect(leftovers()).toBe('');
  });

  it('tcp:// without the client certificate: an error naming the engine, exit 3, a result file, nothing left', async () => {
    const dir = runsDir();
    const env = { DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' };
    const r = await runScript('run-one', ['--task-id', 'demo-statskit', '--task-patch', '--engine', tcp.url, '--runs-dir', dir], { env });
    expect(r.code, r.stderr).toBe(3);
    const last = r.stderr.trim().split('\n').filter((l) => !l.startsWith('result:')).pop()!;
    expect(last).toContain(tcp.url);
    expect(last).toMatch(/HTTPS|TLS|certificate/i);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'demo-statskit', status: 'error', exit_code: 3 });
    expect(leftovers()).toBe('');
  });

  it('ssh://: the demo task passes there with the engine recorded, and a hanging test is killed at its limit', async () => {
    const dir = runsDir();
    await demoPasses(ssh, dir);
    const hang = await runScript('run-one', ['--task-id', 'probe-sleep', '--test-timeout', '2', '--engine', ssh.url, '--runs-dir', dir, '--json'], { env: ssh.env });
    expect(hang.code, hang.stderr).toBe(4); // timeout
    const result = JSON.parse(hang.stdout) as { status: string; stages: Array<{ name: string; status: string }> };
    expect(result.status).toBe('timeout');
    expect(result.stages.at(-1)).toMatchObject({ name: 'tests_after', status: 'timeout' });
    expect(leftovers()).toBe('');
  });

  it('Ctrl-C over ssh: exit 130, the run interrupted, its container removed on that engine', async () => {
    const dir = runsDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-one.ts', '--task-id', 'probe-sleep', '--runs-dir', dir, '--test-timeout', '120', '--engine', ssh.url], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...ssh.env },
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (let i = 0; i < 600 && !/\[install\] ok/.test(stderr); i++) await new Promise((r) => setTimeout(r, 200));
    expect(stderr).toMatch(/\[install\] ok/);
    await new Promise((r) => setTimeout(r, 1500)); // the tests are running
    expect(leftovers()).not.toBe('');
    child.kill('SIGINT');
    expect(await done).toBe(130);
    const [result] = resultsIn(dir);
    expect(result).toMatchObject({ task_id: 'probe-sleep', status: 'interrupted', engine: ssh.url });
    expect(leftovers()).toBe('');
  });
});
