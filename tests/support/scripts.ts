/** Running the project's entry scripts as a user would, and reading the results they leave. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/core/config.js';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node --import tsx scripts/<name>.ts ...args` from the project root (as `user` through su when given), killed after `timeoutMs`. */
export function runScript(name: string, args: string[], opts: { timeoutMs?: number; user?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ScriptRun> {
  return new Promise((resolve) => {
    const argv = ['--import', 'tsx', `scripts/${name}.ts`, ...args];
    const child = opts.user
      ? spawn('su', [opts.user, '-c', [process.execPath, ...argv].map((a) => `'${a}'`).join(' ')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The result.json files of the run directories under `dir`, parsed. */
export function resultsIn(dir: string): Array<Record<string, unknown>> {
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'result.json')))
    .map((d) => JSON.parse(fs.readFileSync(path.join(dir, d, 'result.json'), 'utf8')) as Record<string, unknown>);
}
