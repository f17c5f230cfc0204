/**
 * Harness images on the real Docker engine. CI builds the image before the
 * tests (npm run setup), so buildImage here is a skip; on a fresh machine the
 * first call builds the offline image (a few minutes, needs root).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { IMAGE_LABELS, DEFAULT_CONFIG, ROOT } from '../../scripts/lib/core/config.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { buildImage, recipeHash } from '../../scripts/lib/engine/image-build.js';
import { listHarnessImages, resolveImage, type ImageInfo } from '../../scripts/lib/engine/images.js';

describe('harness image (real docker engine)', () => {
  let offline: ImageInfo;

  beforeAll(async () => {
    offline = await buildImage({ flavour: 'offline', log: (l) => console.error(`build-image: ${l}`) });
  }, 900_000);

  it('skips the build when an image of the current recipe exists', async () => {
    const again = await buildImage({ flavour: 'offline' });
    expect(again.built).toBe(false);
    expect(again.id).toBe(offline.id);
    expect(again.name).toBe(`${DEFAULT_CONFIG.imageRepo}:py${again.python}`);
    expect(again.recipe).toBe(recipeHash('offline'));
    expect(again.flavour).toBe('offline');
    expect(again.pytest).toMatch(/^\d+\.\d+/);
  });

  it('lists the offline image with its labels', async () => {
    const images = await listHarnessImages();
    const mine = images.find((i) => i.id === offline.id);
    expect(mine).toBeDefined();
    expect(mine?.python).toBe(offline.python);
    expect(mine?.recipe).toBe(offline.recipe);
  });

  it('resolveImage(null) gives an image whose python label is the python inside', async () => {
    const img = await resolveImage(null);
    expect(img.python).toMatch(/^\d+\.\d+$/);
    const { stdout } = await execa('docker', ['run', '--rm', '--network', 'none', img.name, 'python3', '--version']);
    expect(stdout.trim()).toMatch(new RegExp(`^Python ${img.python.replace('.', '\\.')}\\.\\d+`));
    // Cached: the same answer without asking Docker again.
    expect(await resolveImage(null)).toBe(img);
  });

  it('resolveImage of a named image reports its labels', async () => {
    const img = await resolveImage(offline.name);
    expect(img.flavour).toBe('offline');
    expect(img.python).toBe(offline.python);
    const { stdout } = await execa('docker', [
      'image', 'inspect', '--format', `{{index .Config.Labels "${IMAGE_LABELS.python}"}}`, offline.name,
    ]);
    expect(stdout.trim()).toBe(img.python);
  });

  it('never takes an image built FROM the harness image under another name for a harness image', async () => {
    const derived = 'swe-harness-test/derived-from-harness:latest';
    await execa('docker', ['build', '-q', '-t', derived, '-'], { input: `FROM ${offline.name}\nLABEL swe-harness.test=derived\n` });
    try {
      // It is newer and carries every harness label, inherited.
      const { stdout } = await execa('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${IMAGE_LABELS.flavour}"}}`, derived]);
      expect(stdout.trim()).toBe('offline');
      expect((await listHarnessImages()).map((i) => i.name)).not.toContain(derived);
    } finally {
      await execa('docker', ['rmi', '-f', derived]);
    }
  });

  it('resolveImage of a missing image throws HarnessError(image) naming it', async () => {
    const err = await resolveImage('no-such-image:x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('image');
    expect((err as HarnessError).message).toContain('"no-such-image:x"');
    expect((err as HarnessError).message).toContain('npm run build-image');
  });
});

describe('recipeHash', () => {
  it('is stable, short hex, and differs by flavour', () => {
    const a = recipeHash('offline');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(recipeHash('offline')).toBe(a);
    expect(recipeHash('registry')).toMatch(/^[0-9a-f]{16}$/);
    expect(recipeHash('registry')).not.toBe(a);
  });
});

describe('build-image command line', () => {
  const buildImageCli = (args: string[], nodeArgs: string[] = []) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', ...nodeArgs, 'scripts/build-image.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('reports a bad option on one line with exit 2', () => {
    const r = buildImageCli(['--flavour', 'offline', '--flavour', 'registry']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: --flavour given more than once');
  });

  it('reports an unexpected failure (not a HarnessError) on one line with exit 3, no stack trace', () => {
    // A preloaded module slips a non-string into argv: the flag parser throws a TypeError.
    const pre = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-image-')), 'pre.mjs');
    fs.writeFileSync(pre, "process.argv.push(Symbol('not an argument'));\n");
    const r = buildImageCli([], ['--import', pre]);
    expect(r.code).toBe(3);
    // One line naming it an internal error (what the TypeError says depends on where it is thrown).
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^internal error: \S.*$/)]);
  });
});
