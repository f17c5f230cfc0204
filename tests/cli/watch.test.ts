import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contentHash, waitForChange, watchRuns } from '../../scripts/lib/cli/watch.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-watch-'));
  file = path.join(dir, 'fix.diff');
  fs.writeFileSync(file, 'one\n');
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Whether the wait resolved within `ms`, and with what. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
}

describe('waitForChange', () => {
  it('resolves when the content changes in place, well before the poll', async () => {
    const wait = waitForChange(file, contentHash(file), new AbortController().signal);
    setTimeout(() => fs.writeFileSync(file, 'two\n'), 20);
    expect(await within(wait, 600)).toBe(true);
  });

  it('resolves when an editor saves by renaming a new file over it', async () => {
    const wait = waitForChange(file, contentHash(file), new AbortController().signal);
    setTimeout(() => {
      fs.writeFileSync(path.join(dir, '.fix.diff.swp'), 'two\n');
      fs.renameSync(path.join(dir, '.fix.diff.swp'), file);
    }, 20);
    expect(await within(wait, 600)).toBe(true);
  });

  it('does not resolve for a save that leaves the content as it was, nor for another file in the directory', async () => {
    const wait = waitForChange(file, contentHash(file), new AbortController().signal);
    setTimeout(() => {
      fs.writeFileSync(file, 'one\n');
      fs.writeFileSync(path.join(dir, 'other.diff'), 'x\n');
    }, 20);
    expect(await within(wait, 1500)).toBe('pending');
  });

  it('waits while the file is missing and resolves once it is back with new content', async () => {
    const last = contentHash(file);
    fs.rmSync(file);
    expect(contentHash(file)).toBeNull();
    const wait = waitForChange(file, last, new AbortController().signal);
    expect(await within(wait, 300)).toBe('pending');
    fs.writeFileSync(file, 'three\n');
    expect(await within(wait, 600)).toBe(true);
  });

  it('resolves false when aborted, at once when already aborted', async () => {
    const c = new AbortController();
    const wait = waitForChange(file, contentHash(file), c.signal);
    setTimeout(() => c.abort(), 20);
    expect(await within(wait, 300)).toBe(false);
    expect(await within(waitForChange(file, null, c.signal), 50)).toBe(false);
  });

  it('takes an empty file as a save in progress, and a content only once it holds still', async () => {
    const wait = waitForChange(file, contentHash(file), new AbortController().signal);
    fs.writeFileSync(file, ''); // truncated by a writer that is not done
    expect(await within(wait, 400)).toBe('pending');
    // Written in pieces 100 ms apart: nothing is taken before the last piece has held still.
    let last = 0;
    for (const piece of ['diff --git a/x b/x\n', '--- a/x\n', '+++ b/x\n']) {
      fs.appendFileSync(file, piece);
      last = Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await within(wait, 1000)).toBe(true);
    expect(Date.now() - last).toBeGreaterThanOrEqual(140);
  });

  it('says once that the file is gone, and again after it came back and went again', async () => {
    let told = 0;
    const wait = waitForChange(file, contentHash(file), new AbortController().signal, () => told++);
    fs.rmSync(file);
    await new Promise((r) => setTimeout(r, 200));
    fs.writeFileSync(path.join(dir, 'unrelated'), 'x'); // another event: no second notice
    await new Promise((r) => setTimeout(r, 200));
    expect(told).toBe(1);
    fs.writeFileSync(file, 'one\n'); // back, unchanged: still waiting
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(file);
    await new Promise((r) => setTimeout(r, 200));
    expect(told).toBe(2);
    expect(await within(wait, 10)).toBe('pending');
  });

  it('falls back to the poll when the directory cannot be watched', async () => {
    const gone = path.join(dir, 'no-such-dir', 'fix.diff');
    const wait = waitForChange(gone, null, new AbortController().signal);
    expect(await within(wait, 300)).toBe('pending');
    fs.mkdirSync(path.dirname(gone));
    fs.writeFileSync(gone, 'new\n');
    expect(await within(wait, 1600)).toBe(true);
  });
});

describe('watchRuns', () => {
  const options = (c: AbortController, lines: string[]) => ({ file, shown: 'fix.diff', signal: c.signal, phase: { waiting: false }, say: (l: string) => lines.push(l) });

  it('runs again on each change, goes on after a later error, and ends with the last code when stopped while waiting', async () => {
    const c = new AbortController();
    const lines: string[] = [];
    const o = options(c, lines);
    const codes = [1, 'bad', 0];
    let runs = 0;
    const done = watchRuns(o, async () => {
      const next = codes[runs++];
      if (next === 'bad') throw new HarnessError('usage', 'the patch is bad');
      return next as number;
    });
    const until = async (n: number) => {
      while (lines.filter((l) => l.startsWith('watching ')).length < n) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    expect(o.phase.waiting).toBe(true);
    fs.writeFileSync(file, 'two\n');
    await until(2);
    fs.writeFileSync(file, 'three\n');
    await until(3);
    c.abort();
    expect(await done).toBe(0);
    expect(runs).toBe(3);
    expect(lines.every((l) => l === 'watching fix.diff: runs again when it changes (Ctrl-C to stop)')).toBe(true);
  });

  it('lets the first run fail as it would without a watch', async () => {
    const c = new AbortController();
    await expect(watchRuns(options(c, []), async () => {
      throw new HarnessError('usage', 'no such patch file');
    })).rejects.toThrow('no such patch file');
  });

  it('ends without waiting when the run itself was interrupted', async () => {
    const c = new AbortController();
    const lines: string[] = [];
    const code = await watchRuns(options(c, lines), async () => {
      c.abort();
      return 130;
    });
    expect(code).toBe(130);
    expect(lines).toEqual([]);
  });
});
