/** The check-and-reset step of a prebuilt image, run with bash and git on this host. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkoutArgv, checkoutNote } from '../../scripts/lib/source/in-image.js';

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: os.tmpdir(), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
let dir: string;
let base: string;

const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' }).stdout.trim();
function checkout(commit: string, where = dir) {
  const [cmd, ...args] = checkoutArgv(where, commit);
  const r = spawnSync(cmd!, args, { env: GIT_ENV, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-in-image-'));
  git('init', '-q');
  fs.writeFileSync(path.join(dir, 'a.py'), 'x = 1\n');
  fs.writeFileSync(path.join(dir, '.gitignore'), 'build/\n');
  git('add', '.');
  git('commit', '-qm', 'base');
  base = git('rev-parse', 'HEAD');
});

describe('the repository in a prebuilt image', () => {
  it('is left alone at base_commit, its ignored and untracked build outputs too', () => {
    fs.mkdirSync(path.join(dir, 'build'));
    fs.writeFileSync(path.join(dir, 'pkg.egg-info'), '');
    const r = checkout(base);
    expect(r.code).toBe(0);
    expect(checkoutNote(r.out)).toBe('at base_commit');
    expect(r.out).toContain(`HEAD ${base}`);
    expect(fs.existsSync(path.join(dir, 'pkg.egg-info'))).toBe(true);
  });

  it('is reset to base_commit when the image holds a later commit and stray files (ignored ones stay)', () => {
    fs.writeFileSync(path.join(dir, 'a.py'), 'x = 2\n');
    git('commit', '-qam', 'later');
    const later = git('rev-parse', 'HEAD');
    fs.writeFileSync(path.join(dir, 'stray.txt'), 'left over\n');
    fs.mkdirSync(path.join(dir, 'build'));
    const r = checkout(base);
    expect(r.code).toBe(0);
    expect(checkoutNote(r.out)).toBe(`reset to base_commit from ${later}`);
    expect(git('rev-parse', 'HEAD')).toBe(base);
    expect(fs.readFileSync(path.join(dir, 'a.py'), 'utf8')).toBe('x = 1\n');
    expect(fs.existsSync(path.join(dir, 'stray.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(true);
  });

  it('is reset when a tracked file was edited at base_commit', () => {
    fs.writeFileSync(path.join(dir, 'a.py'), 'x = 3\n');
    const r = checkout(base);
    expect(checkoutNote(r.out)).toMatch(/^reset to base_commit from /);
    expect(fs.readFileSync(path.join(dir, 'a.py'), 'utf8')).toBe('x = 1\n');
  });

  it.each([
    ['a base_commit the image does not hold', () => checkout('0'.repeat(40)), /base_commit 0{40} is not in the image's repository/],
    ['no repository at the work dir', () => checkout('HEAD', path.join(dir, 'nope')), /no repository at .*nope in the image/],
  ])('fails with one line for %s', (_, run, message) => {
    const r = run();
    expect(r.code).toBe(1);
    expect(r.out.trim()).toMatch(message);
    expect(r.out.trim().split('\n')).toHaveLength(1);
  });
});
