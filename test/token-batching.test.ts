import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type ModelProvider } from '../src/index.ts';
import { record, settle } from './support.ts';

/** A provider whose deltas arrive in bursts: all of a reply's deltas in one tick, after `latencyMs`. */
function burstyProvider(deltas: Record<string, string[]>, latencyMs: number): ModelProvider {
  return {
    name: 'bursty',
    stream: (request, { signal, onText, caller }) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const pieces = deltas[caller?.id ?? ''] ?? ['synthesis'];
          for (const piece of pieces) onText?.(piece);
          const text = pieces.join('');
          resolve({ text, model: request.model, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: pieces.length, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 } });
        }, latencyMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      }),
  };
}

describe('token streaming from many specialists', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('joins the deltas one specialist streams within one batch into one token event, in order', async () => {
    const provider = burstyProvider({ a: ['The ', 'quick ', 'fox'], b: ['jumps ', 'over'] }, 100);
    const run = runFanOut({ task: 't', specialists: [{ id: 'a' }, { id: 'b' }], deadlineMs: 10_000 }, { provider });
    const events = record(run);
    const result = await settle(run);

    const tokens = events.filter((event) => event.type === 'specialist.token');
    expect(tokens).toEqual([
      { type: 'specialist.token', id: 'a', text: 'The quick fox' },
      { type: 'specialist.token', id: 'b', text: 'jumps over' },
    ]);
    expect(result.outcomes.map((outcome) => outcome.output)).toEqual(['The quick fox', 'jumps over']);
    // Each specialist's token event still comes between its start and its settle event.
    for (const id of ['a', 'b']) {
      const mine = events.filter((event) => event.id === id).map((event) => event.type);
      expect(mine).toEqual(['specialist.started', 'specialist.token', 'specialist.done']);
    }
  });

  it('keeps deltas that arrive in different batches as separate events', async () => {
    const twoBursts: ModelProvider = {
      name: 'two-bursts',
      stream: (request, options) =>
        new Promise((resolve) => {
          setTimeout(() => options.onText?.('first '), 50);
          setTimeout(() => {
            options.onText?.('second');
            resolve({ text: 'first second', model: request.model, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 2, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 } });
          }, 100);
        }),
    };
    const run = runFanOut({ task: 't', specialists: [{ id: 'a' }], synthesizer: { run: async () => 'done' }, deadlineMs: 10_000 }, { provider: twoBursts });
    const events = record(run);
    await settle(run);
    expect(events.filter((event) => event.type === 'specialist.token').map((event) => event.text)).toEqual(['first ', 'second']);
  });
});
