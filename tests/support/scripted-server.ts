/**
 * A scripted OpenAI-compatible server for the runner-agent tests: real HTTP
 * on 127.0.0.1 (node:http, random port), one canned response per
 * POST /v1/chat/completions in order, every request recorded (headers and
 * parsed JSON body) so tests can assert on what the client really sent.
 * POST /release is recorded too (the --release-url endpoint).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** performance.now() when it arrived. */
  at: number;
}

export interface CannedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering. */
  delayMs?: number;
}

/** A canned response, or one computed from the request (e.g. echoing what the model was told). */
export type Canned = CannedResponse | ((req: RecordedRequest, index: number) => CannedResponse);

export interface ScriptedServer {
  /** http://127.0.0.1:PORT/v1 */
  baseURL: string;
  releaseURL: string;
  requests: RecordedRequest[];
  releases: RecordedRequest[];
  close(): Promise<void>;
}

export interface UsageIn {
  prompt_tokens: number;
  completion_tokens: number;
}

let ids = 0;

function completion(message: Record<string, unknown>, usage: UsageIn | null, finish: string): CannedResponse {
  return {
    body: {
      id: `chatcmpl-${++ids}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'scripted',
      choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }],
      ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
    },
  };
}

/** The model calls one tool; `args` as an object (sent as JSON) or a raw string (sent as it is, e.g. malformed). */
export function toolCall(name: string, args: object | string, usage: UsageIn | null = { prompt_tokens: 100, completion_tokens: 10 }): CannedResponse {
  const call = { id: `call_${++ids}`, type: 'function', function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } };
  return completion({ tool_calls: [call] }, usage, 'tool_calls');
}

/** The model answers in text (no tool call). */
export function say(content: string, usage: UsageIn | null = { prompt_tokens: 100, completion_tokens: 10 }): CannedResponse {
  return completion({ content }, usage, 'stop');
}

/** A reply with one fenced action block (the --no-tool-calls format). */
export function action(name: string, args: object, usage?: UsageIn): CannedResponse {
  return say(`Next step.\n\n\`\`\`action\n${JSON.stringify({ name, arguments: args })}\n\`\`\``, usage);
}

/** An error response shaped like OpenAI's. */
export function httpError(status: number, message: string, headers: Record<string, string> = {}, code: string | null = null): CannedResponse {
  return { status, headers, body: { error: { message, type: 'error', code } } };
}

export async function startScriptedServer(script: Canned[]): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const releases: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        /* keep the raw text */
      }
      const rec: RecordedRequest = { path: req.url ?? '', headers: req.headers, body, at: performance.now() };
      let out: CannedResponse;
      if (req.method === 'POST' && req.url === '/release') {
        releases.push(rec);
        out = { body: { ok: true } };
      } else if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        const i = requests.length;
        requests.push(rec);
        const next = script[i];
        out = next === undefined ? httpError(400, `script exhausted after ${script.length} responses`) : typeof next === 'function' ? next(rec, i) : next;
      } else out = httpError(404, `no route ${req.method} ${req.url}`);
      const send = () => {
        res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...out.headers });
        res.end(JSON.stringify(out.body ?? {}));
      };
      if (out.delayMs) setTimeout(send, out.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    releaseURL: `http://127.0.0.1:${port}/release`,
    requests,
    releases,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
