/**
 * Images between engines: `docker save` from one engine piped into `docker
 * load` (or `podman load`) on another, with a progress line every few seconds. How a remote
 * engine or podman gets an image that only this machine's engine has (built here, not in a registry).
 */
import { spawn } from 'node:child_process';
import { HarnessError, firstLine } from '../core/errors.js';
import { DockerCli } from './docker-cli.js';
import { ENGINE_DOWN } from './docker-client.js';
import type { Engine } from './engine.js';

export interface StreamOptions {
  timeoutS: number;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Seconds between progress lines (default 5). */
  everyS?: number;
}

export interface StreamResult {
  bytes: number;
  seconds: number;
}

const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;

/**
 * Stream image `name` from engine `from` to engine `to`.
 * @throws HarnessError('engine') naming `to` when it went away, ('image') when save or load failed.
 */
export function streamImage(name: string, from: Engine, to: Engine, opts: StreamOptions): Promise<StreamResult> {
  if (!(from instanceof DockerCli) || !(to instanceof DockerCli)) {
    return Promise.reject(new HarnessError('internal', `cannot stream images between engines ${from.label} and ${to.label}`));
  }
  const log = opts.log ?? (() => {});
  const save = from.client(['save', name]);
  const load = to.client(['load', '--quiet']);
  const started = performance.now();
  const secs = () => (performance.now() - started) / 1000;
  return new Promise((resolve, reject) => {
    const saver = spawn(save.bin, save.argv, { stdio: ['ignore', 'pipe', 'pipe'], env: save.env });
    const loader = spawn(load.bin, load.argv, { stdio: ['pipe', 'pipe', 'pipe'], env: load.env });
    let bytes = 0;
    const errs = { save: '', load: '' };
    saver.stderr.on('data', (d: Buffer) => (errs.save += d.toString('utf8').slice(0, 2000)));
    loader.stderr.on('data', (d: Buffer) => (errs.load += d.toString('utf8').slice(0, 2000)));
    loader.stdout.resume();
    saver.stdout.on('data', (d: Buffer) => (bytes += d.length));
    saver.stdout.pipe(loader.stdin);
    loader.stdin.on('error', () => {}); // the loader died: its exit says why
    const ticker = setInterval(() => log(`[image] ${name} → ${to.label}: ${mib(bytes)} sent (${secs().toFixed(0)} s)`), (opts.everyS ?? 5) * 1000);
    let killedWhy: string | null = null;
    const kill = (why: string) => {
      killedWhy ??= why;
      saver.kill('SIGKILL');
      loader.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`did not finish within ${opts.timeoutS} s`), opts.timeoutS * 1000);
    const onAbort = () => kill('interrupted');
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const ends = [saver, loader].map((p) => new Promise<number | null>((res) => {
      p.on('error', () => res(null));
      p.on('close', (code) => res(code));
    }));
    // A loader that gave up leaves the saver blocked on a full pipe until the time limit: stop it at once (the load's error is the reason).
    void ends[1]!.then((code) => {
      if (code !== 0) saver.kill('SIGKILL');
    });
    Promise.all(ends).then(([saveCode, loadCode]) => {
      clearInterval(ticker);
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const seconds = secs();
      if (killedWhy) return reject(new HarnessError(killedWhy === 'interrupted' ? 'internal' : 'image', `streaming image ${name} to engine ${to.label} ${killedWhy}`));
      if (loadCode !== 0) {
        const why = firstLine(errs.load) || `${load.bin} load exit ${loadCode}`;
        if (ENGINE_DOWN.test(why) || loadCode === null) return reject(new HarnessError('engine', `Docker engine not reachable at ${to.label} while loading image ${name} (${why})`));
        return reject(new HarnessError('image', `${load.bin} load of ${name} on engine ${to.label} failed: ${why}`));
      }
      if (saveCode !== 0) return reject(new HarnessError('image', `${save.bin} save of ${name} on engine ${from.label} failed: ${firstLine(errs.save) || `exit ${saveCode}`}`));
      log(`[image] ${name} → ${to.label}: streamed ${mib(bytes)} in ${seconds.toFixed(1)} s`);
      resolve({ bytes, seconds });
    });
  });
}
