import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, runFanOut, type FanOutConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { settle } from './support.ts';

/** A research run where the technical angle is itself a fan-out over three sub-angles. */
function nestedConfig(overrides: Partial<FanOutConfig> = {}): FanOutConfig {
  return {
    task: 'nuclear fusion',
    specialists: [
      { id: 'historical', angle: 'Historical context' },
      {
        id: 'technical',
        angle: 'Technical details',
        specialists: [
          { id: 'plasma', angle: 'Plasma confinement' },
          { id: 'materials', angle: 'Materials' },
          { id: 'fuel', angle: 'Fuel cycle' },
        ],
        synthesizer: { instructions: 'Fold the technical sub-angles into one technical finding.' },
      },
      { id: 'societal', angle: 'Societal impact' },
    ],
    deadlineMs: 10_000,
    ...overrides,
  };
}

const callsFor = (provider: ReturnType<typeof createScriptedProvider>, id: string) => provider.calls.filter((call) => call.caller?.id === id);

describe('N-level fan-out: a specialist that fans out to its own sub-specialists', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs the sub-specialists in parallel, folds them with the sub-lead synthesizer, and hands that synthesis up as the specialist output', async () => {
    const provider = createScriptedProvider({ latencyMs: 100 });
    const result = await settle(runFanOut(nestedConfig(), { provider }));

    expect(result.status).toBe('done');
    const technical = result.outcomes.find((outcome) => outcome.id === 'technical')!;
    expect(technical.status).toBe('fulfilled');
    expect(technical.subOutcomes?.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['plasma', 'fulfilled'],
      ['materials', 'fulfilled'],
      ['fuel', 'fulfilled'],
    ]);
    // Sub-specialists started together with the top-level ones; the sub-synthesis followed them.
    for (const id of ['historical', 'societal', 'plasma', 'materials', 'fuel']) expect(callsFor(provider, id)[0]!.startedAt).toBe(0);
    const synthesizerCalls = callsFor(provider, 'synthesizer');
    expect(synthesizerCalls.map((call) => call.startedAt)).toEqual([100, 200]);
    // The sub-lead synthesizer saw the three sub-findings under the sub-lead's angle...
    const subPrompt = synthesizerCalls[0]!.request.messages[0]!.content;
    expect(subPrompt).toContain('Angle: Technical details');
    for (const id of ['plasma', 'materials', 'fuel']) expect(subPrompt).toContain(`<finding specialist="${id}"`);
    expect(subPrompt).toContain('Fold the technical sub-angles');
    // ...and its synthesis is the technical finding the top synthesizer folds.
    expect(technical.output).toBe(`[scripted claude-sonnet-4-6] Reply to: Task: nuclear fusion`);
    const topPrompt = synthesizerCalls[1]!.request.messages[0]!.content;
    expect(topPrompt).toContain(`<finding specialist="technical" angle="Technical details">\n${technical.output}\n</finding>`);
    // Every model call is counted once: 2 + (3 + 1) + 1.
    expect(result.modelCalls).toBe(7);
    expect(provider.calls).toHaveLength(7);
    expect(technical.attempts).toBe(4);
  });

  it('a sub-lead with its own shorter deadline goes partial and still answers the parent', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { fuel: { latencyMs: 5_000 } } });
    const config = nestedConfig();
    (config.specialists[1] as { deadlineMs?: number }).deadlineMs = 1_000;
    const result = await settle(runFanOut(config, { provider }));

    // The sub-lead answered (fulfilled), but without one of its angles: the run is partial and says which.
    expect(result.status).toBe('partial');
    expect(result.missing.map((missing) => [missing.id, missing.status])).toEqual([['technical/fuel', 'timedOut']]);
    const technical = result.outcomes[1]!;
    expect(technical.status).toBe('fulfilled');
    expect(technical.subOutcomes?.find((outcome) => outcome.id === 'fuel')).toMatchObject({ status: 'timedOut', error: { kind: 'deadline' } });
    expect(callsFor(provider, 'fuel')[0]).toMatchObject({ result: 'aborted', endedAt: 1_000 });
    expect(callsFor(provider, 'synthesizer')[0]!.request.messages[0]!.content).toMatch(/Missing angles \(1\)[\s\S]*fuel \("Fuel cycle"\)/);
  });

  it('the parent deadline stops a running sub-lead and its sub-specialists, keeping what they finished', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { fuel: { latencyMs: 5_000 } } });
    const result = await settle(runFanOut(nestedConfig({ deadlineMs: 1_000 }), { provider }));

    expect(result.status).toBe('partial');
    const technical = result.outcomes[1]!;
    // The sub-lead's deadline is capped at the parent's, so it closes its own fan-out at the same
    // instant (fuel timed out) just before the parent stops it: three calls were made below it.
    expect(technical).toMatchObject({ status: 'timedOut', error: { kind: 'deadline' }, attempts: 3 });
    expect(technical.subOutcomes?.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['plasma', 'fulfilled'],
      ['materials', 'fulfilled'],
      ['fuel', 'timedOut'],
    ]);
    expect(callsFor(provider, 'fuel')[0]).toMatchObject({ result: 'aborted', endedAt: 1_000 });
    expect(result.missing.map((missing) => missing.id)).toEqual(['technical']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('validates nested specialists with paths into the nesting', () => {
    const bad = {
      task: 't',
      specialists: [
        { id: 'a', specialists: [{ id: 'x' }, { id: 'x' }] },
        { id: 'b', run: async () => 'b', specialists: [{ id: 'y' }] },
        { id: 'c', quorum: 2 },
      ],
    };
    let error: unknown;
    try {
      runFanOut(bad as FanOutConfig);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toEqual(['specialists[0].specialists[1].id', 'specialists[1].specialists', 'specialists[2].quorum']);
    expect((error as ConfigError).message).toContain('specialists[0].specialists[1].id: expected a unique id, "x" is used twice');
  });

  it('a sub-lead that synthesized without one of its angles makes the run partial, naming the missing sub-angle by its path', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { plasma: { error: { kind: 'bad_request', message: 'prompt rejected' } } } });
    const result = await settle(runFanOut(nestedConfig(), { provider }));

    expect(result.status).toBe('partial');
    expect(result.outcomes.find((outcome) => outcome.id === 'technical')?.status).toBe('fulfilled');
    expect(result.synthesis).not.toBeNull();
    expect(result.missing).toEqual([{ id: 'technical/plasma', angle: 'Plasma confinement', status: 'rejected', reason: 'failed after 1 attempt: prompt rejected' }]);
  });
});
