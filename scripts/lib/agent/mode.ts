/**
 * The agent's part of a cache key: every setting that changes what the agent
 * does, hashed, so run-many never takes another model's run for "done".
 */
import { createHash } from 'node:crypto';
import { AGENT_DEFAULTS, type AgentLimits } from '../core/config.js';
import { stableJson } from '../core/values.js';
import { modelName, type ModelSettings } from './model.js';

/**
 * What the cache key of an agent run folds in besides task, image and stage
 * limits: `agent:<model>:<hash>`, the hash over every setting that changes
 * what the agent does (server, model, temperature, extra body, tool-call mode,
 * turn/time/token limits, what its tools may do and show). Retry and request
 * timing is left out, and so is `program_id` (a router's label, often the run
 * id). run-many must call it with the same options it gives runAgent.
 */
export function agentMode(model: ModelSettings, limits: Partial<AgentLimits> = {}, toolCalls = true): string {
  const l: AgentLimits = { ...AGENT_DEFAULTS, ...limits };
  const { program_id: _label, ...extraBody } = model.extraBody;
  const settings = {
    base_url: model.baseURL.replace(/\/+$/, ''),
    model: modelName(model.model),
    temperature: model.temperature,
    extra_body: extraBody,
    tool_calls: toolCalls,
    max_turns: l.maxTurns,
    time_limit_s: l.timeLimitS,
    max_tokens_total: l.maxTokensTotal,
    repeat_limit: l.repeatLimit,
    command_timeout_s: l.commandTimeoutS,
    command_user: l.commandUser,
    observation_chars: l.observationChars,
    observation_lines: l.observationLines,
    list_max_entries: l.listMaxEntries,
  };
  const hash = createHash('sha256').update(stableJson(settings)).digest('hex').slice(0, 16);
  return `agent:${settings.model}:${hash}`;
}
