/**
 * Docker's engine API over its unix socket: the calls a run makes many times
 * (create, exec, remove, image and container look-ups) as HTTP requests on a
 * kept-alive connection, where the docker CLI costs a process (20–40 ms) each.
 * Only for an engine reached through a unix socket; everything else (tcp with
 * TLS, ssh, contexts, podman) and the rare calls (build, import, pull, cp,
 * commit) stay with the CLI, which this class extends.
 */
import http from 'node:http';
import os from 'node:os';
import { OWNER_LABELS, RUN_LABEL } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { DockerCli, KILL_ALL_SIGNAL, MAIN_SCRIPT, SCRATCH_DIRS, type DockerCliOptions } from './docker-cli.js';
import { TRACE, traced } from './docker-client.js';
import { dockerExec, execCommand, type ClientEnd } from './docker-exec.js';
import { containerName, inRepo, type CommitSpec, type Container, type CreateOptions, type ExecOptions, type ExecResult, type ImageRecord, type LabelledContainer } from './engine.js';
import type { CappedOutput } from './output.js';

/** The socket path of a `unix://` host URL, or null for any other kind of host. */
export function unixSocketOf(host: string): string | null {
  const m = /^unix:\/\/(\/.+)$/.exec(host);
  return m ? m[1]! : null;
}

/**
 * Bytes of a memory size as the docker CLI reads `--memory` (`2g`, `512m`,
 * `1.5GiB`; units are powers of 1024).
 * @throws HarnessError('usage') naming the value when it is not one.
 */
export function memoryBytes(spec: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(spec.trim());
  if (!m) throw new HarnessError('usage', `memory limit "${spec}" is not a size (expected e.g. 2g, 512m)`);
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** The create request the CLI's `docker run` makes for the same options (docker-cli.ts runArgs). */
export function createBody(opts: CreateOptions): Record<string, unknown> {
  const { limits } = opts;
  const memory = memoryBytes(limits.memory);
  return {
    Image: opts.image,
    Entrypoint: ['bash'],
    Cmd: ['-c', MAIN_SCRIPT, 'swe-harness-main', String(limits.ttlSeconds)],
    ...(opts.workdir ? { WorkingDir: opts.workdir } : {}),
    Labels: { [RUN_LABEL]: opts.runId, [OWNER_LABELS.pid]: String(process.pid), [OWNER_LABELS.host]: os.hostname() },
    HostConfig: {
      AutoRemove: true,
      Init: true,
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: limits.pids,
      NanoCpus: Math.round(limits.cpus * 1e9),
      NetworkMode: opts.network ? 'bridge' : 'none',
      Tmpfs: Object.fromEntries(SCRATCH_DIRS.map((d) => [d, `rw,exec,nosuid,nodev,mode=1777,size=${limits.tmpfsSize}`])),
      ...(opts.mounts?.length ? { Binds: opts.mounts.map((m) => `${m.host}:${m.container}:ro`) } : {}),
    },
  };
}

/**
 * Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, length
 * big-endian) into payloads; stdout and stderr both go to `out`, in order.
 */
export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly out: (chunk: Buffer) => void) {}

  push(data: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      if (size > 0) this.out(this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
  }
}

interface ApiReply {
  status: number;
  body: string;
}

/** What the daemon said in an error reply (`{"message": ...}`), as the CLI prints it. */
function daemonSays(r: ApiReply): string {
  try {
    const msg = (JSON.parse(r.body) as { message?: unknown }).message;
    if (typeof msg === 'string' && msg) return `Error response from daemon: ${msg}`;
  } catch {
    /* not JSON */
  }
  return `Error response from daemon: HTTP ${r.status} ${r.body.trim().slice(0, 200)}`;
}

/** `repository:tag` as the commit request takes it (a registry's port is not a tag). */
export function splitTag(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(':');
  if (colon > 0 && !name.slice(colon + 1).includes('/')) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

/** Seconds a quick request may take before the engine counts as hung (as the CLI's quick calls). */
const QUICK_MS = 30_000;

export class DockerApi extends DockerCli {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    readonly socketPath: string,
    opts: DockerCliOptions = {},
  ) {
    super(opts);
  }

  /** The CLI's words for a daemon that does not answer, so every caller tells it apart the same way. */
  private unreachable(err: NodeJS.ErrnoException): string {
    return `Cannot connect to the Docker daemon at unix://${this.socketPath}. Is the docker daemon running? (${err.code ?? err.message})`;
  }

  /**
   * One request; the reply's whole body as text.
   * @throws HarnessError('engine') when the daemon does not answer (or not within `timeoutMs`).
   */
  request(method: string, path: string, opts: { body?: unknown; timeoutMs?: number } = {}): Promise<ApiReply> {
    const p = new Promise<ApiReply>((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
      const req = http.request({
        socketPath: this.socketPath,
        agent: this.agent,
        method,
        path,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), opts.timeoutMs ?? QUICK_MS);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(this.down(this.unreachable(err)));
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.down(err.code === 'ETIMEDOUT' ? `docker ${method} ${path.split('?')[0]} did not answer within ${(opts.timeoutMs ?? QUICK_MS) / 1000} s` : this.unreachable(err)));
      });
      req.end(payload);
    });
    return TRACE ? traced([method, path.split('?')[0]!.slice(0, 40)], p) : p;
  }

  override async check(): Promise<void> {
    const r = await this.request('GET', '/_ping', { timeoutMs: 15_000 });
    // Docker and podman both answer "OK": anything else on the socket is not an engine.
    if (r.status !== 200 || r.body.trim() !== 'OK') throw this.down(`docker ping answered HTTP ${r.status} "${r.body.trim().slice(0, 80)}", not Docker's "OK"`);
  }

  /**
   * A reply's JSON body, of the shape asked for: a list, or an object (with a
   * string `Id` when `id`); anything else is not Docker's API.
   */
  private json<T>(r: ApiReply, shape: 'list' | 'object' | 'id'): T {
    let v: unknown;
    try {
      v = JSON.parse(r.body);
    } catch {
      v = undefined;
    }
    const isObject = typeof v === 'object' && v !== null && !Array.isArray(v);
    const ok = shape === 'list' ? Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null) : isObject && (shape === 'object' || typeof (v as { Id?: unknown }).Id === 'string');
    if (!ok) throw this.down(`the engine's answer is not Docker's API: HTTP ${r.status} "${r.body.trim().slice(0, 80)}"`);
    return v as T;
  }

  override async create(opts: CreateOptions): Promise<Container> {
    if (!this.sharesHostFiles && opts.mounts?.length) return super.create(opts); // refused there, with the reason
    const name = containerName(opts.runId);
    const made = await this.request('POST', `/containers/create?name=${encodeURIComponent(name)}`, { body: createBody(opts), timeoutMs: 60_000 });
    if (made.status === 404) throw new HarnessError('image', `image "${opts.image}" not available (${daemonSays(made)}); build it with: npm run build-image`);
    if (made.status !== 201) throw new HarnessError('internal', `docker run failed: ${daemonSays(made)}`);
    const id = this.json<{ Id: string }>(made, 'id').Id;
    const started = await this.request('POST', `/containers/${id}/start`, { timeoutMs: 60_000 }).catch(async (err: unknown) => {
      await this.remove(id);
      throw err;
    });
    if (started.status !== 204 && started.status !== 304) {
      await this.remove(id); // created but never started: AutoRemove does not cover it
      throw new HarnessError('internal', `docker run failed: ${daemonSays(started)}`);
    }
    return { id, name, runId: opts.runId, networked: opts.network, engine: this };
  }

  override exec(c: Container, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    return dockerExec(c, argv, opts, (x) => this.killAll(x), {
      engineName: this.label === 'local' ? undefined : this.label,
      transport: (sink) => this.execOverApi(c, argv, opts, sink),
    });
  }

  /** create the exec, start it on a hijacked connection (stdin in, output out), then read its exit code. */
  private async execOverApi(c: Container, argv: string[], opts: ExecOptions, sink: CappedOutput): Promise<ClientEnd> {
    const end: ClientEnd = { code: null, backstopFired: false, interrupted: false, spawnFailed: false, stderr: '' };
    // Ctrl-C before the command started: nothing to wait for (the caller removes the container).
    if (opts.signal?.aborted) return { ...end, interrupted: true };
    let execId: string;
    try {
      const made = await this.request('POST', `/containers/${c.id}/exec`, {
        body: {
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          Cmd: execCommand(argv, opts.timeoutS),
          Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
          ...(opts.cwd ? { WorkingDir: opts.cwd } : {}),
          ...(opts.user ? { User: opts.user } : {}),
        },
      });
      if (made.status !== 201) return { ...end, code: made.status === 404 || made.status === 409 ? 1 : 126, stderr: daemonSays(made) };
      execId = this.json<{ Id: string }>(made, 'id').Id;
    } catch (err) {
      return { ...end, code: 1, stderr: (err as Error).message };
    }
    const streamed = await this.attach(execId, opts, sink, end);
    if (streamed) return { ...end, code: 1, stderr: streamed };
    if (end.backstopFired || end.interrupted) return end;
    try {
      // The streams close as the command exits; its exit code may be recorded a moment later.
      for (let attempt = 0; ; attempt++) {
        const info = await this.request('GET', `/exec/${execId}/json`);
        if (info.status !== 200) return { ...end, code: 1, stderr: daemonSays(info) };
        const state = this.json<{ ExitCode: number | null; Running: boolean }>(info, 'object');
        if (!state.Running || attempt >= 100) return { ...end, code: state.ExitCode ?? null };
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (err) {
      return { ...end, code: 1, stderr: (err as Error).message };
    }
  }

  /** The exec's streams until it ends; an error message when the connection failed, else null. */
  private attach(execId: string, opts: ExecOptions, sink: CappedOutput, end: ClientEnd): Promise<string | null> {
    return new Promise((resolve) => {
      const body = Buffer.from(JSON.stringify({ Detach: false, Tty: false }));
      const req = http.request({
        socketPath: this.socketPath,
        method: 'POST',
        path: `/exec/${execId}/start`,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Connection: 'Upgrade', Upgrade: 'tcp' },
      });
      let settled = false;
      let sock: import('node:net').Socket | null = null;
      // First of all: a destroyed request (backstop, Ctrl-C) emits 'error', which must never go unheard.
      req.on('error', (err: NodeJS.ErrnoException) => finish(this.unreachable(err)));
      const finish = (err: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(backstop);
        opts.signal?.removeEventListener('abort', onAbort);
        sock?.destroy();
        resolve(err);
      };
      // As with the CLI client: killing our end stops the waiting, never the command (timeout -s KILL does that).
      const backstop = setTimeout(() => {
        end.backstopFired = true;
        finish(null);
        req.destroy();
      }, (opts.timeoutS + opts.backstopS) * 1000);
      const onAbort = () => {
        end.interrupted = true;
        finish(null);
        req.destroy();
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const demux = new StreamDemuxer((chunk) => sink.write(chunk));
      req.on('upgrade', (_res, socket, head) => {
        sock = socket;
        if (head.length) demux.push(head);
        socket.on('data', (d: Buffer) => demux.push(d));
        socket.on('end', () => finish(null));
        socket.on('close', () => finish(null));
        socket.on('error', (err: NodeJS.ErrnoException) => finish(this.unreachable(err)));
        // Stdin: the input, then end of file (a half-close, as the CLI's CloseWrite).
        socket.end(opts.input ?? '');
      });
      req.on('response', (res) => {
        // No upgrade: the daemon refused the start (the container stopped meanwhile...).
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => finish(daemonSays({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
      });
      req.end(body);
    });
  }

  override async disconnectNetwork(c: Container): Promise<void> {
    if (!c.networked) return;
    const r = await this.request('POST', '/networks/bridge/disconnect', { body: { Container: c.id, Force: true } });
    if (r.status !== 200) throw new HarnessError('internal', `could not take container off the network: ${daemonSays(r)}`);
    c.networked = false;
  }

  protected override async signalAll(c: Container): Promise<boolean> {
    const r = await this.request('POST', `/containers/${c.id}/kill?signal=${KILL_ALL_SIGNAL}`).catch(() => null);
    return r?.status === 204;
  }

  protected override async liveProcesses(c: Container): Promise<number | null> {
    const top = await this.request('GET', `/containers/${c.id}/top?ps_args=${encodeURIComponent('-o pid,stat')}`).catch(() => null);
    if (!top || top.status !== 200) return null;
    const procs = this.json<{ Processes: string[][] | null }>(top, 'object').Processes ?? [];
    return procs.filter((p) => !/^Z/.test(p[1] ?? '')).length;
  }

  override async remove(idOrName: string): Promise<void> {
    // Never throws: the engine being gone means there is nothing we can remove; the TTL ends it.
    await this.request('DELETE', `/containers/${encodeURIComponent(idOrName)}?force=1`, { timeoutMs: 60_000 }).catch(() => null);
  }

  private async labelled(runId?: string): Promise<Array<{ Id: string; Labels: Record<string, string> | null }>> {
    const filters = JSON.stringify({ label: [runId ? `${RUN_LABEL}=${runId}` : RUN_LABEL] });
    const r = await this.request('GET', `/containers/json?all=1&filters=${encodeURIComponent(filters)}`);
    if (r.status !== 200) throw new HarnessError('internal', `docker ps failed: ${daemonSays(r)}`);
    return this.json<Array<{ Id: string; Labels: Record<string, string> | null }>>(r, 'list');
  }

  override async listContainers(runId?: string): Promise<string[]> {
    return (await this.labelled(runId)).map((c) => c.Id.slice(0, 12));
  }

  override async describeContainers(): Promise<LabelledContainer[]> {
    return (await this.labelled()).map((c) => ({
      id: c.Id.slice(0, 12),
      runId: c.Labels?.[RUN_LABEL] ?? '',
      ownerPid: c.Labels?.[OWNER_LABELS.pid] ?? '',
      ownerHost: c.Labels?.[OWNER_LABELS.host] ?? '',
    }));
  }

  override async inspectImage(name: string): Promise<ImageRecord | null> {
    const r = await this.request('GET', `/images/${name}/json`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new HarnessError('image', `docker image inspect ${name} failed: ${daemonSays(r)}`);
    const img = this.json<{ Id: string; Created: string; Size: number; Config?: { Labels?: Record<string, string> | null } }>(r, 'id');
    return { name, id: img.Id, created: img.Created, labels: img.Config?.Labels ?? {}, size: img.Size || 0 };
  }

  override async listImages(label: string, repo?: string): Promise<ImageRecord[]> {
    const filters = JSON.stringify({ label: [label] });
    const r = await this.request('GET', `/images/json?filters=${encodeURIComponent(filters)}`);
    if (r.status !== 200) throw new HarnessError('image', `docker images failed: ${daemonSays(r)}`);
    const tags = this.json<Array<{ RepoTags: string[] | null }>>(r, 'list').flatMap((i) => i.RepoTags ?? []);
    const names = [...new Set(tags.filter((t) => !t.includes('<none>') && inRepo(t, repo)))].sort();
    // Inspected one by one, as the CLI does: its creation time is RFC 3339 to the nanosecond.
    const records = await Promise.all(names.map((n) => this.inspectImage(n)));
    return records.flatMap((r) => r ?? []);
  }

  override async listUntagged(label: string): Promise<ImageRecord[]> {
    const filters = JSON.stringify({ dangling: ['true'], label: [label] });
    const r = await this.request('GET', `/images/json?filters=${encodeURIComponent(filters)}`);
    if (r.status !== 200) throw new HarnessError('image', `docker images failed: ${daemonSays(r)}`);
    const ids = this.json<Array<{ Id: string }>>(r, 'list').map((i) => i.Id);
    return (await Promise.all(ids.map((id) => this.inspectImage(id)))).flatMap((x) => x ?? []);
  }

  override async commit(c: Container, spec: CommitSpec): Promise<string> {
    const q = new URLSearchParams({ container: c.id, ...splitTag(spec.tag), pause: '1' });
    // The same instructions the CLI's --change sends (the daemon parses them as Dockerfile lines).
    for (const [k, v] of Object.entries(spec.labels)) q.append('changes', `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
    for (const ch of spec.changes ?? []) q.append('changes', ch);
    const r = await this.request('POST', `/commit?${q}`, { timeoutMs: spec.timeoutS * 1000 }).catch((err: unknown) => {
      if (err instanceof HarnessError && /did not answer within/.test(err.message)) throw new HarnessError('internal', `docker commit did not finish within ${spec.timeoutS} s`);
      throw err;
    });
    if (r.status !== 201) throw new HarnessError('internal', `docker commit failed: ${daemonSays(r)}`);
    return this.json<{ Id: string }>(r, 'id').Id;
  }

  override async removeImage(id: string): Promise<string | null> {
    const r = await this.request('DELETE', `/images/${encodeURIComponent(id)}`);
    return r.status === 200 ? null : daemonSays(r);
  }
}
