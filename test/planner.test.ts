import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../src/providers/anthropic.ts';
import { parsePlan, planAngles, toSpecialists } from '../src/presets/planner.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';

describe('angle planner', () => {
  let sim: Simulator | undefined;
  afterEach(() => sim?.close());

  it('asks a model for N angles and gets them back as specialists', async () => {
    sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
    const provider = createAnthropicProvider({ apiKey: 'k', baseURL: sim.url, env: {} });
    const plan = await planAngles(provider, 'urban heat islands', { count: 5, model: 'claude-haiku-4-5' });
    expect(plan.angles).toHaveLength(5);
    expect(new Set(plan.angles.map((angle) => angle.id)).size).toBe(5);
    expect(plan.model).toBe('claude-haiku-4-5');
    expect(plan.usage.outputTokens).toBeGreaterThan(0);
    expect(sim.requests[0]).toMatchObject({ caller: 'planner', model: 'claude-haiku-4-5' });
    const specialists = toSpecialists(plan.angles);
    expect(specialists[0]).toEqual({ id: plan.angles[0]!.id, angle: plan.angles[0]!.angle, instructions: plan.angles[0]!.instructions });
  });

  it('reads JSON wrapped in prose, normalises and de-duplicates ids, keeps at most N', () => {
    const text = 'Here you go:\n[{"id":"History","angle":"History"},{"id":"history","angle":"Past"},{"id":"synthesizer","angle":"S"},{"id":"x","angle":"X"}]\nThanks';
    expect(parsePlan(text, 3).map((angle) => angle.id)).toEqual(['history', 'history-2', 'synthesizer-2']);
  });

  it('skips bracketed prose before the JSON array', () => {
    expect(parsePlan('As noted in [1], here are the angles: [{"id":"cost","angle":"Cost"}]', 4)).toEqual([{ id: 'cost', angle: 'Cost', instructions: '' }]);
  });

  it('says clearly when the answer is not a list of angles', () => {
    expect(() => parsePlan('I cannot help with that.', 4)).toThrow(/did not answer with a JSON array of angles/);
    expect(() => parsePlan('[{"name": 1}]', 4)).toThrow(/not in the expected shape/);
  });
});
