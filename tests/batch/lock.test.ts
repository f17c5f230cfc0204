import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, lockRunsDir } from '../../scripts/lib/batch/lock.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swe-harness-lock-'));

describe('lockRunsDir', () => {
  it('takes a free runs dir and gives it back', () => {
    const dir = tmp();
    const release = lockRunsDir(dir);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    release();
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  it('refuses a runs dir another live run-many holds, naming the dir and the pid', async () => {
    const dir = tmp();
    const other = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(path.join(dir, LOCK_FILE), `${other.pid}\n`);
      expect(() => lockRunsDir(dir)).toThrow(new RegExp(`runs dir ${dir} is in use by run-many \\(pid ${other.pid}\\)`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, LOCK_FILE), '999999999\n');
    const release = lockRunsDir(dir);
    expect(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    release();
  });
});
