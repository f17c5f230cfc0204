/** Host-side mirrors and repository resolution (real git, no network). */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixture } from '../../scripts/lib/source/fixtures.js';
import { ensureMirror, githubSlug, mirrorPath } from '../../scripts/lib/source/mirror.js';
import { resolveRepo } from '../../scripts/lib/source/repo.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-mirror-'));

describe('githubSlug', () => {
  it.each([
    ['psf/requests', 'psf/requests'],
    ['https://github.com/psf/requests', 'psf/requests'],
    ['https://github.com/psf/requests.git', 'psf/requests'],
    ['git@github.com:psf/requests.git', 'psf/requests'],
    ['https://gitlab.com/psf/requests', null],
    ['fixture:statskit', null],
    ['../my-local-repo', null],
    ['./repos', null],
  ])('reads %s as %s', (repo, slug) => {
    expect(githubSlug(repo)).toBe(slug);
  });
});

describe('mirrors', () => {
  it('fills a mirror once, atomically, and serves it as a local repository', async () => {
    const fixture = await ensureFixture('statskit');
    const cache = tmp();
    const m = await ensureMirror(cache, 'someone/statskit', fixture.path, { timeoutS: 60 });
    expect(m).toBe(mirrorPath(cache, 'someone/statskit'));
    expect(fs.readdirSync(cache)).toEqual(['someone__statskit.git']);
    const src = await resolveRepo('someone/statskit', { repoCache: cache, ref: fixture.head });
    expect(src).toEqual({ kind: 'local', hostPath: m });
  });

  it('says which repository could not be mirrored and leaves nothing half-made', async () => {
    const cache = tmp();
    await expect(ensureMirror(cache, 'nobody/nothing', path.join(cache, 'missing'), { timeoutS: 30 })).rejects.toThrow(/nobody\/nothing/);
    expect(fs.readdirSync(cache)).toEqual([]);
  });

  it('serialises concurrent fills of one mirror: both callers get the same valid mirror, no temp dir is left', async () => {
    const fixture = await ensureFixture('statskit');
    const cache = tmp();
    const [a, b] = await Promise.all([
      ensureMirror(cache, 'someone/statskit', fixture.path, { timeoutS: 60 }),
      ensureMirror(cache, 'someone/statskit', fixture.path, { timeoutS: 60, ref: fixture.head }),
    ]);
    expect(a).toBe(mirrorPath(cache, 'someone/statskit'));
    expect(b).toBe(a);
    expect(fs.readdirSync(cache)).toEqual(['someone__statskit.git']);
    expect(execFileSync('git', ['-C', a, 'rev-parse', `${fixture.head}^{commit}`], { encoding: 'utf8' }).trim()).toBe(fixture.head);
    expect(execFileSync('git', ['-C', a, 'fsck', '--no-progress'], { encoding: 'utf8' })).toBe('');
  });

  it('waits for another process that holds the lock, and takes over a lock whose process is gone', async () => {
    const fixture = await ensureFixture('statskit');
    const cache = tmp();
    const dest = mirrorPath(cache, 'someone/statskit');
    // A live "other process" holds the lock (and left a temp clone behind).
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    fs.writeFileSync(`${dest}.lock`, `${holder.pid}\n`);
    fs.mkdirSync(`${dest}.tmp-crashed`);
    let done = false;
    const p = ensureMirror(cache, 'someone/statskit', fixture.path, { timeoutS: 60 }).finally(() => (done = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(done).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect(await p).toBe(dest);
    expect(fs.readdirSync(cache)).toEqual(['someone__statskit.git']);
  });

  it('says that git could not start rather than that it timed out', async () => {
    const cache = tmp();
    const PATH = process.env.PATH;
    process.env.PATH = cache; // no git here
    try {
      await expect(ensureMirror(cache, 'nobody/nothing', path.join(cache, 'missing'), { timeoutS: 30 })).rejects.toThrow(/could not start git.*ENOENT/);
    } finally {
      process.env.PATH = PATH;
    }
    expect(fs.readdirSync(cache)).toEqual([]);
  });

  it('kills git and every helper it started at the time limit', async () => {
    const cache = tmp();
    const marker = `${3000 + Math.floor(Math.random() * 1000)}`;
    const before = process.env.GIT_ALLOW_PROTOCOL;
    process.env.GIT_ALLOW_PROTOCOL = 'ext'; // a transport whose helper runs a command: `sleep`
    try {
      await expect(ensureMirror(cache, 'slow/remote', `ext::sh -c sleep% ${marker}`, { timeoutS: 1 })).rejects.toThrow(/slow\/remote.*timed out after 1s/);
    } finally {
      if (before === undefined) delete process.env.GIT_ALLOW_PROTOCOL;
      else process.env.GIT_ALLOW_PROTOCOL = before;
    }
    await new Promise((r) => setTimeout(r, 200));
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`sleep ${marker}`));
    expect(left).toEqual([]);
    expect(fs.readdirSync(cache)).toEqual([]);
  });

  it('prefers a per-repository local path over the cache and GitHub', async () => {
    const fixture = await ensureFixture('statskit');
    const src = await resolveRepo('https://github.com/someone/statskit', { repoPaths: { 'someone/statskit': fixture.path }, repoCache: tmp() });
    expect(src).toEqual({ kind: 'local', hostPath: fixture.path });
  });

  it('rejects a per-repository path that is not a git repository, naming it', async () => {
    const dir = tmp();
    await expect(resolveRepo('psf/requests', { repoPaths: { 'psf/requests': dir } })).rejects.toThrow(new RegExp(`psf/requests.*${dir}.*not a git repository`));
  });
});
