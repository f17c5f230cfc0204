/**
 * The engine as the rest of the harness calls it: free functions over the
 * default engine (the Docker CLI, or the run's own engine inside onEngine), and
 * over the engine a container came from.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessError, firstLine } from '../core/errors.js';
import { processAlive } from '../core/process.js';
import { DockerApi, unixSocketOf } from './docker-api.js';
import { DockerCli, type DockerCliOptions } from './docker-cli.js';
import { docker } from './docker-client.js';
import type { Container, CreateOptions, Engine, ExecOptions, ExecResult } from './engine.js';

export { ENGINE_DOWN, docker, engineError, type DockerResult } from './docker-client.js';
export { containerName, type Container, type CreateOptions, type ExecOptions, type ExecResult } from './engine.js';

/** Endpoints of this machine's own engine: an engine there sees this machine's files. */
const LOCAL_SOCKETS = new Set(['unix:///var/run/docker.sock', 'unix:///run/docker.sock']);
/** Where the docker client finds this machine's engine when nothing says otherwise. */
const DEFAULT_HOST = 'unix:///var/run/docker.sock';

/**
 * SWE_HARNESS_DOCKER_API=0: every call through the docker CLI, as before the
 * API client (for comparing the two, or for a daemon the API client fails with).
 */
const API_OFF = process.env.SWE_HARNESS_DOCKER_API === '0';

/**
 * A docker engine: over its API when it listens on a unix socket (each call
 * then costs no process), else through the docker CLI.
 */
function dockerEngine(host: string | null, opts: DockerCliOptions = {}): Engine {
  const socket = host && !API_OFF ? unixSocketOf(host) : null;
  // The default socket missing: not an engine we can speak to directly (see machineEngine).
  if (socket && host === DEFAULT_HOST && !fs.existsSync(socket)) return new DockerCli(opts);
  return socket ? new DockerApi(socket, opts) : new DockerCli(opts);
}

/**
 * The engine the docker client uses with no DOCKER_HOST, DOCKER_CONTEXT or
 * chosen context: this machine's. Over the API when its socket is there; else
 * through whatever `docker` is (podman's docker shim, a client that starts the
 * engine itself, or none: the CLI then says what is missing).
 */
function machineEngine(): Engine {
  const env = process.env;
  const plain = !env.DOCKER_HOST && !(env.DOCKER_CONTEXT || configuredContext(env));
  return plain ? dockerEngine(DEFAULT_HOST) : new DockerCli();
}

let current: Engine = machineEngine();

/** A host URL (`unix://`, `tcp://`, `ssh://user@host`, ...) rather than a context name. */
export function isHostUrl(spec: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(spec);
}

/** The engine at a host URL (DOCKER_HOST's form). */
export function hostEngine(url: string): Engine {
  const local = LOCAL_SOCKETS.has(url);
  return dockerEngine(url, { target: { host: url }, label: local ? 'local' : url, sharesHostFiles: local });
}

/**
 * The engine a docker context names (its endpoint is asked of the client).
 * @throws HarnessError('usage') when there is no such context.
 */
export async function contextEngine(name: string): Promise<Engine> {
  const r = await docker(['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}', name], { timeoutMs: 15_000, target: { stripEnv: true } });
  if (r.exitCode !== 0) {
    throw new HarnessError('usage', `engine "${name}" is neither a host URL (unix://, tcp://, ssh://), podman, nor a docker context: ${firstLine(r.stderr) || `exit ${r.exitCode}`}`);
  }
  const local = LOCAL_SOCKETS.has(r.stdout.trim());
  return new DockerCli({ target: { context: name }, label: local ? 'local' : name, sharesHostFiles: local });
}

/**
 * podman on this machine, through its own CLI (root or rootless: the user's own
 * store). It is taken to see none of this machine's files, like a remote engine:
 * the repository goes in with `podman cp`, images are streamed from docker once.
 */
export function podmanEngine(): Engine {
  return new DockerCli({ target: { binary: 'podman' }, label: 'podman', sharesHostFiles: false });
}

/** `--engine NAME|URL`: a host URL, `podman`, else a docker context name. */
export function engineFor(spec: string): Promise<Engine> {
  if (!spec.trim()) return Promise.reject(new HarnessError('usage', '--engine needs a docker context name, a host URL or podman'));
  if (spec === 'podman') return Promise.resolve(podmanEngine());
  return isHostUrl(spec) ? Promise.resolve(hostEngine(spec)) : contextEngine(spec);
}

/** The docker client's current context from its config file, when one was chosen (`docker context use`). */
function configuredContext(env: NodeJS.ProcessEnv): string | null {
  const dir = env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { currentContext?: unknown };
    return typeof cfg.currentContext === 'string' && cfg.currentContext && cfg.currentContext !== 'default' ? cfg.currentContext : null;
  } catch {
    return null;
  }
}

/**
 * The engine the docker client itself would use, as its own conventions say:
 * DOCKER_HOST, else DOCKER_CONTEXT, else the context chosen with `docker context use`,
 * else this machine's engine (the default engine, unchanged).
 */
export async function engineFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  if (env.DOCKER_HOST) return hostEngine(env.DOCKER_HOST);
  const ctx = env.DOCKER_CONTEXT || configuredContext(env);
  if (ctx && ctx !== 'default') return contextEngine(ctx);
  return dockerEngine(DEFAULT_HOST);
}

/** `--engine SPEC` when given, else what the environment says; it becomes the default engine. */
export async function useEngine(spec: string | null): Promise<Engine> {
  const engine = spec !== null ? await engineFor(spec) : await engineFromEnv();
  setDefaultEngine(engine);
  return engine;
}

let local: Engine | null = null;

/** This machine's own engine, whatever DOCKER_HOST or --engine say: where images are built and streamed from. */
export function localEngine(): Engine {
  if (current.sharesHostFiles) return current;
  local ??= dockerEngine(DEFAULT_HOST, { target: { stripEnv: true, context: 'default' }, label: 'local', sharesHostFiles: true });
  return local;
}

/** The engine of the run in progress, when it was given one (onEngine). */
const scoped = new AsyncLocalStorage<Engine>();

/**
 * Run `fn` with `engine` as the default engine of every call it makes, awaited
 * ones included (images, snapshots, containers, their removal): a per-run
 * engine, so runs on several engines can be in flight in one process.
 */
export function onEngine<T>(engine: Engine, fn: () => Promise<T>): Promise<T> {
  return scoped.run(engine, fn);
}

/** The engine new containers and image calls go to: the run's own (onEngine), else the process's. */
export function defaultEngine(): Engine {
  return scoped.getStore() ?? current;
}

/** Make another engine the default (a remote one, podman); returns the previous one. */
export function setDefaultEngine(engine: Engine): Engine {
  const prev = current;
  current = engine;
  return prev;
}

/** Throws HarnessError('engine') unless the engine answers. */
export function checkEngine(): Promise<void> {
  return defaultEngine().check();
}

/**
 * Start a labelled, limited container with a dead-man's switch.
 * @throws HarnessError('image') when the image is missing, ('engine') when the engine is down.
 */
export function createContainer(opts: CreateOptions): Promise<Container> {
  return defaultEngine().create(opts);
}

/** Run argv inside the container with a hard time limit (see Engine.exec). */
export function execIn(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
  return c.engine.exec(c, argv, opts);
}

/** Take the container off the network (before patches and tests run). */
export function disconnectNetwork(c: Container): Promise<void> {
  return c.engine.disconnectNetwork(c);
}

/** Kill every process in the container except its main one (the dead-man's switch). */
export function killAllProcesses(c: Container): Promise<void> {
  return c.engine.killAll(c);
}

/** Remove a container (by id or name) whatever its state; never throws. */
export function removeContainer(idOrName: string): Promise<void> {
  return defaultEngine().remove(idOrName);
}

/** Ids of containers carrying the harness label (all, or one run's). */
export function listHarnessContainers(runId?: string): Promise<string[]> {
  return defaultEngine().listContainers(runId);
}

export interface HarnessContainer {
  id: string;
  runId: string;
  /** The harness process that started it, when it runs on this host and is still alive. */
  ownerAlive: boolean;
}

/** Harness containers with their owners, for cleanup. */
export async function describeHarnessContainers(): Promise<HarnessContainer[]> {
  const listed = await defaultEngine().describeContainers();
  return listed.map((c) => ({
    id: c.id,
    runId: c.runId,
    ownerAlive: c.ownerHost === os.hostname() && processAlive(Number(c.ownerPid)),
  }));
}
