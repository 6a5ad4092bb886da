/**
 * The span attributes fanfold writes: the OpenTelemetry GenAI semantic conventions' names
 * (copied, as the conventions are still "Development" and `@opentelemetry/semantic-conventions`
 * keeps them in its unstable entry point), and fanfold's own under `fanfold.*`.
 */
import type { Attributes } from '@opentelemetry/api';
import type { Usage } from '../usage.ts';

export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const ATTR_GEN_AI_AGENT_DESCRIPTION = 'gen_ai.agent.description';
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id';
export const ATTR_GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
/** Opt-in content (`trace: { content: true }`), as JSON text: spans take no structured values yet. */
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';

/** `specialist`, `synthesizer`, `lead` (a model lead), `sub-lead`, or `run` (the whole fan-out). */
export const ATTR_FANFOLD_AGENT_KIND = 'fanfold.agent.kind';
/** The outcome's status: `fulfilled`, `rejected`, `timedOut`, `skipped`; on the run: `done`, `partial`, `failed`, `cancelled`. */
export const ATTR_FANFOLD_STATUS = 'fanfold.status';
/** Model calls (turns and retries) of an agent, or of the whole run. */
export const ATTR_FANFOLD_ATTEMPTS = 'fanfold.attempts';
/** A model call's number among its agent's calls, from 1 (turns and retries alike). */
export const ATTR_FANFOLD_ATTEMPT = 'fanfold.attempt';
/** The tool-use loop's turn of a model call or a tool call, from 1. */
export const ATTR_FANFOLD_TURN = 'fanfold.turn';
/** Model turns an agent finished. */
export const ATTR_FANFOLD_TURNS = 'fanfold.turns';
/** The loop limit that gave an agent its last, tool-less turn (`maxTurns`, `maxToolCalls`). */
export const ATTR_FANFOLD_LOOP_LIMIT = 'fanfold.loop_limit';
/** Server tools (`web_search`, `web_fetch`) the API ran inside a model call. */
export const ATTR_FANFOLD_WEB_SEARCH_REQUESTS = 'fanfold.usage.web_search_requests';
export const ATTR_FANFOLD_WEB_FETCH_REQUESTS = 'fanfold.usage.web_fetch_requests';
/** The run's checkpoint id (also `gen_ai.conversation.id`). */
export const ATTR_FANFOLD_RUN_ID = 'fanfold.run.id';
/** Specialists configured (a model lead: templates), quorum, deadline, concurrency limit. */
export const ATTR_FANFOLD_SPECIALISTS = 'fanfold.specialists';
export const ATTR_FANFOLD_DEADLINE_MS = 'fanfold.deadline_ms';
/** Ids (paths below sub-leads) of the angles a run had to do without. */
export const ATTR_FANFOLD_MISSING = 'fanfold.missing';
/** A run resumed from a checkpoint: its earlier part was traced (if at all) by another process. */
export const ATTR_FANFOLD_RESUMED = 'fanfold.resumed';

/** Span events. */
export const EVENT_RETRY = 'fanfold.retry';
export const EVENT_FALLBACK = 'fanfold.fallback';
export const EVENT_DEADLINE = 'fanfold.deadline';
export const EVENT_CANCELLED = 'fanfold.cancelled';
export const EVENT_LEAD_SPAWNED = 'fanfold.lead.spawned';
export const EVENT_LEAD_JOINING = 'fanfold.lead.joining';
export const EVENT_LEAD_JOINED = 'fanfold.lead.joined';

/**
 * Token usage as GenAI attributes. `gen_ai.usage.input_tokens` counts every input token, cached
 * ones included (the conventions' rule for Anthropic, whose `input_tokens` leaves them out).
 *
 * @example
 * span.setAttributes(usageAttributes(response.usage));
 */
export function usageAttributes(usage: Usage): Attributes {
  const attributes: Attributes = {
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.inputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens,
    [ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: usage.cacheCreationInputTokens,
    [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: usage.cacheReadInputTokens,
  };
  if (usage.serverToolUse) {
    attributes[ATTR_FANFOLD_WEB_SEARCH_REQUESTS] = usage.serverToolUse.webSearchRequests;
    attributes[ATTR_FANFOLD_WEB_FETCH_REQUESTS] = usage.serverToolUse.webFetchRequests;
  }
  return attributes;
}

/**
 * `server.address` and `server.port` of a provider's base URL (the Anthropic provider has one).
 *
 * @example
 * serverAttributes('http://127.0.0.1:8080'); // { 'server.address': '127.0.0.1', 'server.port': 8080 }
 */
export function serverAttributes(baseURL: string | undefined): Attributes {
  if (!baseURL) return {};
  try {
    const url = new URL(baseURL);
    return { [ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[(.*)\]$/, '$1'), [ATTR_SERVER_PORT]: url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443 };
  } catch {
    return {};
  }
}
