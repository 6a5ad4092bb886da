/**
 * Server-sent events for a streamed message: the frame format and the event payloads in the
 * order the SDK's `MessageStream` expects (message_start, ping, content_block_start,
 * content_block_delta…, content_block_stop, message_delta, message_stop), and how each kind of
 * content block is streamed.
 */
import type { ReplyBlock, ServerToolUsage } from './content.ts';

/** One SSE frame: an `event:` line, a `data:` JSON line and a blank line. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A frame whose data line is not JSON: what the `malformed` fault sends in a stream. */
export const MALFORMED_FRAME = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_\n\n';

/** Words per streamed delta ("a few words each", as the real API's deltas are). */
export const WORDS_PER_DELTA = 3;

/**
 * Splits text into deltas of a few words each, whitespace kept with the word before it, so
 * the deltas concatenate back to exactly `text`.
 */
export function splitIntoDeltas(text: string, wordsPerDelta = WORDS_PER_DELTA): string[] {
  const words = text.split(/(?<=\s)(?=\S)/).filter((part) => part.length > 0);
  const deltas: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerDelta) deltas.push(words.slice(i, i + wordsPerDelta).join(''));
  return deltas;
}

/** The usage object sent in `message_start` and in the final JSON message. */
export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Sent in the final usage of a reply to a request that offers tools. */
  server_tool_use?: ServerToolUsage;
}

/** The `message` object of `message_start` (empty content, no stop reason yet). */
export function messageStart(id: string, model: string, usage: MessageUsage): unknown {
  return {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage },
  };
}

export const PING = { type: 'ping' };

export function textDelta(text: string, index = 0): unknown {
  return { type: 'content_block_delta', index, delta: { type: 'text_delta', text } };
}

/** Pieces a tool call's input JSON is streamed in (the real API sends it in a few chunks). */
export const JSON_CHUNKS = 3;

/** Splits a JSON text into at most `chunks` pieces that concatenate back to it. */
export function splitJson(json: string, chunks = JSON_CHUNKS): string[] {
  if (json === '{}' || json.length === 0) return [];
  const size = Math.ceil(json.length / chunks);
  const pieces: string[] = [];
  for (let at = 0; at < json.length; at += size) pieces.push(json.slice(at, at + size));
  return pieces;
}

/** One streamed delta of a block: its event payload and the text it carries (for pacing and usage). */
export interface StreamDelta {
  payload: unknown;
  text: string;
}

/** How one content block is streamed: its start event, its deltas, and its stop event. */
export interface StreamedBlock {
  start: unknown;
  deltas: StreamDelta[];
  stop: unknown;
}

/**
 * The events of one block at `index`: text via `text_delta` (citations first, each in a
 * `citations_delta`); `tool_use` / `server_tool_use` with `input: {}` then `input_json_delta`
 * chunks; server tool results delivered whole in their `content_block_start`.
 */
export function streamedBlock(block: ReplyBlock, index: number): StreamedBlock {
  const stop = { type: 'content_block_stop', index };
  switch (block.type) {
    case 'text': {
      const deltas: StreamDelta[] = (block.citations ?? []).map((citation) => ({
        payload: { type: 'content_block_delta', index, delta: { type: 'citations_delta', citation } },
        text: '',
      }));
      for (const text of splitIntoDeltas(block.text)) deltas.push({ payload: textDelta(text, index), text });
      return { start: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, deltas, stop };
    }
    case 'tool_use':
    case 'server_tool_use': {
      const deltas = splitJson(JSON.stringify(block.input)).map((partial) => ({
        payload: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } },
        text: partial,
      }));
      return { start: { type: 'content_block_start', index, content_block: { ...block, input: {} } }, deltas, stop };
    }
    default:
      return { start: { type: 'content_block_start', index, content_block: block }, deltas: [], stop };
  }
}

/** `message_delta`: the stop reason and the final (cumulative) usage. */
export function messageDelta(stopReason: string, stopSequence: string | null, usage: MessageUsage): unknown {
  return { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage };
}

export const MESSAGE_STOP = { type: 'message_stop' };

/** The `event: error` frame's payload. */
export function streamError(type: string, message: string, requestId: string): unknown {
  return { type: 'error', error: { type, message }, request_id: requestId };
}
