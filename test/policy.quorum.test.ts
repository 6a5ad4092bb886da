import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { record, researchSpecialists, settle, expectNoSynthesis } from './support.ts';

const badRequest = (latencyMs: number) => ({ latencyMs, error: { kind: 'bad_request', message: 'prompt is too long', status: 400 } }) as const;

describe('quorum', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('with quorum 2 of 3, one failure still synthesizes: the run is partial', async () => {
    const provider = createScriptedProvider({ latencyMs: 100, byCaller: { technical: badRequest(50) } });
    const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, quorum: 2, deadlineMs: 60_000 }, { provider });
    const result = await settle(run);

    expect(result.status).toBe('partial');
    expect(result.error).toBeNull();
    expect(result.synthesis).toEqual(expect.any(String));
    expect(provider.calls.filter((call) => call.caller?.id === 'synthesizer')).toHaveLength(1);
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(result.missing.map((angle) => angle.id)).toEqual(['technical']);
  });

  describe('with quorum 2 of 3 and two failures', () => {
    const start = () => {
      const provider = createScriptedProvider({
        latencyMs: 100,
        byCaller: {
          historical: badRequest(100),
          technical: badRequest(200),
          societal: { latencyMs: 10_000, text: 'slow but sure' },
        },
      });
      const run = runFanOut({ task: 'nuclear fusion', specialists: researchSpecialists, quorum: 2, deadlineMs: 60_000 }, { provider });
      return { provider, run, events: record(run) };
    };

    it('fails the run with an error saying the quorum was not met, with the counts', async () => {
      const { run } = start();
      const result = await settle(run);

      expect(result.status).toBe('failed');
      expect(result.synthesis).toBeNull();
      expect(result.error).not.toBeNull();
      expect(result.error!.message).toMatch(/quorum/i);
      expect(result.error!.message).toMatch(/\b2\b/);
      expect(result.error!.message).toMatch(/\bof 3\b/);
    });

    it('makes no synthesizer call', async () => {
      const { run, provider, events } = start();
      const result = await settle(run);

      expectNoSynthesis(result, provider, events);
    });

    it('stops as soon as the quorum is out of reach, aborting the slow specialist that was still running', async () => {
      const { run, provider } = start();
      const result = await settle(run);

      const slow = provider.calls.filter((call) => call.caller?.id === 'societal');
      expect(slow).toHaveLength(1);
      expect(slow[0]).toMatchObject({ result: 'aborted', endedAt: 200 });
      expect(result.outcomes[2]).toMatchObject({ id: 'societal', status: 'skipped', output: null, attempts: 1 });
      expect(result.endedAt).toBeLessThan(10_000);
      expect(provider.inFlight).toBe(0);
    });

    it('keeps the outcomes that finished', async () => {
      const { run } = start();
      const result = await settle(run);

      expect(result.outcomes).toHaveLength(3);
      expect(result.outcomes[0]).toMatchObject({ id: 'historical', status: 'rejected', attempts: 1, error: { kind: 'bad_request', status: 400 }, endedAt: 100 });
      expect(result.outcomes[1]).toMatchObject({ id: 'technical', status: 'rejected', attempts: 1, error: { kind: 'bad_request', status: 400 }, endedAt: 200 });
      expect(result.missing.map((angle) => angle.id)).toEqual(['historical', 'technical', 'societal']);
    });
  });

  it('never starts specialists still waiting for a concurrency slot once the quorum is out of reach', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: { historical: badRequest(100), technical: badRequest(200), societal: { latencyMs: 10_000 } },
    });
    const run = runFanOut({ task: 'nuclear fusion', specialists: [...researchSpecialists, { id: 'economic' }], quorum: 3, maxConcurrency: 2, deadlineMs: 60_000 }, { provider });
    const result = await settle(run);

    expect(result.status).toBe('failed');
    // historical's failure at t=100 leaves the quorum reachable, so societal takes its slot;
    // technical's failure at t=200 makes it unreachable: societal is aborted, economic never starts.
    expect(provider.calls.map((call) => [call.caller?.id, call.result])).toEqual([
      ['historical', 'failed'],
      ['technical', 'failed'],
      ['societal', 'aborted'],
    ]);
    expect(result.outcomes[2]).toMatchObject({ id: 'societal', status: 'skipped', attempts: 1, startedAt: 100 });
    expect(result.outcomes[3]).toMatchObject({ id: 'economic', status: 'skipped', attempts: 0, startedAt: null, model: null });
  });

  it('keeps the fulfilled outcome when the quorum becomes unreachable after it', async () => {
    const provider = createScriptedProvider({
      latencyMs: 100,
      byCaller: {
        historical: { latencyMs: 50, text: 'early and right' },
        technical: badRequest(100),
        societal: badRequest(200),
        economic: { hang: true },
      },
    });
    const run = runFanOut({ task: 'nuclear fusion', specialists: [...researchSpecialists, { id: 'economic' }], quorum: 3, deadlineMs: 60_000 }, { provider });
    const result = await settle(run);

    expect(result.status).toBe('failed');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'skipped']);
    expect(result.outcomes[0]!.output).toBe('early and right');
    expect(provider.calls.find((call) => call.caller?.id === 'economic')).toMatchObject({ result: 'aborted', endedAt: 200 });
    expect(provider.calls.some((call) => call.caller?.id === 'synthesizer')).toBe(false);
  });
});
