import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, type RunResult, runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { researchSpecialists, settle } from './support.ts';

describe('config that passes validation and misbehaves at runtime', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('a very large deadlineMs is rejected by validation (or honoured), not turned into a 1 ms deadline', async () => {
    let result: RunResult;
    try {
      const run = runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: Number.MAX_SAFE_INTEGER }, { provider: createScriptedProvider({ latencyMs: 100 }) });
      result = await settle(run);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }
    expect(result.status).toBe('done');
  });

  it('a very large attemptTimeoutMs is rejected by validation (or honoured), not turned into a 1 ms attempt deadline', async () => {
    let result: RunResult;
    try {
      const run = runFanOut({ task: 't', specialists: researchSpecialists, deadlineMs: 2 ** 40, policy: { attemptTimeoutMs: 2 ** 40 } }, { provider: createScriptedProvider({ latencyMs: 100 }) });
      result = await settle(run);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }
    expect(result.status).toBe('done');
  });

  it('every specialist has a run function and there is no provider: the run works, or fails before any work', async () => {
    let ran = 0;
    const specialists = ['a', 'b'].map((id) => ({
      id,
      run: async () => {
        ran++;
        return `${id} ok`;
      },
    }));
    let result: RunResult;
    try {
      result = await settle(runFanOut({ task: 't', specialists, deadlineMs: 60_000 }));
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect(ran).toBe(0);
      return;
    }
    expect(result.status, result.error?.message).toBe('done');
  });

  it('task keys of different specialists never collide', async () => {
    const run = runFanOut({
      task: 't',
      deadlineMs: 10_000,
      synthesizer: { run: async () => 'syn' },
      specialists: [
        { id: 'a/b', run: async () => 'top-level a/b' },
        { id: 'a', specialists: [{ id: 'b', run: async () => 'nested b' }], synthesizer: { run: async ({ outcomes }) => outcomes!.map((o) => o.output).join() } },
      ],
    });
    const result = await settle(run);
    expect(result.outcomes[0]!.output).toBe('top-level a/b');
  });
});
