import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle } from './support.ts';

describe('onFailure: skip (the default)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const run = () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: {
        historical: { text: 'Fusion research began in the 1920s with Eddington.' },
        technical: { text: 'Tokamaks confine plasma with magnetic fields.' },
        societal: { latencyMs: 50, error: { kind: 'auth', message: 'invalid x-api-key', status: 401 } },
      },
    });
    const fanOut = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, deadlineMs: 60_000 }, { provider, random: () => 0 });
    return { provider, fanOut, events: record(fanOut) };
  };

  it("ends the run partial, keeping every other specialist's output", async () => {
    const { fanOut } = run();
    const result = await settle(fanOut);

    expect(result.status).toBe('partial');
    expect(result.error).toBeNull();
    expect(result.synthesis).toEqual(expect.any(String));
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status])).toEqual([
      ['historical', 'fulfilled'],
      ['technical', 'fulfilled'],
      ['societal', 'rejected'],
    ]);
    expect(result.outcomes[0]!.output).toBe('Fusion research began in the 1920s with Eddington.');
    expect(result.outcomes[1]!.output).toBe('Tokamaks confine plasma with magnetic fields.');
    expect(result.outcomes[2]).toMatchObject({ output: null, attempts: 1, error: { kind: 'auth', status: 401, message: 'invalid x-api-key' } });
  });

  it('names the failed specialist in result.missing, with its angle and the reason', async () => {
    const { fanOut } = run();
    const result = await settle(fanOut);

    expect(result.missing).toHaveLength(1);
    expect(result.missing[0]).toMatchObject({ id: 'societal', angle: 'Societal impact', status: 'rejected' });
    expect(result.missing[0]!.reason).toContain('invalid x-api-key');
    expect(result.missing[0]!.reason).toMatch(/1 attempt\b/);
  });

  it('tells the synthesizer which angle is missing and why, alongside labelled findings of the others', async () => {
    const { fanOut, provider, events } = run();
    await settle(fanOut);

    const last = provider.calls[provider.calls.length - 1]!;
    expect(last.caller?.id).toBe('synthesizer');
    expect(provider.calls.filter((call) => call.caller?.id === 'synthesizer')).toHaveLength(1);
    const prompt = last.request.messages.map((message) => message.content).join('\n');

    expect(prompt).toContain('<finding specialist="historical" angle="Historical context">');
    expect(prompt).toContain('Fusion research began in the 1920s with Eddington.');
    expect(prompt).toContain('<finding specialist="technical" angle="Technical details">');
    expect(prompt).toContain('Tokamaks confine plasma with magnetic fields.');
    expect(prompt).not.toContain('<finding specialist="societal"');

    const missingSection = prompt.slice(prompt.indexOf('Missing angles'));
    expect(prompt).toContain('Missing angles');
    expect(missingSection).not.toMatch(/^Missing angles: none/);
    const missingLine = missingSection.split('\n').find((line) => line.includes('societal'));
    expect(missingLine).toBeDefined();
    expect(missingLine).toContain('Societal impact');
    expect(missingLine).toContain('invalid x-api-key');
    expect(missingSection).not.toContain('historical');
    expect(missingSection).not.toContain('technical');

    expect(events.find((event) => event.type === 'specialist.failed')).toMatchObject({ id: 'societal' });
    expect(events.map((event) => event.type)).toContain('synthesis.done');
  });
});
