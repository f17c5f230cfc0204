/**
 * The runner agent's model calls: an OpenAI-compatible Chat Completions client
 * with our own retries, provider errors sorted into stop reasons, usage summed.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionMessage,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { errorMessage } from '../core/errors.js';
import { round2 } from '../core/values.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function zeroUsage(): Usage {
  return { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
}

export interface ModelSettings {
  /** OpenAI-compatible base URL, e.g. http://localhost:8000/v1. */
  baseURL: string;
  apiKey: string;
  /** Model name as the server knows it (a LiteLLM-style `openai/` prefix is stripped by `modelName`). */
  model: string;
  /** null: the server's default. */
  temperature: number | null;
  /** Merged into every request body (e.g. `program_id` for routers). */
  extraBody: Record<string, unknown>;
}

export interface RetryPolicy {
  maxRetries: number;
  backoffBaseS: number;
  backoffCapS: number;
  retryAfterCapS: number;
  requestTimeoutS: number;
}

/** `openai/gpt-4o` → `gpt-4o` (LiteLLM-style provider prefix). */
export function modelName(raw: string): string {
  return raw.startsWith('openai/') ? raw.slice('openai/'.length) : raw;
}

export type ProviderStopReason = 'auth_error' | 'context_length' | 'provider_error';

/** The provider ended the run: an infrastructure stop, not the model failing the task. */
export class ProviderStop extends Error {
  constructor(
    readonly reason: ProviderStopReason,
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ProviderStop';
  }
}

/** The call was aborted by the caller's signal (Ctrl-C or the time limit). */
export class CallAborted extends Error {
  constructor() {
    super('model call aborted');
    this.name = 'CallAborted';
  }
}

export interface RetryRecord {
  attempt: number;
  status: number | null;
  error: string;
  wait_s: number;
  /** Where the wait came from. */
  wait_from: 'retry-after' | 'backoff';
}

export interface Completion {
  message: ChatCompletionMessage;
  finish_reason: string | null;
  usage: Usage | null;
  retries: RetryRecord[];
  duration_s: number;
}

const CONTEXT_RE = /context_length_exceeded|maximum context length|context length|too many tokens|prompt is too long|input is too long/i;

type Verdict =
  | { kind: 'abort' }
  | { kind: 'retry'; status: number | null; message: string; retryAfterS: number | null }
  | { kind: 'stop'; reason: ProviderStopReason; status: number | null; message: string };

/** Seconds to wait from `retry-after-ms` / `retry-after` (seconds or an HTTP date), or null. */
export function retryAfterSeconds(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms) / 1000);
  const v = headers.get('retry-after');
  if (v === null || v.trim() === '') return null;
  if (Number.isFinite(Number(v))) return Math.max(0, Number(v));
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, (date - now) / 1000);
}

/** Codes of a connection that broke (also while the body was being read). */
const CONNECTION_LOST = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_BODY_TIMEOUT']);

/**
 * "terminated" (undici) and the like: the reply was cut off after its headers,
 * which the SDK does not wrap as a connection error. The reason is in the cause chain.
 */
function connectionLost(err: unknown): string | null {
  const seen: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    seen.push(errorMessage(e));
    const code = (e as NodeJS.ErrnoException).code;
    if ((code !== undefined && CONNECTION_LOST.has(code)) || (e instanceof TypeError && e.message === 'terminated')) {
      return `connection lost while reading the reply: ${seen.join(': ')}`;
    }
  }
  return null;
}

export function classify(err: unknown): Verdict {
  if (err instanceof APIUserAbortError || err instanceof CallAborted) return { kind: 'abort' };
  if (err instanceof APIConnectionError) return { kind: 'retry', status: null, message: errorMessage(err), retryAfterS: null };
  const lost = err instanceof APIError ? null : connectionLost(err);
  if (lost) return { kind: 'retry', status: null, message: lost, retryAfterS: null };
  if (err instanceof APIError) {
    const status = err.status ?? null;
    const message = `HTTP ${status ?? '?'}: ${errorMessage(err)}`;
    if (status === 401 || status === 403) return { kind: 'stop', reason: 'auth_error', status, message };
    if (status === 413 || ((status === 400 || status === 422) && (err.code === 'context_length_exceeded' || CONTEXT_RE.test(err.message)))) {
      return { kind: 'stop', reason: 'context_length', status, message };
    }
    if (status === 408 || status === 409 || status === 429 || (status !== null && status >= 500)) {
      return { kind: 'retry', status, message, retryAfterS: retryAfterSeconds(err.headers) };
    }
    return { kind: 'stop', reason: 'provider_error', status, message };
  }
  return { kind: 'stop', reason: 'provider_error', status: null, message: errorMessage(err) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CallAborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CallAborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class ModelClient {
  private readonly client: OpenAI;
  readonly usage: Usage = zeroUsage();
  readonly model: string;

  constructor(
    private readonly settings: ModelSettings,
    private readonly policy: RetryPolicy,
  ) {
    this.model = modelName(settings.model);
    this.client = new OpenAI({
      baseURL: settings.baseURL,
      apiKey: settings.apiKey,
      maxRetries: 0,
      timeout: policy.requestTimeoutS * 1000,
    });
  }

  /** The request body: extra body first, so it cannot replace model, messages or tools. */
  body(messages: ChatCompletionMessageParam[], tools: ChatCompletionTool[] | null): Record<string, unknown> {
    const { temperature, extraBody } = this.settings;
    return {
      ...extraBody,
      model: this.model,
      messages,
      stream: false,
      ...(tools ? { tools, tool_choice: 'auto' } : {}),
      ...(temperature !== null ? { temperature } : {}),
    };
  }

  /**
   * One completion, retried on 429, 5xx and connection errors.
   * @throws ProviderStop when the provider ends the run, CallAborted when `signal` fires.
   */
  async complete(
    messages: ChatCompletionMessageParam[],
    tools: ChatCompletionTool[] | null,
    signal: AbortSignal,
    onRetry?: (r: RetryRecord) => void,
  ): Promise<Completion> {
    const started = performance.now();
    const retries: RetryRecord[] = [];
    const body = this.body(messages, tools);
    for (let attempt = 0; ; attempt++) {
      let verdict: Verdict;
      try {
        const reply = await this.request(body, signal);
        if (reply.usage) addUsage(this.usage, reply.usage);
        return { ...reply, retries, duration_s: round2((performance.now() - started) / 1000) };
      } catch (err) {
        if (err instanceof ProviderStop) throw err;
        verdict = signal.aborted ? { kind: 'abort' } : classify(err);
      }
      if (verdict.kind === 'abort') throw new CallAborted();
      if (verdict.kind === 'stop') throw new ProviderStop(verdict.reason, verdict.message, verdict.status);
      if (attempt >= this.policy.maxRetries) {
        throw new ProviderStop('provider_error', `gave up after ${attempt + 1} attempts: ${verdict.message}`, verdict.status);
      }
      const rec = this.retryRecord(verdict, attempt);
      retries.push(rec);
      onRetry?.(rec);
      await sleep(rec.wait_s * 1000, signal);
    }
  }

  /**
   * One request. The SDK leaves a listener on the signal it is given, so each
   * request gets its own signal that follows the caller's, unhooked afterwards.
   */
  private async request(body: Record<string, unknown>, signal: AbortSignal): Promise<Pick<Completion, 'message' | 'finish_reason' | 'usage'>> {
    const own = new AbortController();
    const follow = () => own.abort();
    if (signal.aborted) throw new CallAborted();
    signal.addEventListener('abort', follow, { once: true });
    try {
      // The SDK sends body params as they are: extra keys reach the server untouched.
      const params = body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
      const { data, response } = await this.client.chat.completions.create(params, { signal: own.signal }).withResponse();
      if (typeof data !== 'object' || data === null) {
        const type = response.headers.get('content-type')?.split(';')[0]?.trim() || 'no content type';
        throw new ProviderStop('provider_error', `the server answered ${type}, not JSON: is OPENAI_BASE_URL right?`, response.status);
      }
      const choice = data.choices?.[0];
      if (!choice?.message) throw new ProviderStop('provider_error', 'the response has no choices', null);
      return { message: choice.message, finish_reason: choice.finish_reason ?? null, usage: data.usage ? normaliseUsage(data.usage) : null };
    } finally {
      signal.removeEventListener('abort', follow);
    }
  }

  /** How long to wait before the next attempt: what retry-after says (capped), else exponential backoff. */
  private retryRecord(verdict: Extract<Verdict, { kind: 'retry' }>, attempt: number): RetryRecord {
    const fromHeader = verdict.retryAfterS !== null;
    const wait = fromHeader
      ? Math.min(verdict.retryAfterS!, this.policy.retryAfterCapS)
      : Math.min(this.policy.backoffBaseS * 2 ** attempt, this.policy.backoffCapS);
    return { attempt: attempt + 1, status: verdict.status, error: verdict.message, wait_s: round2(wait), wait_from: fromHeader ? 'retry-after' : 'backoff' };
  }
}

/** A token count as reported; anything but a finite number >= 0 counts as 0. */
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

function normaliseUsage(u: { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown }): Usage {
  const prompt = num(u.prompt_tokens);
  const completion = num(u.completion_tokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: num(u.total_tokens) || prompt + completion };
}

export function addUsage(into: Usage, u: Usage): void {
  into.prompt_tokens += u.prompt_tokens;
  into.completion_tokens += u.completion_tokens;
  into.total_tokens += u.total_tokens;
}
