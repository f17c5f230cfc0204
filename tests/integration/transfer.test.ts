/**
 * Streaming an image to an engine that refuses it: the run must end as soon as
 * the load fails, with the engine's reason, not when the time limit runs out.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { DockerCli } from '../../scripts/lib/engine/docker-cli.js';
import { localEngine } from '../../scripts/lib/engine/docker.js';
import { resolveImage } from '../../scripts/lib/engine/images.js';
import { streamImage } from '../../scripts/lib/engine/transfer.js';

let server: http.Server;
let sock: string;

beforeAll(async () => {
  // Answers the ping as Docker does and every other call with a 404 in Docker's words (a proxy that blocks image calls).
  sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-refusing-')), 'engine.sock');
  server = http.createServer((req, res) => {
    req.resume();
    if (req.url?.endsWith('/_ping')) return res.end('OK');
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"page not found"}');
  });
  await new Promise<void>((r) => server.listen(sock, r));
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('streamImage', () => {
  it('ends when the load fails, with its reason, long before the time limit', async () => {
    const image = (await resolveImage(null)).name;
    const to = new DockerCli({ target: { host: `unix://${sock}`, stripEnv: true }, label: `unix://${sock}`, sharesHostFiles: false });
    const started = Date.now();
    const err = await streamImage(image, localEngine(), to, { timeoutS: 120 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect(String((err as Error).message)).toMatch(/load of .* on engine unix:\/\/.* failed: .*page not found/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
