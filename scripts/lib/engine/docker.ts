/**
 * The engine as the rest of the harness calls it: free functions over the
 * default engine (the Docker CLI), and over the engine a container came from.
 */
import os from 'node:os';
import { processAlive } from '../core/process.js';
import { DockerCli } from './docker-cli.js';
import type { Container, CreateOptions, Engine, ExecOptions, ExecResult } from './engine.js';

export { ENGINE_DOWN, docker, engineError, type DockerResult } from './docker-client.js';
export { containerName, type Container, type CreateOptions, type ExecOptions, type ExecResult } from './engine.js';

let current: Engine = new DockerCli();

/** The engine new containers and image calls go to. */
export function defaultEngine(): Engine {
  return current;
}

/** Make another engine the default (a remote one, podman); returns the previous one. */
export function setDefaultEngine(engine: Engine): Engine {
  const prev = current;
  current = engine;
  return prev;
}

/** Throws HarnessError('engine') unless the engine answers. */
export function checkEngine(): Promise<void> {
  return current.check();
}

/**
 * Start a labelled, limited container with a dead-man's switch.
 * @throws HarnessError('image') when the image is missing, ('engine') when the engine is down.
 */
export function createContainer(opts: CreateOptions): Promise<Container> {
  return current.create(opts);
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
  return current.remove(idOrName);
}

/** Ids of containers carrying the harness label (all, or one run's). */
export function listHarnessContainers(runId?: string): Promise<string[]> {
  return current.listContainers(runId);
}

export interface HarnessContainer {
  id: string;
  runId: string;
  /** The harness process that started it, when it runs on this host and is still alive. */
  ownerAlive: boolean;
}

/** Harness containers with their owners, for cleanup. */
export async function describeHarnessContainers(): Promise<HarnessContainer[]> {
  const listed = await current.describeContainers();
  return listed.map((c) => ({
    id: c.id,
    runId: c.runId,
    ownerAlive: c.ownerHost === os.hostname() && processAlive(Number(c.ownerPid)),
  }));
}
