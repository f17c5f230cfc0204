/** The runner agent's pure pieces: prompts, action blocks, tool arguments, retry headers, cache keys, options. */
import { describe, expect, it } from 'vitest';
import { parseActionBlocks } from '../../scripts/lib/agent/loop.js';
import { agentMode } from '../../scripts/lib/agent/mode.js';
import { classify, retryAfterSeconds } from '../../scripts/lib/agent/model.js';
import { Prompts, parseTemplates, substitute } from '../../scripts/lib/agent/prompts.js';
import { refusePath } from '../../scripts/lib/agent/file-scripts.js';
import { parseArguments, TOOL_NAMES, TOOL_SCHEMAS, validateArgs } from '../../scripts/lib/agent/schemas.js';
import { agentOptionsFromArgs } from '../../scripts/lib/cli/agent-options.js';
import { parseFlags } from '../../scripts/lib/cli/flags.js';
import { AGENT_DEFAULTS, DEFAULT_CONFIG } from '../../scripts/lib/core/config.js';
import { blankResult } from '../../scripts/lib/run/outcome.js';
import { ordered } from '../../scripts/lib/run/result.js';
import { makeTask } from '../../scripts/lib/task/tasks.js';

const demo = makeTask({ task_id: 'demo', repo: 'fixture:statskit', ref: 'main' });

describe('runner agent: pieces', () => {
  it('keeps the agent keys out of plain results', () => {
    const keys = Object.keys(ordered(blankResult(demo)));
    for (const k of ['model', 'turns', 'usage', 'stop_reason']) expect(keys).not.toContain(k);
  });

  it('has a description in prompts.md for every tool and fills templates in one pass', () => {
    const p = Prompts.load();
    for (const name of TOOL_NAMES) expect(p.has(`tool_${name}`), name).toBe(true);
    expect(substitute('a {{x}} b', { x: '{{y}}' })).toBe('a {{y}} b');
    expect(() => substitute('{{missing}}', {})).toThrow(/missing/);
    expect([...parseTemplates('intro\n<!-- section: a -->\n one \n<!-- section: b -->\ntwo').entries()]).toEqual([['a', 'one'], ['b', 'two']]);
  });

  it('parses fenced action blocks', () => {
    expect(parseActionBlocks('no block here', 1)).toBeNull();
    expect(parseActionBlocks('```action\n{"name": "swe_clone"}\n```', 1)).toEqual([{ id: 'action_1', name: 'swe_clone', args: {} }]);
    expect(parseActionBlocks('```action\n{"arguments": {}}\n```', 1)![0]!.formatError).toMatch(/"name"/);
  });

  it('validates tool arguments and paths', () => {
    expect(parseArguments('')).toEqual({ ok: true, args: {} });
    expect(parseArguments('[1]')).toEqual({ ok: false, reason: 'must be a JSON object' });
    expect(validateArgs(TOOL_SCHEMAS.read_file!, {})).toMatch(/required field "path"/);
    expect(validateArgs(TOOL_SCHEMAS.read_file!, { path: 'a', start_line: 1.5 })).toMatch(/must be a integer/);
    expect(validateArgs(TOOL_SCHEMAS.swe_pytest!, { tests: ['a', 2] })).toMatch(/array of strings/);
    expect(refusePath('a/../../b')).toMatch(/\.\./);
    expect(refusePath('/etc/passwd')).toMatch(/absolute/);
    expect(refusePath('pkg/mod.py')).toBeNull();
  });

  it('reads retry-after as seconds or an HTTP date, and classifies provider errors', async () => {
    const h = (v: Record<string, string>) => new Headers(v);
    expect(retryAfterSeconds(h({ 'retry-after': '3' }))).toBe(3);
    expect(retryAfterSeconds(h({ 'retry-after-ms': '1500' }))).toBe(1.5);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterSeconds(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:10 GMT' }), now)).toBe(10);
    expect(retryAfterSeconds(h({}))).toBeNull();
    const { APIError } = await import('openai');
    const err = (status: number, message: string, headers: Record<string, string> = {}) => APIError.generate(status, { message }, message, new Headers(headers));
    expect(classify(err(401, 'bad key'))).toMatchObject({ kind: 'stop', reason: 'auth_error' });
    expect(classify(err(403, 'no'))).toMatchObject({ kind: 'stop', reason: 'auth_error' });
    expect(classify(err(400, 'too many tokens in the prompt'))).toMatchObject({ kind: 'stop', reason: 'context_length' });
    expect(classify(err(400, 'bad tool schema'))).toMatchObject({ kind: 'stop', reason: 'provider_error' });
    expect(classify(err(429, 'slow', { 'retry-after': '2' }))).toMatchObject({ kind: 'retry', retryAfterS: 2 });
    expect(classify(err(502, 'gateway'))).toMatchObject({ kind: 'retry', retryAfterS: null });
  });

  it('keys agent runs by every setting that changes the outcome, stably', () => {
    const m = { baseURL: 'http://x/v1', apiKey: 'k', model: 'openai/qwen', temperature: 0.2, extraBody: { top_k: 2, min_p: 0.1 } };
    const base = agentMode(m, { maxTurns: 10 }, true);
    expect(base).toMatch(/^agent:qwen:[0-9a-f]{16}$/);
    // Same settings, spelled differently: same key (prefix, key order, defaults given explicitly, api key, program_id).
    expect(agentMode({ ...m, model: 'qwen', apiKey: 'other', extraBody: { min_p: 0.1, top_k: 2, program_id: 'run-1' } }, { maxTurns: 10, timeLimitS: AGENT_DEFAULTS.timeLimitS }, true)).toBe(base);
    const variants = [
      agentMode({ ...m, temperature: 0.3 }, { maxTurns: 10 }, true),
      agentMode({ ...m, temperature: null }, { maxTurns: 10 }, true),
      agentMode({ ...m, extraBody: { top_k: 3, min_p: 0.1 } }, { maxTurns: 10 }, true),
      agentMode({ ...m, baseURL: 'http://y/v1' }, { maxTurns: 10 }, true),
      agentMode({ ...m, model: 'qwen2' }, { maxTurns: 10 }, true),
      agentMode(m, { maxTurns: 11 }, true),
      agentMode(m, { maxTurns: 10 }, false),
      agentMode(m, { maxTurns: 10, timeLimitS: 60 }, true),
      agentMode(m, { maxTurns: 10, maxTokensTotal: 5000 }, true),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('builds agent options from flags and the environment', () => {
    const flags = { string: ['model', 'max-turns', 'temperature', 'extra-body', 'program-id', 'release-url', 'max-tokens-total', 'time-limit', 'patch'], boolean: ['agent', 'tool-calls', 'task-patch'], default: { 'tool-calls': true } };
    const opts = agentOptionsFromArgs(
      parseFlags(['--agent', '--model', 'openai/qwen', '--max-turns', '5', '--temperature', '0', '--extra-body', '{"program_id": "p1", "top_k": 2}', '--no-tool-calls', '--time-limit', '90'], flags),
      { OPENAI_BASE_URL: 'http://localhost:8000/v1', OPENAI_API_KEY: 'k' },
    )!;
    expect(opts).toMatchObject({ toolCalls: false, programId: null, limits: { maxTurns: 5, timeLimitS: 90 } });
    expect(opts.model).toEqual({ baseURL: 'http://localhost:8000/v1', apiKey: 'k', model: 'openai/qwen', temperature: 0, extraBody: { program_id: 'p1', top_k: 2 } });
    expect(agentOptionsFromArgs(parseFlags([], flags), {})).toBeNull();
    expect(() => agentOptionsFromArgs(parseFlags(['--agent', '--max-turns', '0'], flags), { OPENAI_BASE_URL: 'http://x/v1', OPENAI_MODEL: 'm' })).toThrow(/--max-turns must be a positive integer/);
    expect(AGENT_DEFAULTS.timeLimitS).toBeLessThan(DEFAULT_CONFIG.container.ttlSeconds);
  });
});
