/**
 * Runs compiled (`npm run bench:fold` builds it with tsc first). Offline, on the simulator
 * (its default latency model: a time to first token that grows with the prompt, cached prefixes
 * fast and cheap), both sides of each comparison in the same process, alternating rounds.
 *
 * - **Tail**: time from the last specialist's end to the synthesis's end, streaming fold vs
 *   batch fold, on the research fan-out (three angles, no tools) with staggered specialist
 *   speeds. Targets: streaming ≤ 0.4× batch, total model cost ≤ 1.3×.
 * - **Shared context**: 10 specialists sharing a ~20,000-token context, with prompt caching vs
 *   without. Targets: input cost ≤ 0.25×, and the warm-up (the others wait for the first's
 *   response to begin) costs at most one time to first token.
 * - **Budget**: the research run capped at half its uncapped cost ends `partial` with spend ≤ the cap.
 *
 *   npm run bench:fold
 */
import { researchConfig, runFanOut, type FanOutConfig, type RunResult } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { startSimulator } from '../src/simulator/entry.ts';
import { costOfRun, priceOf } from '../src/pricing/cost.ts';
import { timeToFirstTokenMs, DEFAULT_LATENCY, type Simulator } from '../src/simulator/index.ts';
import { median } from './support.ts';

const ROUNDS = 5;

/** Staggered specialists: the three angles answer at different speeds (tokens/s), so findings arrive one by one. */
const STAGGER = { historical: 200, technical: 120, societal: 70 } as const;

function verdict(value: number, target: number): string {
  return `${value.toFixed(3)} (target ≤ ${target}) ${value <= target ? 'met' : 'MISSED'}`;
}

async function foldRun(sim: Simulator, fanIn: 'batch' | 'stream'): Promise<{ tail: number; cost: number }> {
  const provider = createAnthropicProvider({ apiKey: 'sk-bench', baseURL: sim.url, env: {} });
  const config: FanOutConfig = { ...researchConfig('nuclear fusion', { tools: false }), fanIn };
  const result = await runFanOut(config, { provider }).result;
  if (result.status !== 'done') throw new Error(`${fanIn} run ended ${result.status}`);
  const lastSpecialist = Math.max(...result.outcomes.map((outcome) => outcome.endedAt));
  return { tail: result.synthesizer!.endedAt - lastSpecialist, cost: costOfRun(result).total.costUsd };
}

async function tail(): Promise<void> {
  const sim = await startSimulator({
    faults: Object.entries(STAGGER).map(([caller, tokensPerSecond]) => ({ match: { caller }, fault: { type: 'latency' as const, tokensPerSecond } })),
  });
  try {
    await foldRun(sim, 'batch');
    const batch: Array<{ tail: number; cost: number }> = [];
    const stream: Array<{ tail: number; cost: number }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        batch.push(await foldRun(sim, 'batch'));
        stream.push(await foldRun(sim, 'stream'));
      } else {
        stream.push(await foldRun(sim, 'stream'));
        batch.push(await foldRun(sim, 'batch'));
      }
    }
    const batchTail = median(batch.map((run) => run.tail));
    const streamTail = median(stream.map((run) => run.tail));
    const batchCost = median(batch.map((run) => run.cost));
    const streamCost = median(stream.map((run) => run.cost));
    console.log('Tail after the last specialist (research, 3 angles at 200/120/70 tokens/s, medians of 5):');
    console.log(`  batch ${batchTail.toFixed(0)} ms · stream ${streamTail.toFixed(0)} ms · ratio ${verdict(streamTail / batchTail, 0.4)}`);
    console.log(`  cost: batch $${batchCost.toFixed(4)} · stream $${streamCost.toFixed(4)} · ratio ${verdict(streamCost / batchCost, 1.3)}`);
  } finally {
    await sim.close();
  }
}

const REPORT = 'The tidal barrage at La Rance has produced power since 1966, at 240 MW peak, and its turbines were refurbished in the 1990s. '.repeat(650);

function inputCost(result: RunResult): number {
  return result.outcomes.reduce((sum, outcome) => {
    const price = priceOf(outcome.model!)!;
    return sum + (outcome.usage.inputTokens * price.input + outcome.usage.cacheCreationInputTokens * price.cacheWrite + outcome.usage.cacheReadInputTokens * price.cacheRead) / 1e6;
  }, 0);
}

async function sharedContext(): Promise<void> {
  const sim = await startSimulator();
  try {
    const config: FanOutConfig = {
      task: 'tidal power',
      context: { brief: 'Base your finding on the report.', documents: [{ title: 'Tidal report', text: REPORT }] },
      specialists: Array.from({ length: 10 }, (_, index) => ({ id: `s${index}`, angle: `Angle ${index}`, instructions: 'Write 100-150 words.' })),
      synthesizer: { run: async ({ outcomes }) => `${outcomes?.length} findings` },
    };
    const before = sim.requests.length;
    const cached = await runFanOut(config, { provider: createAnthropicProvider({ apiKey: 'sk-bench', baseURL: sim.url, env: {} }) }).result;
    const requests = sim.requests.slice(before);
    const uncached = await runFanOut(config, { provider: createAnthropicProvider({ apiKey: 'sk-bench', baseURL: sim.url, env: {}, promptCaching: false }) }).result;
    const contextTokens = requests[0]!.usage!.cache_creation_input_tokens;
    // The warm-up: the others were sent after the first's response began (one time to first token).
    const firstTtft = timeToFirstTokenMs(requests[0]!.usage!, DEFAULT_LATENCY);
    const held = Math.min(...requests.slice(1).map((request) => request.receivedAt)) - requests[0]!.receivedAt;
    console.log(`\nShared context (10 specialists, ${contextTokens.toLocaleString('en')} cached tokens):`);
    console.log(`  input cost: cached $${inputCost(cached).toFixed(4)} · uncached $${inputCost(uncached).toFixed(4)} · ratio ${verdict(inputCost(cached) / inputCost(uncached), 0.25)}`);
    console.log(`  warm-up: the others started ${held.toFixed(0)} ms after the first; its time to first token ${firstTtft.toFixed(0)} ms · ratio ${verdict(held / firstTtft, 1.05)}`);
  } finally {
    await sim.close();
  }
}

async function budget(): Promise<void> {
  const sim = await startSimulator({ latency: { firstTokenMs: 50, tokensPerSecond: 600 } });
  try {
    const provider = createAnthropicProvider({ apiKey: 'sk-bench', baseURL: sim.url, env: {} });
    const uncapped = await runFanOut(researchConfig('nuclear fusion'), { provider }).result;
    const full = costOfRun(uncapped).total.costUsd;
    const cap = Math.round((full / 2) * 10_000) / 10_000;
    const capped = await runFanOut({ ...researchConfig('nuclear fusion'), budget: { usd: cap } }, { provider }).result;
    const spent = capped.budget!.spent.usd;
    const ok = capped.status === 'partial' && spent <= cap;
    console.log(`\nBudget (research with web tools; uncapped cost $${full.toFixed(4)}):`);
    console.log(`  capped at $${cap.toFixed(4)}: ${capped.status}${capped.stop ? ` (stop: ${capped.stop})` : ''}, spent $${spent.toFixed(4)} (target: partial, spend ≤ cap) ${ok ? 'met' : 'MISSED'}`);
  } finally {
    await sim.close();
  }
}

console.log(`fanfold fold bench — Node ${process.version}, offline on the simulator\n`);
await tail();
await sharedContext();
await budget();
