/**
 * The runner agent's flags and environment (run-one and run-many), checked into
 * the options runAgent takes; every problem is a one-line usage error (exit 2).
 */
import path from 'node:path';
import type minimist from 'minimist';
import { intFlag, secondsFlag, stringFlag } from './flags.js';
import type { AgentLimits } from '../core/config.js';
import { HarnessError } from '../core/errors.js';
import { isPlainObject } from '../core/values.js';
import type { ModelSettings } from '../agent/model.js';

export const AGENT_STRING_FLAGS = ['model', 'max-turns', 'temperature', 'extra-body', 'program-id', 'release-url', 'max-tokens-total', 'time-limit', 'preds'];
/** `--no-tool-calls` is minimist's negation of `tool-calls` (default true). */
export const AGENT_BOOLEAN_FLAGS = ['agent', 'tool-calls'];

export const AGENT_USAGE = `Runner agent (--agent; env OPENAI_BASE_URL, OPENAI_API_KEY, SWE_HARNESS_MODEL or OPENAI_MODEL):
  --agent               let an LLM agent solve the task with the stages as tools
  --model NAME          model (an "openai/" prefix is stripped)
  --max-turns N         model calls at most (default 30)
  --temperature T       sampling temperature (default: the server's)
  --extra-body JSON     object merged into every request body
  --program-id [ID]     extra_body.program_id for routers (no value: the run id)
  --release-url URL     POST {"program_id"} there when the run ends
  --no-tool-calls       actions as fenced \`\`\`action blocks (servers without a tool parser)
  --max-tokens-total N  stop after this many tokens in all (token_limit)
  --time-limit S        wall-clock seconds for the agent (default 1800)
  --preds FILE          append the model's patch to this SWE-bench preds.json (mini-swe-agent's dict)`;

export interface AgentCliOptions {
  model: ModelSettings;
  toolCalls: boolean;
  limits: Partial<AgentLimits>;
  programId: string | true | null;
  releaseUrl: string | null;
  predsFile: string | null;
}

/** The agent's options, or null without --agent (agent flags without it are a usage error). */
export function agentOptionsFromArgs(args: minimist.ParsedArgs, env: NodeJS.ProcessEnv = process.env): AgentCliOptions | null {
  if (!args.agent) {
    const stray = AGENT_STRING_FLAGS.find((f) => args[f] !== undefined) ?? (args['tool-calls'] === false ? 'no-tool-calls' : undefined);
    if (stray) throw new HarnessError('usage', `--${stray} needs --agent`);
    return null;
  }
  const given = ['patch', 'predictions'].find((f) => args[f] !== undefined) ?? ['task-patch', 'gold', 'before'].find((f) => args[f] === true);
  if (given) throw new HarnessError('usage', `--agent writes and tests its own patch: drop --${given}`);
  const model = modelSettings(args, env);
  const releaseUrl = stringFlag(args, 'release-url');
  if (releaseUrl !== null && !HTTP_URL.test(releaseUrl)) throw new HarnessError('usage', `--release-url must be an http(s) URL, got "${releaseUrl}"`);
  const programId = programIdFlag(args);
  return {
    model,
    toolCalls: args['tool-calls'] !== false,
    limits: limitsFlags(args),
    programId,
    releaseUrl,
    predsFile: stringFlag(args, 'preds') ? path.resolve(stringFlag(args, 'preds')!) : null,
  };
}

const HTTP_URL = /^https?:\/\/[^\s]+$/;

/** Endpoint, key and model from the environment and --model; --temperature and --extra-body. */
function modelSettings(args: minimist.ParsedArgs, env: NodeJS.ProcessEnv): ModelSettings {
  const baseURL = env.OPENAI_BASE_URL?.trim();
  if (!baseURL) throw new HarnessError('usage', '--agent needs OPENAI_BASE_URL (an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1)');
  if (!HTTP_URL.test(baseURL)) throw new HarnessError('usage', `OPENAI_BASE_URL must be an http(s) URL, got "${baseURL}"`);
  const model = stringFlag(args, 'model') ?? (env.SWE_HARNESS_MODEL?.trim() || env.OPENAI_MODEL?.trim() || null);
  if (!model) throw new HarnessError('usage', '--agent needs a model: --model NAME, or SWE_HARNESS_MODEL / OPENAI_MODEL');
  return { baseURL, apiKey: env.OPENAI_API_KEY?.trim() || 'EMPTY', model, temperature: temperatureFlag(args), extraBody: extraBodyFlag(args) };
}

function temperatureFlag(args: minimist.ParsedArgs): number | null {
  if (args.temperature === undefined) return null;
  const t = Number(args.temperature);
  if (args.temperature === '' || !Number.isFinite(t) || t < 0) {
    throw new HarnessError('usage', `--temperature must be a number >= 0, got "${args.temperature}"`);
  }
  return t;
}

function extraBodyFlag(args: minimist.ParsedArgs): Record<string, unknown> {
  const raw = stringFlag(args, 'extra-body');
  if (raw === null) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HarnessError('usage', `--extra-body must be a JSON object, got ${JSON.stringify(raw)} (not valid JSON)`);
  }
  if (!isPlainObject(v)) throw new HarnessError('usage', `--extra-body must be a JSON object, got ${JSON.stringify(raw)}`);
  return v;
}

/** `--program-id ID`, or true for `--program-id` alone (the run id), or null. */
function programIdFlag(args: minimist.ParsedArgs): string | true | null {
  const raw = args['program-id'];
  if (Array.isArray(raw)) throw new HarnessError('usage', '--program-id given more than once');
  return raw === undefined ? null : raw === '' ? true : String(raw);
}

function limitsFlags(args: minimist.ParsedArgs): Partial<AgentLimits> {
  const limits: Partial<AgentLimits> = {};
  if (args['max-turns'] !== undefined) limits.maxTurns = intFlag(args, 'max-turns', 0);
  if (args['max-tokens-total'] !== undefined) limits.maxTokensTotal = intFlag(args, 'max-tokens-total', 0);
  const timeLimit = secondsFlag(args, 'time-limit');
  if (timeLimit !== undefined) limits.timeLimitS = timeLimit;
  return limits;
}
