/**
 * Pacing, driven by a clock the test owns: no test here measures wall time. The simulator
 * schedules every wait on the injected clock, so the test checks what was scheduled, advances
 * it, and sees the SDK receive the deltas one by one.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { estimateTokens, simulatedReply, splitIntoDeltas, startSimulator, type Simulator, type SimulatorClock } from '../src/simulator/index.ts';

/** A clock that only moves when the test says so. */
class ManualClock implements SimulatorClock {
  time = 0;
  #next = 1;
  timers: Array<{ id: number; at: number; fn: () => void }> = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  now(): number {
    return this.time;
  }

  /** Time left on each pending timer, soonest first. */
  pending(): number[] {
    return this.timers.map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }
}

/** Lets pending I/O callbacks and promise continuations run a few rounds (no time passes on the test clock). */
async function flushIo(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Lets I/O and promise continuations run until `condition` holds (no time passes on the test clock). */
async function settle(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition not reached');
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const body = {
  model: 'claude-haiku-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user' as const, content: 'Task: Heat pumps in cold climates\n\nYour angle: Technical details\n\nAt most 60 words.' }],
};

describe('latency model', () => {
  it('a stream waits firstTokenMs for headers and the first delta, then paces each delta by tokens/second', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 200, tokensPerSecond: 50 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const deltas = splitIntoDeltas(simulatedReply(body).text);
    expect(deltas.length).toBeGreaterThan(5);

    const stream = client.messages.stream(body);
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const record = await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([200]);

    clock.advance(199);
    await flushIo();
    expect(record.status).toBeNull();
    expect(texts).toEqual([]);

    clock.advance(1);
    await settle(() => texts.length === 1);
    expect(record.status).toBe(200);
    expect(texts).toEqual([deltas[0]]);

    let elapsed = 200;
    for (let i = 1; i < deltas.length; i++) {
      await settle(() => clock.timers.length === 1);
      const wait = (estimateTokens(deltas[i] ?? '') / 50) * 1000;
      expect(clock.pending()).toEqual([wait]);
      expect(texts).toHaveLength(i);
      expect(record.endedAt).toBeNull();
      clock.advance(wait);
      elapsed += wait;
      await settle(() => texts.length === i + 1);
    }
    const message = await stream.finalMessage();
    expect(texts).toEqual(deltas);
    expect(message.content[0]).toEqual({ type: 'text', text: deltas.join('') });
    expect(record.endedAt).toBe(elapsed);
    expect(clock.timers).toEqual([]);
  });

  it('a JSON response waits firstTokenMs, then the generation time of the rest, and arrives whole', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 300, tokensPerSecond: 100 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const deltas = splitIntoDeltas(simulatedReply(body).text);
    const rest = deltas.slice(1).reduce((sum, delta) => sum + (estimateTokens(delta) / 100) * 1000, 0);

    const call = client.messages.create(body);
    const record = await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([300]);
    clock.advance(300);
    await settle(() => clock.timers.length === 1);
    expect(clock.pending()[0]).toBeCloseTo(rest, 6);
    expect(record.status).toBeNull();
    clock.advance(rest + 1);
    const message = await call;
    expect(message.content[0]).toEqual({ type: 'text', text: deltas.join('') });
    expect(record.endedAt).toBeCloseTo(300 + rest + 1, 6);
  });

  it('tokensPerSecond Infinity sends every delta at once after the first-token delay', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, latency: { firstTokenMs: 50, tokensPerSecond: Infinity } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const stream = client.messages.stream(body);
    await sim.waitFor(() => true);
    expect(clock.pending()).toEqual([50]);
    clock.advance(50);
    const message = await stream.finalMessage();
    expect(clock.timers).toEqual([]);
    expect(message.content[0]).toEqual({ type: 'text', text: simulatedReply(body).text });
  });

  it('latencyByModel overrides the default per model, and a latency fault overrides both for one request', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({
      clock,
      latency: { firstTokenMs: 100, tokensPerSecond: Infinity },
      latencyByModel: { 'claude-opus-4-7': { firstTokenMs: 900 } },
      faults: [{ match: { pattern: 'slow lane' }, times: 1, fault: { type: 'latency', firstTokenMs: 5_000 } }],
    });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const cases: Array<[typeof body, number]> = [
      [body, 100],
      [{ ...body, model: 'claude-opus-4-7' }, 900],
      [{ ...body, messages: [{ role: 'user', content: 'the slow lane' }] }, 5_000],
    ];
    for (const [request, firstTokenMs] of cases) {
      const call = client.messages.create(request);
      const record = await sim.waitFor((entry) => entry.outcome === 'pending');
      expect(clock.pending()).toEqual([firstTokenMs]);
      clock.advance(firstTokenMs);
      await call;
      expect(record.outcome).toBe('completed');
    }
    expect(sim.requests.map((request) => request.fault)).toEqual([null, null, 'latency']);
  });

  it('receivedAt and endedAt come from the injected clock; an abort mid-wait cancels the timer', async () => {
    const clock = new ManualClock();
    clock.time = 1_000;
    sim = await startSimulator({ clock, latency: { firstTokenMs: 400, tokensPerSecond: 10 } });
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
    const controller = new AbortController();
    const call = client.messages.create(body, { signal: controller.signal });
    const record = await sim.waitFor(() => true);
    expect(record.receivedAt).toBe(1_000);
    clock.advance(150);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    await sim.waitFor((entry) => entry === record, 'ended');
    expect(record).toMatchObject({ outcome: 'client_closed', endedAt: 1_150, status: null });
    expect(clock.timers).toEqual([]);
  });

  it('rejects latencies no clock could honour', async () => {
    await expect(startSimulator({ latency: { tokensPerSecond: 0 } })).rejects.toThrow(RangeError);
    await expect(startSimulator({ latency: { firstTokenMs: -1 } })).rejects.toThrow(RangeError);
  });
});
