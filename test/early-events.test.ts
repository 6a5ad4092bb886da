import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut, type RunEvent } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

/** Events are not sent before `runFanOut` returns, so a subscriber attached right after it sees every one, at any N. */
describe('events emitted before runFanOut returns', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('a subscriber attached right after runFanOut sees every specialist.started (N = 200)', async () => {
    const specialists = Array.from({ length: 200 }, (_, i) => ({ id: `s${i}` }));
    const run = runFanOut({ task: 't', specialists, deadlineMs: 60_000 }, { provider: createScriptedProvider({ latencyMs: 100 }) });
    const events: RunEvent[] = [];
    run.events$.subscribe((event) => events.push(event));
    await settle(run);

    expect(events.filter((event) => event.type === 'specialist.started')).toHaveLength(200);
    expect(events.filter((event) => event.type === 'specialist.done')).toHaveLength(200);
  });
});
