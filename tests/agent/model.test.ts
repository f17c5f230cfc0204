/**
 * ModelClient against a real HTTP server on 127.0.0.1: replies cut off
 * mid-body, non-JSON replies, odd usage counts, and abort listeners.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelClient, ProviderStop } from '../../scripts/lib/agent/model.js';

/** How the server answers one request: a body to send whole, or a raw handler. */
type Reply = { status?: number; type?: string; body: string } | ((res: http.ServerResponse) => void);

const servers: http.Server[] = [];

async function serve(replies: Reply[]): Promise<{ baseURL: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const reply = replies[Math.min(hits++, replies.length - 1)]!;
      if (typeof reply === 'function') return reply(res);
      res.writeHead(reply.status ?? 200, { 'content-type': reply.type ?? 'application/json' });
      res.end(reply.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, hits: () => hits };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const completion = (usage: Record<string, number> = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }) =>
  JSON.stringify({
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
    usage,
  });

const client = (baseURL: string) =>
  new ModelClient(
    { baseURL, apiKey: 'k', model: 'm', temperature: null, extraBody: {} },
    { maxRetries: 3, backoffBaseS: 0.01, backoffCapS: 0.05, retryAfterCapS: 1, requestTimeoutS: 10 },
  );

const ask = (c: ModelClient, signal = new AbortController().signal) => c.complete([{ role: 'user', content: 'x' }], null, signal);

describe('ModelClient', () => {
  it('retries a reply whose body is cut off (headers sent, half the body, then the connection is destroyed)', async () => {
    const body = completion();
    const cutOff = (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.slice(0, body.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
    };
    const srv = await serve([cutOff, { body }]);
    const out = await ask(client(srv.baseURL));
    expect(out.message.content).toBe('hi');
    expect(srv.hits()).toBe(2);
    expect(out.retries).toHaveLength(1);
    expect(out.retries[0]).toMatchObject({ attempt: 1, status: null, wait_from: 'backoff' });
    expect(out.retries[0]!.error).toMatch(/terminated|closed|reset/i);
  });

  it('says that a 200 text/html reply is not JSON and hints at OPENAI_BASE_URL', async () => {
    const srv = await serve([{ type: 'text/html', body: '<html><body>Welcome to nginx</body></html>' }]);
    const err = await ask(client(srv.baseURL)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderStop);
    expect((err as ProviderStop).reason).toBe('provider_error');
    expect((err as ProviderStop).message).toMatch(/the server answered text\/html, not JSON: is OPENAI_BASE_URL right\?/);
    expect(srv.hits()).toBe(1);
  });

  it('does not sum negative usage counts', async () => {
    const srv = await serve([
      { body: completion({ prompt_tokens: -500, completion_tokens: -3, total_tokens: -503 }) },
      { body: completion({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }) },
    ]);
    const c = client(srv.baseURL);
    const first = await ask(c);
    expect(first.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    await ask(c);
    expect(c.usage).toEqual({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 });
  });

  it('leaves no abort listener on the caller\'s signal after its calls (no MaxListenersExceededWarning)', async () => {
    const srv = await serve([{ body: completion() }]);
    const c = client(srv.baseURL);
    const controller = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 15; i++) await ask(c, controller.signal);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
