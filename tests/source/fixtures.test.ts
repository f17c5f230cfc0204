import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/core/config.js';
import { HarnessError } from '../../scripts/lib/core/errors.js';
import { ensureFixture, fixtureName, fixtureNames, fixtureSourceDir, isFixtureRepo } from '../../scripts/lib/source/fixtures.js';
import { loadTasks, resolveTaskPatchPath } from '../../scripts/lib/task/tasks.js';

/** Host git isolated from the user's config, for checks on the built repos. */
const gitEnv = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
async function git(cwd: string, ...args: string[]): Promise<string> {
  const res = await execa('git', args, { cwd, env: gitEnv });
  return String(res.stdout).trim();
}

let tmp: string;
let reposDir: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'swe-fixtures-'));
  reposDir = path.join(tmp, 'repos');
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('fixture names', () => {
  it('lists the shipped fixtures', () => {
    expect(fixtureNames()).toEqual(expect.arrayContaining(['frametools', 'probes', 'statskit']));
    expect(fixtureSourceDir('statskit')).toBe(path.join(ROOT, 'tasks', 'statskit', 'src'));
    expect(fixtureSourceDir('probes')).toBe(path.join(ROOT, 'tests', 'fixtures', 'probes', 'src'));
  });

  it('parses the fixture: scheme', () => {
    expect(isFixtureRepo('fixture:statskit')).toBe(true);
    expect(isFixtureRepo('https://github.com/x/y')).toBe(false);
    expect(isFixtureRepo('/srv/fixture:x')).toBe(false);
    expect(fixtureName('fixture:statskit')).toBe('statskit');
    expect(() => fixtureName('https://github.com/x/y')).toThrow(HarnessError);
    expect(() => fixtureName('fixture:../x')).toThrow(/bad fixture name/);
  });

  it.each(['nope', '../tasks', '', 'statskit/src'])('unknown fixture %j is a task error listing the known ones', async (name) => {
    const err = await ensureFixture(name, reposDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HarnessError);
    expect((err as HarnessError).code).toBe('task');
    expect((err as HarnessError).message).toBe(
      `unknown fixture ${JSON.stringify(name)}; known fixtures: ${fixtureNames().join(', ')}`,
    );
  });
});

describe('ensureFixture', () => {
  it('builds a normal one-commit repo on main with a fixed identity and date', async () => {
    const { path: repo, head } = await ensureFixture('statskit', reposDir);
    expect(repo).toBe(path.join(reposDir, 'statskit'));
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(await git(repo, 'rev-parse', '--is-bare-repository')).toBe('false');
    expect(await git(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/main');
    expect(await git(repo, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(await git(repo, 'log', '-1', '--format=%an <%ae> %aI|%cn <%ce> %cI')).toBe(
      'swe-harness fixtures <fixtures@swe-harness.invalid> 2024-01-01T00:00:00+00:00|' +
        'swe-harness fixtures <fixtures@swe-harness.invalid> 2024-01-01T00:00:00+00:00',
    );
    expect(await git(repo, 'status', '--porcelain')).toBe('');
    expect(existsSync(path.join(repo, '.git', 'hooks'))).toBe(false);
    const files = (await git(repo, 'ls-files')).split('\n');
    expect(files).toContain('statskit/rolling.py');
    expect(files.some((f) => f.includes('__pycache__') || f.endsWith('.pyc'))).toBe(false);
    // No leftovers beside it.
    expect(await fs.readdir(reposDir)).toEqual(['statskit']);
  });

  it('building twice gives the same head and the second call does not rebuild', async () => {
    const first = await ensureFixture('frametools', reposDir);
    const stamp = path.join(first.path, '.git', 'swe-harness-fixture.json');
    const before = (await fs.stat(stamp)).mtimeMs;
    const started = Date.now();
    const second = await ensureFixture('frametools', reposDir);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(second).toEqual(first);
    expect((await fs.stat(stamp)).mtimeMs).toBe(before);
  });

  it('is deterministic: a build in another directory, under a hostile git environment, has the same head', async () => {
    const a = await ensureFixture('probes', reposDir);
    const saved = { ...process.env };
    Object.assign(process.env, {
      GIT_AUTHOR_NAME: 'Someone Else',
      GIT_AUTHOR_DATE: '2030-05-05T05:05:05Z',
      GIT_COMMITTER_EMAIL: 'x@y',
      GIT_DIR: path.join(tmp, 'nowhere'),
      GIT_CONFIG_PARAMETERS: "'core.autocrlf'='true'",
      TZ: 'Pacific/Auckland',
    });
    try {
      const b = await ensureFixture('probes', path.join(tmp, 'elsewhere'));
      expect(b.head).toBe(a.head);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('rebuilds a repo that was changed after the build', async () => {
    const dir = path.join(tmp, 'tampered');
    const { path: repo, head } = await ensureFixture('statskit', dir);
    await fs.writeFile(path.join(repo, 'extra.txt'), 'x\n');
    await execa('git', ['-c', 'user.name=x', '-c', 'user.email=x@x', 'add', 'extra.txt'], { cwd: repo, env: gitEnv });
    await execa('git', ['-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'tamper'], { cwd: repo, env: gitEnv });
    expect(await git(repo, 'rev-parse', 'HEAD')).not.toBe(head);
    const again = await ensureFixture('statskit', dir);
    expect(again.head).toBe(head);
    expect(await git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(existsSync(path.join(repo, 'extra.txt'))).toBe(false);
    expect(await fs.readdir(dir)).toEqual(['statskit']);
  });

  it('replaces a stale stamp or junk in the way', async () => {
    const dir = path.join(tmp, 'stale');
    await fs.mkdir(path.join(dir, 'frametools'), { recursive: true });
    await fs.writeFile(path.join(dir, 'frametools', 'junk'), 'junk');
    const { head } = await ensureFixture('frametools', dir);
    const stampFile = path.join(dir, 'frametools', '.git', 'swe-harness-fixture.json');
    const stamp = JSON.parse(await fs.readFile(stampFile, 'utf8')) as { stamp: string; head: string };
    await fs.writeFile(stampFile, JSON.stringify({ ...stamp, stamp: 'old' }));
    const again = await ensureFixture('frametools', dir);
    expect(again.head).toBe(head);
    expect(JSON.parse(await fs.readFile(stampFile, 'utf8'))).toEqual(stamp);
    expect(await fs.readdir(dir)).toEqual(['frametools']);
  });

  it('is safe when called concurrently', async () => {
    const dir = path.join(tmp, 'parallel');
    const results = await Promise.all(Array.from({ length: 6 }, () => ensureFixture('statskit', dir)));
    expect(new Set(results.map((r) => r.head)).size).toBe(1);
    expect(await fs.readdir(dir)).toEqual(['statskit']);
    expect(await git(path.join(dir, 'statskit'), 'status', '--porcelain')).toBe('');
  });
});

describe('seed tasks and shipped patches', () => {
  it('every fixture: task pins the commit ensureFixture builds', async () => {
    const tasks = (await loadTasks(path.join(ROOT, 'seed_tasks.jsonl'))).filter((t) => isFixtureRepo(t.repo));
    expect(tasks.length).toBeGreaterThan(0);
    for (const t of tasks) {
      const { head } = await ensureFixture(fixtureName(t.repo), reposDir);
      expect(t.ref, `${t.task_id}: seed_tasks.jsonl ref is stale; rebuild gives ${head}`).toBe(head);
    }
  });

  it.each(['statskit', 'frametools'])('tasks/%s/fix.patch applies cleanly to a fresh clone', async (name) => {
    const { path: repo, head } = await ensureFixture(name, reposDir);
    const patch = resolveTaskPatchPath({ patch: `tasks/${name}/fix.patch` })!;
    const text = await fs.readFile(patch, 'utf8');
    expect(text).toMatch(/^diff --git a\/\S+ b\/\S+$/m);
    expect(text).toMatch(/^--- a\//m);
    expect(text).toMatch(/^\+\+\+ b\//m);
    const clone = path.join(tmp, `clone-${name}`);
    await execa('git', ['clone', '-q', repo, clone], { env: gitEnv });
    expect(await git(clone, 'rev-parse', 'HEAD')).toBe(head);
    await execa('git', ['apply', '--check', patch], { cwd: clone, env: gitEnv });
    await execa('git', ['apply', patch], { cwd: clone, env: gitEnv });
    expect(await git(clone, 'diff', '--name-only')).toBe(name === 'statskit' ? 'statskit/rolling.py' : 'frametools/grouping.py');
  });
});
