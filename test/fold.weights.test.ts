/**
 * Weighted synthesis through the real SDK against the simulator: each specialist reports its
 * confidence and sources with a `report` call in the response that writes its finding (no
 * extra call), findings carry their metadata and a weight, the synthesis prompt orders them by
 * weight and tells the synthesizer to favour the higher one where they conflict.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, researchConfig, runFanOut, type ModelRequest } from '../src/index.ts';
import { createAnthropicProvider } from '../src/anthropic.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { DEFAULT_SPECIALIST_SYSTEM, WEIGHTS_INSTRUCTION } from '../src/prompts.ts';
import { toJsonResult } from '../src/cli/jsonResult.ts';
import { DEFAULT_PRICES } from '../src/pricing/prices.ts';
import { formatReport } from '../src/cli/report.ts';
import { weighFindings } from '../src/findings/weights.ts';
import { simulatorPerTest } from './support.ts';

const simulator = simulatorPerTest();

describe('weighted synthesis (real SDK ↔ simulator)', () => {
  it("weights come from each specialist's report call; the prompt orders findings by weight and says to favour the higher", async () => {
    const sim = await simulator();
    const config = { ...researchConfig('tidal power'), weights: true as const };
    const result = await runFanOut(config, { provider: createAnthropicProvider({ apiKey: 'sk-ant-weights', baseURL: sim.url, env: {} }) }).result;

    expect(result.status).toBe('done');
    for (const outcome of result.outcomes) {
      // Reported with the finding, in the same response: search turn, fetch-and-write turn, no extra call.
      expect(outcome.turns).toBe(2);
      expect(outcome.report!.confidence).toBeGreaterThanOrEqual(0.45);
      expect(outcome.report!.confidence).toBeLessThanOrEqual(0.95);
      expect(outcome.sources!.length).toBeGreaterThan(0);
      expect(outcome.toolCalls!.map((call) => call.name)).toEqual(['web_search', 'web_fetch']);
    }
    expect(result.modelCalls).toBe(3 * 2 + 1);
    // Each finding's weight by the default rule (confidence 0.6, sources 0.4).
    const expected = weighFindings(result.outcomes, { confidence: 0.6, sources: 0.4 });
    expect(result.weights).toEqual(Object.fromEntries(expected));

    const synthesis = sim.requests.find((request) => request.caller === 'synthesizer')!;
    const tags = [
      ...synthesis.text.matchAll(
        /<finding specialist="([^"]+)" angle="[^"]+" weight="([\d.]+)" confidence="([\d.]+|unreported)" sources="(\d+)" words="(\d+)" seconds="[\d.]*" attempts="(\d+)" model="[^"]*">/g,
      ),
    ];
    expect(tags).toHaveLength(3);
    // Highest weight first.
    const weights = tags.map((tag) => Number(tag[2]));
    expect(weights).toEqual([...weights].sort((a, b) => b - a));
    for (const tag of tags) expect(Number(tag[2])).toBe(result.weights![tag[1]!]);
    expect(synthesis.text).toContain(WEIGHTS_INSTRUCTION);
    // The simulated synthesizer says which finding it follows where they differ.
    expect(result.synthesis).toMatch(/this synthesis follows the [a-z ]+ finding, which is better supported/);

    // --json and the report show each finding's metadata and weight.
    const json = toJsonResult(result, 'simulator', DEFAULT_PRICES);
    for (const entry of json.specialists) {
      expect(entry.weight).toBe(result.weights![entry.id]);
      expect(entry.metadata).toMatchObject({ confidence: expect.any(Number), sources: expect.any(Number), words: expect.any(Number), attempts: 2, model: 'claude-sonnet-4-6' });
    }
    const report = formatReport(json, { includeSynthesis: false, color: false });
    expect(report).toContain('Findings by weight (the synthesis favours the higher where they conflict)');
    expect(report).toMatch(/historical\s+weight \d\.\d\d · confidence \d\.\d\d · \d+ sources? · \d+ words/);
  });

  it('a specialist without tools reports in its one call; conflicting findings are ordered by their weights', async () => {
    const sim = await simulator();
    const config = { ...researchConfig('tidal power', { tools: false }), weights: { confidence: 1 } };
    const result = await runFanOut(config, { provider: createAnthropicProvider({ apiKey: 'sk-ant-weights', baseURL: sim.url, env: {} }) }).result;
    expect(result.outcomes.every((outcome) => outcome.turns === 1 && outcome.attempts === 1 && outcome.report?.confidence !== null)).toBe(true);
    expect(result.modelCalls).toBe(4);
    // Confidence alone: the weight is the reported confidence.
    for (const outcome of result.outcomes) expect(result.weights![outcome.id]).toBe(Math.round(outcome.report!.confidence! * 100) / 100);
    const synthesis = sim.requests.find((request) => request.caller === 'synthesizer')!;
    const order = [...synthesis.text.matchAll(/<finding specialist="([^"]+)"/g)].map((match) => match[1]);
    const byWeight = [...result.outcomes].sort((a, b) => result.weights![b.id]! - result.weights![a.id]!).map((outcome) => outcome.id);
    expect(order).toEqual(byWeight);
  });

  /** The tool results sent back in a request's last message. */
  const resultsIn = (request: ModelRequest) => {
    const last = request.messages[request.messages.length - 1]!;
    return typeof last.content === 'string' ? [] : last.content.filter((block) => block.type === 'tool_result');
  };

  it('a report with no finding written is recorded, and the specialist is asked for the text: the next turn is its finding', async () => {
    const provider = createScriptedProvider({
      reply: (request, call) => {
        if (call.caller?.id === 'synthesizer') return { text: 'folded' };
        return request.messages.length === 1
          ? { content: [{ type: 'tool_use', id: 'toolu_report_1', name: 'report', input: { confidence: 0.8, sources: ['https://a.example/tides'] } }], stopReason: 'tool_use' }
          : { text: 'Tidal range decides the output.' };
      },
    });
    const result = await runFanOut({ task: 'tidal power', specialists: [{ id: 'only' }], weights: true }, { provider }).result;
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', output: 'Tidal range decides the output.', turns: 2, report: { confidence: 0.8, sources: ['https://a.example/tides'] } });
    const second = provider.calls.filter((call) => call.caller?.id === 'only')[1]!.request;
    expect(resultsIn(second)).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_report_1', content: expect.stringMatching(/^Recorded\. Now write your finding as text/) }]);
    // A specialist whose only tool is `report` keeps the plain system prompt (it has nothing to research with).
    expect(second.system).toBe(DEFAULT_SPECIALIST_SYSTEM);
  });

  it("without weights, a user's own tool named `report` runs as any other tool", async () => {
    const ran: string[] = [];
    const report = defineTool({
      name: 'report',
      description: 'files a ticket',
      input: z.object({ title: z.string() }),
      run: async ({ title }) => {
        ran.push(title);
        return `ticket filed: ${title}`;
      },
    });
    const provider = createScriptedProvider({
      reply: (request, call) => {
        if (call.caller?.id === 'synthesizer') return { text: 'folded' };
        return request.messages.length === 1
          ? { text: 'Filing it.', toolUse: [{ name: 'report', input: { title: 'tides' } }] }
          : { text: `done after ${JSON.stringify(resultsIn(request).map((block) => (block as { content: unknown }).content))}` };
      },
    });
    const result = await runFanOut({ task: 'tidal power', specialists: [{ id: 'clerk', tools: [report] }] }, { provider }).result;
    expect(ran).toEqual(['tides']);
    const outcome = result.outcomes[0]!;
    expect(outcome).toMatchObject({ status: 'fulfilled', output: 'done after ["ticket filed: tides"]', turns: 2 });
    expect(outcome.report).toBeUndefined();
    expect(outcome.toolCalls!.map((call) => call.name)).toEqual(['report']);
  });
});
