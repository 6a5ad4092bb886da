/**
 * Server-sent events for a streamed message: the frame format and the event payloads in the
 * order the SDK's `MessageStream` expects (message_start, ping, content_block_start,
 * content_block_delta…, content_block_stop, message_delta, message_stop).
 */

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
}

/** The `message` object of `message_start` (empty content, no stop reason yet). */
export function messageStart(id: string, model: string, usage: MessageUsage): unknown {
  return {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage },
  };
}

export const PING = { type: 'ping' };

export const CONTENT_BLOCK_START = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } };

export function textDelta(text: string): unknown {
  return { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } };
}

export const CONTENT_BLOCK_STOP = { type: 'content_block_stop', index: 0 };

/** `message_delta`: the stop reason and the final (cumulative) usage. */
export function messageDelta(stopReason: string, stopSequence: string | null, usage: MessageUsage): unknown {
  return { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage };
}

export const MESSAGE_STOP = { type: 'message_stop' };

/** The `event: error` frame's payload. */
export function streamError(type: string, message: string, requestId: string): unknown {
  return { type: 'error', error: { type, message }, request_id: requestId };
}
