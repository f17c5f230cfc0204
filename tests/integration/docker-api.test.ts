/**
 * The engine API client against the real engine, side by side with the docker
 * CLI it replaces for the frequent calls: the same command gives the same exit
 * code, bytes and verdicts (timeouts, Ctrl-C, a container gone, an engine that
 * does not answer), and look-ups list the same containers and images.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { DEFAULT_CONFIG, IMAGE_LABELS } from '../../scripts/lib/core/config.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { DockerApi } from '../../scripts/lib/engine/docker-api.js';
import { DockerCli } from '../../scripts/lib/engine/docker-cli.js';
import { docker } from '../../scripts/lib/engine/docker-client.js';
import type { Container, Engine, ExecOptions } from '../../scripts/lib/engine/engine.js';
import { resolveImage } from '../../scripts/lib/engine/images.js';

const api = new DockerApi('/var/run/docker.sock');
const cli = new DockerCli();
const both: Array<[string, Engine]> = [['api', api], ['cli', cli]];
const runId = `test-docker-api-${process.pid}`;
let c: Container;
let image: string;

const opts = (o: Partial<ExecOptions> = {}): ExecOptions => ({ timeoutS: 20, backstopS: 5, logs: DEFAULT_CONFIG.logs, logFile: null, ...o });

beforeAll(async () => {
  image = (await resolveImage(null)).name;
  c = await api.create({ image, runId, limits: DEFAULT_CONFIG.container, network: false });
});

afterAll(async () => {
  await api.remove(c.id);
  expect(await cli.listContainers(runId)).toEqual([]);
});

describe('exec: the same results as docker exec', () => {
  it.each(both)('%s: merged output in order and the exit code', async (_, engine) => {
    const r = await engine.exec(c, ['sh', '-c', 'echo out; echo err >&2; echo out2; exit 3'], opts());
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, interrupted: false, lost: null, output: 'out\nerr\nout2\n' });
  });

  it.each(both)('%s: stdin bytes as given (not UTF-8, 2 MiB) and a large output capped in memory', async (_, engine) => {
    const input = Buffer.alloc(2 * 1024 * 1024, 0);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + 0xe9) & 0xff;
    const r = await engine.exec(c, ['sh', '-c', 'sha256sum | cut -c1-64; head -c 5000000 /dev/zero | tr "\\0" x'], opts({ input }));
    expect(r.exitCode).toBe(0);
    expect(r.bytes).toBe(65 + 5_000_000);
    expect(r.output.length).toBeLessThanOrEqual(DEFAULT_CONFIG.logs.tailWindowBytes);
    expect(r.output.endsWith('xxx')).toBe(true);
    const all = await engine.exec(c, ['sha256sum'], opts({ input }));
    expect(all.output.slice(0, 64)).toBe(createHash('sha256').update(input).digest('hex'));
  });

  it.each(both)('%s: environment, working directory and user', async (_, engine) => {
    const r = await engine.exec(c, ['sh', '-c', 'echo "$FOO|$(pwd)|$(id -un)"'], opts({ env: { FOO: 'a b=c' }, cwd: '/tmp', user: 'nobody' }));
    expect(r.output).toBe('a b=c|/tmp|nobody\n');
  });

  it.each(both)('%s: a command past its limit is killed inside the container and reads as a timeout', async (_, engine) => {
    const r = await engine.exec(c, ['sh', '-c', 'echo started; exec sleep 30'], opts({ timeoutS: 1 }));
    expect(r).toMatchObject({ timedOut: true, interrupted: false, lost: null });
    expect(r.output).toContain('started');
    const left = await api.exec(c, ['sh', '-c', 'ps -eo args= | grep -c "^sleep 30" || true'], opts());
    expect(left.output.trim()).toBe('0');
  });

  it.each(both)('%s: Ctrl-C stops the waiting at once', async (_, engine) => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t = performance.now();
    const r = await engine.exec(c, ['sleep', '5'], opts({ signal: ac.signal }));
    expect(r).toMatchObject({ interrupted: true, exitCode: null, timedOut: false });
    expect(performance.now() - t).toBeLessThan(3000);
    await engine.killAll(c);
  });
});

describe('Ctrl-C before the command started', () => {
  it.each(both)('%s: an exec with an aborted signal is interrupted at once (no crash, nothing run)', async (_, engine) => {
    const ac = new AbortController();
    ac.abort();
    const r = await engine.exec(c, ['sh', '-c', 'touch /tmp/ran-after-abort'], opts({ signal: ac.signal }));
    expect(r).toMatchObject({ interrupted: true, exitCode: null });
    // Nothing ran in the container (the CLI's client may have started before its kill; the API never asks).
    if (engine === api) expect((await api.exec(c, ['sh', '-c', 'test -e /tmp/ran-after-abort && echo ran || echo no'], opts())).output).toBe('no\n');
  });

  it('api: an abort while the exec is being created or attached never crashes the process', async () => {
    for (const delayMs of [0, 1, 2, 3, 5, 8, 12, 20]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), delayMs);
      const r = await api.exec(c, ['sleep', '2'], opts({ signal: ac.signal }));
      expect(r.interrupted, `abort after ${delayMs} ms`).toBe(true);
    }
    await api.killAll(c);
  });
});

describe('when the container or the engine is gone', () => {
  it('an exec in a removed container is lost (never a verdict on the code), as with the CLI', async () => {
    const gone = await api.create({ image, runId: `${runId}-gone`, limits: DEFAULT_CONFIG.container, network: false });
    await api.remove(gone.id);
    for (const engine of [api, cli]) {
      const r = await engine.exec(gone, ['true'], opts());
      expect(r.lost).toMatch(/No such container/);
      expect(r.exitCode).not.toBe(0);
    }
  });

  it('an engine that does not answer is an engine error, and an exec there is lost', async () => {
    const nowhere = new DockerApi('/nonexistent/docker.sock');
    await expect(nowhere.inspectImage(image)).rejects.toThrow(HarnessError);
    await expect(nowhere.check()).rejects.toMatchObject({ code: 'engine' });
    await expect(nowhere.create({ image, runId, limits: DEFAULT_CONFIG.container, network: false })).rejects.toMatchObject({ code: 'engine' });
    const r = await nowhere.exec(c, ['true'], opts());
    expect(r.lost).toMatch(/Cannot connect to the Docker daemon/);
  });

  it('a missing image is an image error naming it', async () => {
    await expect(api.create({ image: 'swe-harness-no-such-image:0', runId, limits: DEFAULT_CONFIG.container, network: false })).rejects.toMatchObject({
      code: 'image',
      message: expect.stringContaining('swe-harness-no-such-image:0'),
    });
    expect(await cli.listContainers(runId)).toHaveLength(1); // only the shared container
  });
});

describe('look-ups: the same answers as the CLI', () => {
  it('containers by label, with their owners', async () => {
    expect(await api.listContainers(runId)).toEqual(await cli.listContainers(runId));
    const mine = (await api.describeContainers()).filter((x) => x.runId === runId);
    expect(mine).toEqual((await cli.describeContainers()).filter((x) => x.runId === runId));
    expect(mine[0]).toMatchObject({ ownerPid: String(process.pid) });
  });

  it('an image record, and a missing image is null', async () => {
    expect(await api.inspectImage(image)).toEqual(await cli.inspectImage(image));
    expect(await api.inspectImage('swe-harness-no-such-image:0')).toBeNull();
  });

  it('images by label', async () => {
    const byName = (rs: Array<{ name: string }>) => [...rs].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(await api.listImages(IMAGE_LABELS.flavour))).toEqual(byName(await cli.listImages(IMAGE_LABELS.flavour)));
  });

  it('images by label under one repository only: a tag elsewhere with the same label is left out', async () => {
    // As a snapshot is: another repository, the base image's labels.
    const other = `swe-harness-test-other:${process.pid}`;
    await docker(['tag', image, other]);
    try {
      const names = async (e: Engine, repo?: string) => (await e.listImages(IMAGE_LABELS.flavour, repo)).map((r) => r.name).sort();
      expect(await names(api)).toContain(other);
      const mine = await names(api, DEFAULT_CONFIG.imageRepo);
      expect(mine).toContain(image);
      expect(mine.every((n) => n.startsWith(`${DEFAULT_CONFIG.imageRepo}:`))).toBe(true);
      expect(await names(cli, DEFAULT_CONFIG.imageRepo)).toEqual(mine);
      expect(await names(api, 'swe-harness-test-other')).toEqual([other]);
    } finally {
      await api.removeImage(other);
    }
  });

  it('takes a container off the network and kills everything but its main process', async () => {
    const n = await api.create({ image, runId: `${runId}-net`, limits: DEFAULT_CONFIG.container, network: true });
    try {
      await api.disconnectNetwork(n);
      const ifaces = await api.exec(n, ['sh', '-c', 'ls /sys/class/net'], opts());
      expect(ifaces.output.trim()).toBe('lo');
      await api.exec(n, ['sh', '-c', '(setsid sleep 300 >/dev/null 2>&1 &) ; sleep 300 >/dev/null 2>&1 & echo ok'], opts());
      await api.killAll(n);
      const left = await api.exec(n, ['sh', '-c', 'ps -eo args= | grep -c "^sleep 300" || true'], opts());
      expect(left.output.trim()).toBe('0');
    } finally {
      await api.remove(n.id);
    }
  });
});

describe('commit', () => {
  it('keeps the container as an image with the labels and instructions the CLI gives it', async () => {
    await api.exec(c, ['sh', '-c', 'echo kept > /root/kept.txt'], opts());
    const spec = (tag: string) => ({ tag, labels: { 'swe-harness.test': 'a "quoted" value', 'swe-harness.empty': '' }, changes: ['ENTRYPOINT ["bash"]', 'CMD ["-i"]', 'WORKDIR /root'], timeoutS: 60 });
    const tags = [`swe-harness-test-commit:api-${process.pid}`, `swe-harness-test-commit:cli-${process.pid}`];
    try {
      const ids = [await api.commit(c, spec(tags[0]!)), await cli.commit(c, spec(tags[1]!))];
      const [a, b] = await Promise.all(tags.map((t) => api.inspectImage(t)));
      expect(a!.id).toBe(ids[0]);
      expect(a!.labels).toEqual(b!.labels);
      expect(a!.labels['swe-harness.test']).toBe('a "quoted" value');
      const cfg = (t: string) => docker(['image', 'inspect', '--format', '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.WorkingDir}}', t]);
      expect((await cfg(tags[0]!)).stdout).toBe((await cfg(tags[1]!)).stdout);
      const from = await api.create({ image: tags[0]!, runId: `${runId}-commit`, limits: DEFAULT_CONFIG.container, network: false });
      try {
        expect((await api.exec(from, ['cat', 'kept.txt'], opts())).output).toBe('kept\n');
      } finally {
        await api.remove(from.id);
      }
    } finally {
      for (const t of tags) await api.removeImage(t);
    }
  });
});
