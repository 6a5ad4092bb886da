/**
 * Opt-in content for spans (`trace: { content: true }`): the Messages API's blocks in the shape
 * the GenAI conventions give `gen_ai.input.messages`, `gen_ai.output.messages` and
 * `gen_ai.system_instructions` (roles with typed parts), as JSON text — spans take no
 * structured values yet — and redacted like everything else fanfold shows or keeps.
 */
import type { ContentBlock, ModelMessage, ModelResponse } from '../providers/provider.ts';
import { redactSecrets } from '../redact.ts';

/** One part of a message in the conventions' schema. */
type Part = { type: string; [key: string]: unknown };

/** JSON text of `value` with every credential-looking string redacted. */
export function redactedJson(value: unknown): string {
  return redactSecrets(JSON.stringify(value) ?? 'null');
}

/**
 * `gen_ai.system_instructions`.
 *
 * @example
 * span.setAttribute('gen_ai.system_instructions', systemInstructionsJson('You are a historian.'));
 */
export function systemInstructionsJson(system: string): string {
  return redactedJson([{ type: 'text', content: system }]);
}

/**
 * `gen_ai.input.messages` of a model request.
 *
 * @example
 * inputMessagesJson([{ role: 'user', content: 'Task: tides' }]); // [{"role":"user","parts":[{"type":"text","content":"Task: tides"}]}]
 */
export function inputMessagesJson(messages: readonly ModelMessage[]): string {
  return redactedJson(messages.map((message) => ({ role: message.role, parts: partsOf(message.content) })));
}

/**
 * `gen_ai.output.messages` of a model response: one assistant message with its finish reason.
 *
 * @example
 * outputMessagesJson({ text: 'Hi', model: 'm', stopReason: 'end_turn', usage });
 */
export function outputMessagesJson(response: Pick<ModelResponse, 'text' | 'content' | 'stopReason'>): string {
  return redactedJson([{ role: 'assistant', parts: partsOf(response.content ?? response.text), finish_reason: response.stopReason ?? 'unknown' }]);
}

/**
 * One text message as `gen_ai.input.messages` / `gen_ai.output.messages` (a run's task, an
 * agent's finding).
 *
 * @example
 * textMessageJson('user', 'nuclear fusion');
 */
export function textMessageJson(role: 'user' | 'assistant', text: string): string {
  return redactedJson([{ role, parts: [{ type: 'text', content: text }] }]);
}

/** A message's content as typed parts. */
function partsOf(content: string | readonly ContentBlock[]): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content }];
  return content.map(partOf);
}

function partOf(block: ContentBlock): Part {
  const raw = block as Record<string, unknown> & { type: string };
  switch (raw.type) {
    case 'text':
      return { type: 'text', content: raw['text'] };
    case 'tool_use':
      return { type: 'tool_call', id: raw['id'], name: raw['name'], arguments: raw['input'] };
    case 'tool_result': {
      const result = raw['content'];
      return { type: 'tool_call_response', id: raw['tool_use_id'], response: typeof result === 'string' ? result : Array.isArray(result) ? (result as ContentBlock[]).map(partOf) : result };
    }
    case 'server_tool_use':
      return { type: 'server_tool_call', id: raw['id'], name: raw['name'], server_tool_call: { type: raw['name'], input: raw['input'] } };
    case 'thinking':
      return { type: 'reasoning', content: raw['thinking'] };
    default:
      // Server tool results (`web_search_tool_result`, …) and anything newer, as they came.
      if (raw.type.endsWith('_tool_result')) return { type: 'server_tool_call_response', id: raw['tool_use_id'], server_tool_call_response: { type: raw.type, content: raw['content'] } };
      return { ...raw };
  }
}
