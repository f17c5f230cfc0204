/**
 * The engine API client's pure parts: memory sizes as the docker CLI reads
 * them, the multiplexed stream split however the bytes arrive, and the create
 * request matching what `docker run` is given for the same options.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { createBody, DockerApi, memoryBytes, splitTag, StreamDemuxer, unixSocketOf } from '../../scripts/lib/engine/docker-api.js';
import { runArgs } from '../../scripts/lib/engine/docker-cli.js';

describe('memoryBytes', () => {
  it.each([
    ['2g', 2 * 1024 ** 3],
    ['512m', 512 * 1024 ** 2],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['1000', 1000],
    ['1t', 1024 ** 4],
  ])('%s is %d bytes', (spec, bytes) => expect(memoryBytes(spec)).toBe(bytes));

  it.each(['', 'lots', '2x', '-1g', '2 g b'])('refuses %j naming it', (spec) => {
    expect(() => memoryBytes(spec)).toThrow(HarnessError);
    expect(() => memoryBytes(spec)).toThrow(`"${spec}"`);
  });
});

describe('StreamDemuxer', () => {
  const frame = (stream: number, text: string) => {
    const payload = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(payload.length, 4);
    return Buffer.concat([head, payload]);
  };

  it('joins stdout and stderr payloads in order however the bytes are cut', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'from stderr '), frame(1, ''), frame(1, 'world')]);
    for (let cut = 1; cut < all.length; cut++) {
      const got: Buffer[] = [];
      const d = new StreamDemuxer((b) => got.push(Buffer.from(b)));
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      expect(Buffer.concat(got).toString()).toBe('hello from stderr world');
    }
  });

  it('passes bytes that are not UTF-8 through untouched', () => {
    const got: Buffer[] = [];
    const d = new StreamDemuxer((b) => got.push(Buffer.from(b)));
    const raw = Buffer.from([0xff, 0xfe, 0xe9, 0x00]);
    const head = Buffer.alloc(8);
    head[0] = 1;
    head.writeUInt32BE(raw.length, 4);
    for (const byte of Buffer.concat([head, raw])) d.push(Buffer.from([byte]));
    expect(Buffer.concat(got)).toEqual(raw);
  });
});

describe('createBody', () => {
  const opts = {
    image: 'swebench-lite:py3.11',
    runId: 'r1',
    limits: DEFAULT_CONFIG.container,
    network: false,
    mounts: [{ host: '/srv/repo', container: '/mnt/src' }],
    workdir: '/workspace/project',
  };

  it('asks for what docker run is given: limits, labels, init, removal, scratch tmpfs, read-only mounts', () => {
    const body = createBody(opts) as { HostConfig: Record<string, unknown>; Labels: Record<string, string>; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
    const args = runArgs(opts);
    const hc = body.HostConfig;
    expect(hc.Memory).toBe(2 * 1024 ** 3);
    expect(hc.MemorySwap).toBe(hc.Memory);
    expect(args).toContain('--memory-swap');
    expect(hc.PidsLimit).toBe(DEFAULT_CONFIG.container.pids);
    expect(hc.NanoCpus).toBe(DEFAULT_CONFIG.container.cpus * 1e9);
    expect(hc.NetworkMode).toBe('none');
    expect(hc.AutoRemove).toBe(true);
    expect(hc.Init).toBe(true);
    expect(hc.Binds).toEqual(['/srv/repo:/mnt/src:ro']);
    expect(args).toContain('/srv/repo:/mnt/src:ro');
    for (const [dir, o] of Object.entries(hc.Tmpfs as Record<string, string>)) expect(args).toContain(`${dir}:${o}`);
    for (const [k, v] of Object.entries(body.Labels)) expect(args).toContain(`${k}=${v}`);
    expect(body.WorkingDir).toBe('/workspace/project');
    // The same main script and TTL as the CLI's argv ends with.
    expect([...body.Entrypoint, ...body.Cmd].slice(1)).toEqual(args.slice(args.indexOf(opts.image) + 1));
  });

  it('asks for no bind mount at all when there is none (an engine elsewhere shows Binds null)', () => {
    expect((createBody({ ...opts, mounts: [] }) as { HostConfig: Record<string, unknown> }).HostConfig).not.toHaveProperty('Binds');
  });

  it('joins the bridge only when the container needs the network', () => {
    expect((createBody({ ...opts, network: true }) as { HostConfig: { NetworkMode: string } }).HostConfig.NetworkMode).toBe('bridge');
  });
});

describe('unixSocketOf', () => {
  it('takes the path of a unix:// host and nothing else', () => {
    expect(unixSocketOf('unix:///var/run/docker.sock')).toBe('/var/run/docker.sock');
    expect(unixSocketOf('tcp://10.0.0.2:2376')).toBeNull();
    expect(unixSocketOf('ssh://me@host')).toBeNull();
    expect(unixSocketOf('unix://relative')).toBeNull();
  });
});

describe('splitTag', () => {
  it('splits repository and tag, leaving a registry port alone', () => {
    expect(splitTag('swe-harness-snapshot:abc')).toEqual({ repo: 'swe-harness-snapshot', tag: 'abc' });
    expect(splitTag('localhost:5000/x/y')).toEqual({ repo: 'localhost:5000/x/y', tag: 'latest' });
    expect(splitTag('localhost:5000/x:1')).toEqual({ repo: 'localhost:5000/x', tag: '1' });
    expect(splitTag('plain')).toEqual({ repo: 'plain', tag: 'latest' });
  });
});

describe('an endpoint that is not Docker', () => {
  // A socket that answers HTTP, but not as an engine does (a web server, a proxy's error page).
  const serve = async (body: string) => {
    const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-notdocker-')), 'fake.sock');
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(sock, r));
    return { api: new DockerApi(sock), close: () => new Promise<void>((r) => server.close(() => r())) };
  };

  it('is "not reachable", saying what answered, for the ping and for any call', async () => {
    const { api, close } = await serve('<html>hello</html>');
    try {
      const ping = await api.check().then(() => null, (e: unknown) => e);
      expect(ping).toBeInstanceOf(HarnessError);
      expect(ping).toMatchObject({ code: 'engine' });
      expect(String((ping as Error).message)).toMatch(/not reachable.*HTTP 200 "<html>hello<\/html>", not Docker's "OK"/);
      const look = await api.inspectImage('swebench-lite:py3.11').then(() => null, (e: unknown) => e);
      expect(look).toMatchObject({ code: 'engine' });
      expect(String((look as Error).message)).toMatch(/not Docker's API: HTTP 200 "<html>hello<\/html>"/);
    } finally {
      await close();
    }
  });

  it.each(['{"foo":1}', '[1,2,3]', '{"Id":7}'])('is "not reachable" when its JSON is not in Docker\'s shapes: %s', async (body) => {
    const { api, close } = await serve(body);
    try {
      for (const call of [() => api.inspectImage('swebench-lite:py3.11'), () => api.listImages('swe-harness.flavour'), () => api.describeContainers()]) {
        const err = await call().then(() => null, (e: unknown) => e);
        expect(err).toMatchObject({ code: 'engine' });
        expect(String((err as Error).message)).toMatch(/not Docker's API/);
      }
    } finally {
      await close();
    }
  });
});
