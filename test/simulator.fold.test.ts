/**
 * What the simulator answers for fanfold's weighing and streaming fold, as the real SDK sees it
 * over loopback, with requests from the real prompt builders (src/prompts.ts): the `report`
 * tool (with the finding, once, after any research), weighted syntheses (sections in the
 * prompt's order, a sentence saying which finding it follows), digests (one labelled section
 * citing by title and URL) and closing parts (only the cross-cutting section and the sources,
 * shorter than a batch synthesis). Unweighted syntheses read exactly as before.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpecialistSpec } from '../src/config.ts';
import { parseReport, reportToolDefinition, type FindingReport } from '../src/findings/reportTool.ts';
import { DEFAULT_WEIGHTS } from '../src/findings/weights.ts';
import type { SpecialistOutcome } from '../src/outcome.ts';
import type { ModelRequest } from '../src/providers/provider.ts';
import { CLOSING_OPENING, DEFAULT_TOOL_SPECIALIST_SYSTEM, DIGEST_OPENING, WEIGHTS_INSTRUCTION, buildClosingRequest, buildDigestRequest, buildSynthesisRequest } from '../src/prompts.ts';
import { SIMULATED_WEB_DOMAIN, simulatedReply, startSimulator, type Simulator } from '../src/simulator/index.ts';
import { countWords } from '../src/simulator/words.ts';
import { emptyUsage } from '../src/usage.ts';

let sim: Simulator;
let client: Anthropic;

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
const MODEL = 'claude-haiku-4-5';
const TASK = 'The history of container shipping';
const promptFor = (angle: string): string => `Task: ${TASK}\n\nYour angle: ${angle}\n\nWrite 150-200 words.`;

const reportDefinition = reportToolDefinition();
const report: Anthropic.Tool = {
  name: reportDefinition.name,
  description: reportDefinition.description,
  input_schema: reportDefinition.inputSchema as Anthropic.Tool.InputSchema,
};
const lookup: Anthropic.Tool = {
  name: 'lookup_statistics',
  description: 'Look up trade statistics.',
  input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};
const webSearch: Anthropic.WebSearchTool20250305 = { type: 'web_search_20250305', name: 'web_search' };
const webFetch: Anthropic.WebFetchTool20250910 = { type: 'web_fetch_20250910', name: 'web_fetch' };

type Params = Anthropic.MessageCreateParamsNonStreaming;
const user = (content: Anthropic.MessageParam['content']): Anthropic.MessageParam => ({ role: 'user', content });
const assistant = (message: Anthropic.Message): Anthropic.MessageParam => ({ role: 'assistant', content: message.content as unknown as Anthropic.ContentBlockParam[] });
const params = (tools: Anthropic.ToolUnion[], messages: Anthropic.MessageParam[], extra: Partial<Params> = {}): Params => ({
  model: MODEL,
  max_tokens: 4096,
  system: DEFAULT_TOOL_SPECIALIST_SYSTEM,
  messages,
  tools,
  ...extra,
});
/** A prompt builder's request as the Anthropic adapter sends a text-only one. */
const toParams = (request: ModelRequest): Params => ({
  model: request.model,
  max_tokens: request.maxTokens,
  ...(request.system ? { system: request.system } : {}),
  messages: request.messages.map((message) => ({ role: message.role, content: message.content as string })),
});

const calls = (message: Anthropic.Message): Anthropic.ToolUseBlock[] => message.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
const textOf = (message: Anthropic.Message): string => message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
const headings = (text: string): string[] => [...text.matchAll(/^## (.+)$/gm)].map((match) => match[1] ?? '');
const section = (text: string, name: string): string => (text.split(`## ${name}\n`)[1]?.split('\n## ')[0] ?? '').trim();
const urlsIn = (text: string): string[] => [...new Set(text.match(/https?:\/\/[^\s"'<>()[\]{};,]+[^\s"'<>()[\]{};,.:!?]/g) ?? [])];
const inSimulatedWeb = (url: string): boolean => new URL(url).hostname.endsWith(`.${SIMULATED_WEB_DOMAIN}`);
const escapeRegExp = (text: string): string => text.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&');

beforeEach(async () => {
  sim = await startSimulator({ latency: instant });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' });
});

afterEach(async () => {
  await sim.close();
});

/** A specialist's loop as fanfold runs it: pause_turn continues, client calls get results, a turn whose only call is `report` ends it. */
async function runSpecialist(
  angle: string,
  tools: Anthropic.ToolUnion[],
): Promise<{ finding: string; report: Anthropic.ToolUseBlock; turns: Anthropic.Message[]; messages: Anthropic.MessageParam[] }> {
  const messages: Anthropic.MessageParam[] = [user(promptFor(angle))];
  const turns: Anthropic.Message[] = [];
  let finding = '';
  for (let turn = 0; turn < 6; turn++) {
    const message = await client.messages.create(params(tools, messages));
    turns.push(message);
    messages.push(assistant(message));
    const reportCall = calls(message).find((call) => call.name === 'report');
    expect(reportCall === undefined || calls(message).length === 1).toBe(true);
    // The finding is the text since the last client tool call (a paused turn continues the same response).
    finding = turns.at(-2)?.stop_reason === 'pause_turn' ? finding + textOf(message) : textOf(message);
    if (reportCall) return { finding, report: reportCall, turns, messages };
    if (message.stop_reason === 'tool_use') messages.push(user(calls(message).map((call) => ({ type: 'tool_result', tool_use_id: call.id, content: `${call.name}: throughput grew 9% a year` }))));
    else if (message.stop_reason !== 'pause_turn') throw new Error(`turn ${turn} ended ${message.stop_reason} without a report`);
  }
  throw new Error('no report within 6 turns');
}

function expectReportInput(call: Anthropic.ToolUseBlock): FindingReport {
  expect(call.name).toBe('report');
  expect(call.id).toMatch(/^toolu_sim_[0-9a-f]{8}_1$/);
  const input = call.input as { confidence: unknown; sources: unknown };
  expect(Object.keys(input).sort()).toEqual(['confidence', 'sources']);
  expect(typeof input.confidence).toBe('number');
  const confidence = input.confidence as number;
  expect(confidence).toBeGreaterThanOrEqual(0.45);
  expect(confidence).toBeLessThanOrEqual(0.95);
  expect(Math.round(confidence * 100) / 100).toBe(confidence);
  expect(Array.isArray(input.sources)).toBe(true);
  // What fanfold reads back is what was sent: in range, strings only, no duplicates.
  const parsed = parseReport(input);
  expect(parsed).toEqual({ confidence, sources: input.sources });
  return parsed;
}

describe('the report tool', () => {
  it('offered alone: the finding and one report call after it, in the first response; stop tool_use; deterministic, streamed alike', async () => {
    const body = params([report], [user(promptFor('Economic impact'))]);
    const message = await client.messages.create(body);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content.map((block) => block.type)).toEqual(['text', 'tool_use']);
    const text = textOf(message);
    expect(text.startsWith('[Simulated] ')).toBe(true);
    // The finding is the same kind of text as without the tool: within the word limit, no narration of a report.
    expect(countWords(text)).toBeGreaterThanOrEqual(150);
    expect(countWords(text)).toBeLessThanOrEqual(200);
    expect(text).not.toMatch(/report tool|I'll look/);
    const reported = expectReportInput(calls(message)[0] as Anthropic.ToolUseBlock);
    // No tool found anything, so nothing is cited, and confidence stays in the lower band.
    expect(reported.sources).toEqual([]);
    expect(reported.confidence).toBeLessThanOrEqual(0.7);
    expect(message.usage.output_tokens).toBe(simulatedReply(body).outputTokens);

    expect((await client.messages.create(body)).content).toEqual(message.content);
    expect(message.content).toEqual(simulatedReply(body).content);
    const streamed = await client.messages.stream(body).finalMessage();
    expect(streamed.content).toEqual(message.content);
    expect(streamed.stop_reason).toBe('tool_use');
  });

  it('the confidence is seeded by the request: different specialists report different values, each always the same', () => {
    const confidences = ['Economic impact', 'Technical details', 'Historical context', 'Societal impact', 'Regulation', 'Labour'].map((angle) => {
      const reply = simulatedReply(params([report], [user(promptFor(angle))]));
      const call = reply.content.find((block) => block.type === 'tool_use');
      if (call?.type !== 'tool_use') throw new Error('no report call');
      expect(simulatedReply(params([report], [user(promptFor(angle))])).content).toEqual(reply.content);
      return (call.input as { confidence: number }).confidence;
    });
    expect(new Set(confidences).size).toBeGreaterThan(2);
  });

  it('with web_search and web_fetch: search (pause_turn, no report), then fetch, the finding and the report citing exactly the finding’s URLs', async () => {
    const { finding, report: call, turns } = await runSpecialist('Economic impact', [webSearch, webFetch, report]);
    expect(turns.map((turn) => turn.stop_reason)).toEqual(['pause_turn', 'tool_use']);
    expect(calls(turns[0] as Anthropic.Message)).toEqual([]);
    const last = turns[1] as Anthropic.Message;
    // The report is the last block, after every text block of the finding.
    expect(last.content.at(-1)).toEqual(call);
    expect(last.content.map((block) => block.type)).toEqual(['server_tool_use', 'web_fetch_tool_result', ...last.content.slice(2, -1).map(() => 'text'), 'tool_use']);
    const reported = expectReportInput(call);
    expect(reported.sources.length).toBeGreaterThan(0);
    expect(reported.sources.every(inSimulatedWeb)).toBe(true);
    // Its sources are the finding's: every URL of its Sources line and every cited URL, nothing else.
    const sourcesLine = /Sources: (.+)$/m.exec(finding)?.[1] ?? '';
    const citedUrls = last.content.flatMap((block) => (block.type === 'text' ? (block.citations ?? []).flatMap((citation) => ('url' in citation ? [citation.url] : [])) : []));
    expect(new Set(reported.sources)).toEqual(new Set([...urlsIn(sourcesLine), ...citedUrls]));
    // Sources cited make a specialist surer than one without any (0.45 + 0.05 per source, up to five).
    expect(reported.confidence).toBeGreaterThanOrEqual(0.45 + 0.05 * Math.min(reported.sources.length, 5) - 1e-9);
  });

  it('a report result that comes back anyway gets the finding as without the tool: no second report', async () => {
    const { report: call, messages } = await runSpecialist('Economic impact', [webSearch, webFetch, report]);
    messages.push(user([{ type: 'tool_result', tool_use_id: call.id, content: 'Reported.' }]));
    const after = await client.messages.create(params([webSearch, webFetch, report], messages));
    expect(after.stop_reason).toBe('end_turn');
    expect(calls(after)).toEqual([]);
    expect(after.content.some((block) => block.type === 'server_tool_use')).toBe(false);
    expect(textOf(after)).toMatch(/^\[Simulated\] /);
    expect(textOf(after)).not.toContain('The report tool');
  });

  it('with other client tools: the research calls first, never report (nor named in the intro); then the finding and the report', async () => {
    for (const angle of ['Economic impact', 'Technical details', 'Historical context', 'Societal impact', 'Regulation']) {
      const { turns, report: call } = await runSpecialist(angle, [lookup, webSearch, report]);
      const first = turns[0] as Anthropic.Message;
      expect(first.stop_reason).toBe('tool_use');
      expect(calls(first).length).toBeGreaterThan(0);
      expect(calls(first).every((research) => research.name === 'lookup_statistics')).toBe(true);
      expect(textOf(first)).not.toContain('report');
      expect(turns).toHaveLength(2);
      const reported = expectReportInput(call);
      expect(textOf(turns[1] as Anthropic.Message)).toContain('The lookup_statistics tool');
      for (const url of reported.sources) expect(textOf(turns[1] as Anthropic.Message)).toContain(url);
    }
  });

  it('forced (tool report, or any with nothing left to research): the report call alone, as the API prefills; max_tokens drops it', () => {
    const forced = simulatedReply(params([webSearch, report], [user(promptFor('Economic impact'))], { tool_choice: { type: 'tool', name: 'report' } }));
    expect(forced.content.map((block) => block.type)).toEqual(['tool_use']);
    expect(forced.stopReason).toBe('tool_use');
    const any = simulatedReply(params([report], [user(promptFor('Economic impact'))], { tool_choice: { type: 'any' } }));
    expect(any.content.map((block) => block.type)).toEqual(['tool_use']);
    expect(any.content[0]).toMatchObject({ name: 'report', input: { sources: [] } });

    const cut = simulatedReply(params([report], [user(promptFor('Economic impact'))], { max_tokens: 50 }));
    expect(cut.stopReason).toBe('max_tokens');
    expect(cut.content.map((block) => block.type)).toEqual(['text']);
  });

  it('tool_choice none: the finding only; a lookalike named report without confidence is an ordinary tool', async () => {
    const none = await client.messages.create(params([webSearch, report], [user(promptFor('Economic impact'))], { tool_choice: { type: 'none' } }));
    expect(none.stop_reason).toBe('end_turn');
    expect(none.content.map((block) => block.type)).toEqual(['text']);

    const lookalike: Anthropic.Tool = { name: 'report', description: 'Write a PDF report.', input_schema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] } };
    const first = await client.messages.create(params([lookalike], [user(promptFor('Economic impact'))]));
    expect(first.content[0]?.type).toBe('text');
    expect(textOf(first)).toMatch(/^I'll look into/);
    expect(calls(first).every((research) => typeof (research.input as { title?: unknown }).title === 'string')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

const spec = (id: string): SpecialistSpec => ({
  id,
  angle: id,
  kind: 'model',
  taskKey: null,
  models: [MODEL],
  system: null,
  instructions: null,
  maxTokens: 4096,
  policy: { onError: 'skip', retries: 0 } as unknown as SpecialistSpec['policy'],
  tools: [],
});
const synthesizer = spec('synthesizer');

function fulfilled(id: string, angle: string, output: string, reported: FindingReport | undefined, sources: string[], seconds = 4.2): SpecialistOutcome {
  return {
    id,
    angle,
    status: 'fulfilled',
    output,
    error: null,
    attempts: 2,
    model: MODEL,
    usage: emptyUsage(),
    startedAt: 1_000,
    endedAt: 1_000 + seconds * 1000,
    ...(reported ? { report: reported } : {}),
    sources,
  };
}
const failed = (id: string, angle: string): SpecialistOutcome => ({
  id,
  angle,
  status: 'rejected',
  output: null,
  error: { kind: 'provider', message: '529 Overloaded' } as unknown as SpecialistOutcome['error'],
  attempts: 3,
  model: MODEL,
  usage: emptyUsage(),
  startedAt: 1_000,
  endedAt: 9_000,
});

const W = SIMULATED_WEB_DOMAIN;
/** In config order; by weight (confidence and sources, 60/40): technical 0.86, historical 0.38, societal 0.30. */
const OUTCOMES: SpecialistOutcome[] = [
  fulfilled(
    'historical',
    'Historical context',
    `Early box trials in the 1950s set the pattern for later ports. Sources: [1] Port study — https://ports.${W}/study`,
    { confidence: 0.5, sources: [`https://ports.${W}/study`] },
    [`https://ports.${W}/study`],
  ),
  fulfilled(
    'technical',
    'Technical details',
    `[Simulated] Standard boxes cut handling costs and crane cycles. Sources: [1] [Simulated] Review: Box Handling — https://review.${W}/box-handling; [2] Port study — https://ports.${W}/study`,
    { confidence: 0.9, sources: [] },
    ['a', 'b', 'c', 'd'],
  ),
  fulfilled('societal', 'Societal impact', 'Dock labour shrank as mechanised terminals spread; port towns lost waterfront jobs.', undefined, []),
  failed('economic', 'Economic impact'),
];

describe('weighted synthesis', () => {
  it('sections in the order the findings appear (by weight), the cross-cutting section says which it follows and why, sources as before', async () => {
    const request = buildSynthesisRequest(TASK, synthesizer, OUTCOMES, MODEL, DEFAULT_WEIGHTS);
    const prompt = request.messages[0]?.content as string;
    expect(prompt).toContain(WEIGHTS_INSTRUCTION);
    const order = [...prompt.matchAll(/<finding [^>]*angle="([^"]+)" weight="([\d.]+)"/g)].map((match) => [match[1], match[2]]);
    expect(order).toEqual([
      ['Technical details', '0.86'],
      ['Historical context', '0.38'],
      ['Societal impact', '0.30'],
    ]);
    const text = textOf(await client.messages.create(toParams(request)));
    expect(text.startsWith('[Simulated] Synthesis generated locally')).toBe(true);
    expect(headings(text)).toEqual(['Technical details', 'Historical context', 'Societal impact', 'Cross-cutting synthesis', 'Sources']);
    const cross = section(text, 'Cross-cutting synthesis');
    expect(cross).toContain(
      'Where the technical details (weight 0.86) and societal impact (weight 0.30) findings differ, this synthesis follows the technical details finding, which is better supported (confidence 0.90 and 4 sources, against unreported confidence and 0 sources).',
    );
    expect(cross).toContain('Economic impact angle (economic: failed after 3 attempts: 529 Overloaded)');
    const sources = section(text, 'Sources');
    expect(sources).toContain(`[Simulated] Review: Box Handling — https://review.${W}/box-handling (cited by technical)`);
    expect(sources).toContain(`Port study — https://ports.${W}/study (cited by technical, historical)`);
    expect(section(text, 'Technical details')).toMatch(/It cites \[1\] and \[2\]\./);
    expect(simulatedReply(toParams(request)).kind).toBe('synthesis');
    expect(simulatedReply(toParams(request)).text).toBe(text);
  });

  it('equal weights favour neither; a single finding has nothing to weigh against', () => {
    const even = buildSynthesisRequest(TASK, synthesizer, OUTCOMES, MODEL, { confidence: 0, sources: 0, words: 0, speed: 0 });
    expect(section(simulatedReply(toParams(even)).text, 'Cross-cutting synthesis')).toContain('All 3 findings carry the same weight (1.00), so where they differ this synthesis favours none of them.');
    const single = buildSynthesisRequest(TASK, synthesizer, [OUTCOMES[1] as SpecialistOutcome, failed('economic', 'Economic impact')], MODEL, DEFAULT_WEIGHTS);
    const cross = section(simulatedReply(toParams(single)).text, 'Cross-cutting synthesis');
    expect(cross).toContain('With a single finding');
    expect(cross).not.toContain('weight');
  });

  it('without weights: the config order, no weights named, and the text exactly as before weighting existed', async () => {
    const request = buildSynthesisRequest(TASK, synthesizer, OUTCOMES, MODEL);
    const text = textOf(await client.messages.create(toParams(request)));
    expect(headings(text)).toEqual(['Historical context', 'Technical details', 'Societal impact', 'Cross-cutting synthesis', 'Sources']);
    expect(text).not.toMatch(/weight \d|favours|follows the/);

    // Pinned: the reply the simulator gave for this prompt before weights, digests and closings were added.
    const prompt = [
      'Task: Perovskite solar cells',
      '',
      'Findings from 2 of 3 specialists:',
      '',
      '<finding specialist="technical" angle="Technical details">',
      `[Simulated] Tandem cells reached record efficiency, but moisture degradation remains unsolved. Sources: [1] [Simulated] Review: Tandem Cells — https://review.${W}/tandem-cells; [2] [Simulated] Journal article: Encapsulation — https://journal.${W}/encapsulation`,
      '</finding>',
      '',
      '<finding specialist="societal" angle="Societal impact">',
      `Rooftop installers expect cheaper panels; communities worry about lead leaching (see https://news.${W}/lead-leaching).`,
      '</finding>',
      '',
      'Missing angles (1) — say in the answer that these are gaps:',
      '- economic ("Economic impact"): failed after 3 attempts: 529 Overloaded',
      '',
      'Synthesize the findings into one answer.',
    ].join('\n');
    expect(simulatedReply({ model: MODEL, messages: [{ role: 'user', content: prompt }] }).text).toBe(
      [
        '[Simulated] Synthesis generated locally by the fanfold simulator, not by a model.',
        '## Technical details',
        'The technical details finding (technical) centres on moisture degradation and remains unsolved. It gives tandem more weight than a first look at Perovskite solar cells would. Its strongest point concerns tandem; its weakest is how little it says about reached. In its own words: "Tandem cells reached record efficiency, but moisture degradation remains unsolved." It cites [1] and [2].',
        '## Societal impact',
        'The societal impact finding (societal) centres on rooftop installers and expect cheaper. It gives communities worry more weight than a first look at Perovskite solar cells would. It links expect cheaper to lead leaching, which the other angles below pick up in different ways. In its own words: "Rooftop installers expect cheaper panels; communities worry about lead leaching (see )." It cites [3].',
        '## Cross-cutting synthesis',
        'Across 2 findings, the societal impact and technical details angles agree on the importance of tandem cells, while weighing moisture degradation differently. Taken together, Perovskite solar cells looks less like a single problem than a set of trade-offs around tandem cells, moisture degradation and remains unsolved. Gaps: this synthesis has no input on the Economic impact angle (economic: failed after 3 attempts: 529 Overloaded). Conclusions that depend on that angle should be treated as open.',
        '## Sources',
        [
          `1. [Simulated] Review: Tandem Cells — https://review.${W}/tandem-cells (cited by technical)`,
          `2. [Simulated] Journal article: Encapsulation — https://journal.${W}/encapsulation (cited by technical)`,
          `3. https://news.${W}/lead-leaching (cited by societal)`,
        ].join('\n'),
      ].join('\n\n'),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('streaming fold', () => {
  /** Three findings the simulator wrote itself (search, fetch, report), and one failed specialist. */
  async function researched(): Promise<SpecialistOutcome[]> {
    const outcomes: SpecialistOutcome[] = [];
    for (const [id, angle, seconds] of [
      ['economic', 'Economic impact', 3.1],
      ['technical', 'Technical details', 5.4],
      ['societal', 'Societal impact', 4.2],
    ] as const) {
      const run = await runSpecialist(angle, [webSearch, webFetch, report]);
      const reported = parseReport(run.report.input);
      outcomes.push(fulfilled(id, angle, run.finding, reported, reported.sources, seconds));
    }
    outcomes.push(failed('regulatory', 'Regulatory context'));
    return outcomes;
  }
  const found = (outcomes: readonly SpecialistOutcome[]): SpecialistOutcome[] => outcomes.filter((outcome) => outcome.status === 'fulfilled');
  /** The distinct URLs the findings cite (their Sources lines). */
  const citedUrls = (outcomes: readonly SpecialistOutcome[]): string[] => [...new Set(outcomes.flatMap((outcome) => urlsIn(outcome.output ?? '')))];

  it('a digest is that finding’s section: its heading, one labelled paragraph citing each source by title and URL, no numbers', async () => {
    const outcomes = await researched();
    const outcome = outcomes[0] as SpecialistOutcome;
    const request = buildDigestRequest(TASK, synthesizer, outcome, MODEL);
    expect(request.messages[0]?.content).toContain(DIGEST_OPENING);
    const message = await client.messages.create(toParams(request));
    expect(message.stop_reason).toBe('end_turn');
    const text = textOf(message);
    expect(simulatedReply(toParams(request)).kind).toBe('digest');
    expect(headings(text)).toEqual(['Economic impact']);
    const [heading, paragraph, ...rest] = text.split('\n\n');
    expect(heading).toBe('## Economic impact');
    expect(rest).toEqual([]);
    expect(paragraph?.startsWith('[Simulated] The economic impact finding (economic) centres on ')).toBe(true);
    expect(paragraph).not.toMatch(/\[\d+\]/);
    // Every source of the finding, by the title its Sources line gives and the URL.
    const listed = [...(/Sources: (.+)$/m.exec(outcome.output ?? '')?.[1] ?? '').matchAll(/\[\d+\] (.+?) — (\S+?)(?:;|$)/g)];
    expect(listed.length).toBeGreaterThan(0);
    for (const [, title, url] of listed) expect(paragraph).toContain(`"${title}" (${url})`);
    expect(urlsIn(paragraph ?? '').sort()).toEqual(citedUrls([outcome]).sort());
    // About the size of the same finding's section in a batch synthesis.
    const batch = simulatedReply(toParams(buildSynthesisRequest(TASK, synthesizer, outcomes, MODEL))).text;
    const batchSection = section(batch, 'Economic impact');
    expect(countWords(text)).toBeGreaterThan(countWords(batchSection) * 0.7);
    expect(countWords(text)).toBeLessThan(countWords(batchSection) * 2.2);
    // Deterministic, and streamed alike.
    expect(textOf(await client.messages.create(toParams(request)))).toBe(text);
    expect(textOf(await client.messages.stream(toParams(request)).finalMessage())).toBe(text);
  });

  it('a weighted digest request gets the same kind of section', async () => {
    const outcome = (await researched())[1] as SpecialistOutcome;
    const text = simulatedReply(toParams(buildDigestRequest(TASK, synthesizer, outcome, MODEL, 0.74))).text;
    expect(headings(text)).toEqual(['Technical details']);
    expect(text).toMatch(/^## Technical details\n\n\[Simulated\] The technical details finding \(technical\)/);
    expect(text).not.toContain('0.74');
  });

  it('a closing part is only the cross-cutting section and the sources: every angle connected, every gap named, every URL once, numbered', async () => {
    const outcomes = await researched();
    const [economic, technical, societal] = found(outcomes) as [SpecialistOutcome, SpecialistOutcome, SpecialistOutcome];
    const digests = await Promise.all([economic, technical].map(async (outcome) => textOf(await client.messages.create(toParams(buildDigestRequest(TASK, synthesizer, outcome, MODEL))))));
    const request = buildClosingRequest(
      TASK,
      synthesizer,
      {
        sections: [economic, technical].map((outcome, index) => ({ outcome, text: digests[index] ?? '' })),
        pending: [societal],
        missing: outcomes.filter((outcome) => outcome.status !== 'fulfilled'),
      },
      MODEL,
    );
    expect(request.messages[0]?.content).toContain(CLOSING_OPENING);
    const message = await client.messages.create(toParams(request));
    const text = textOf(message);
    expect(simulatedReply(toParams(request)).kind).toBe('closing');
    expect(text.startsWith('## Cross-cutting synthesis\n\n')).toBe(true);
    expect(headings(text)).toEqual(['Cross-cutting synthesis', 'Sources']);
    expect(text).not.toContain('Synthesis generated locally');
    const cross = section(text, 'Cross-cutting synthesis');
    expect(cross).toMatch(/^Across 3 findings, the /);
    expect(cross).toContain('Gaps: this synthesis has no input on the Regulatory context angle (regulatory: failed after 3 attempts: 529 Overloaded).');
    expect(cross).not.toMatch(/weight \d/);
    // Key phrases come from what the findings say, not from the digests' template words.
    expect(cross).not.toMatch(/importance of (?:centres|finding|own words|cites)/);

    const lines = section(text, 'Sources').trim().split('\n');
    const urls = citedUrls(outcomes);
    expect(lines).toHaveLength(urls.length);
    lines.forEach((line, index) => expect(line.startsWith(`${index + 1}. `)).toBe(true));
    for (const url of urls) {
      const line = lines.find((candidate) => candidate.includes(` ${url} (cited by `)) ?? '';
      // Titled (every one of these is, in the findings' Sources lines), cited by the right specialists, in section-then-finding order.
      expect(line).toMatch(new RegExp(`^\\d+\\. \\[Simulated\\] [^\\n]+ — ${escapeRegExp(url)} \\(cited by [a-z, ]+\\)$`));
      const citing = found(outcomes)
        .filter((outcome) => (outcome.output ?? '').includes(url))
        .map((outcome) => outcome.id);
      expect(line.endsWith(`(cited by ${citing.join(', ')})`)).toBe(true);
    }

    // What makes the tail short: clearly less than a whole synthesis of the same findings.
    const batch = simulatedReply(toParams(buildSynthesisRequest(TASK, synthesizer, outcomes, MODEL))).text;
    expect(countWords(text)).toBeLessThan(countWords(batch) * 0.7);
    expect(message.usage.output_tokens).toBeLessThan(simulatedReply(toParams(buildSynthesisRequest(TASK, synthesizer, outcomes, MODEL))).outputTokens * 0.7);
    expect(textOf(await client.messages.create(toParams(request)))).toBe(text);
  });

  it('a weighted closing says which finding it follows; with every digest written and nothing missing it says so', async () => {
    const digest = (outcome: SpecialistOutcome): string => simulatedReply(toParams(buildDigestRequest(TASK, synthesizer, outcome, MODEL))).text;
    const [historical, technical, societal] = found(OUTCOMES) as [SpecialistOutcome, SpecialistOutcome, SpecialistOutcome];
    const weights = new Map([
      ['technical', 0.86],
      ['historical', 0.38],
      ['societal', 0.3],
    ]);
    const request = buildClosingRequest(
      TASK,
      synthesizer,
      { sections: [technical, historical, societal].map((outcome) => ({ outcome, text: digest(outcome) })), pending: [], missing: [] },
      MODEL,
      weights,
    );
    const text = simulatedReply(toParams(request)).text;
    expect(headings(text)).toEqual(['Cross-cutting synthesis', 'Sources']);
    const cross = section(text, 'Cross-cutting synthesis');
    expect(cross).toContain('Where the technical details (weight 0.86) and societal impact (weight 0.30) findings differ, this synthesis follows the technical details finding');
    expect(cross).toContain('No angle is missing: every specialist reported.');
    // The digests cite by title and URL; the closing numbers them once, titles kept.
    expect(section(text, 'Sources').trim().split('\n')).toEqual([
      `1. [Simulated] Review: Box Handling — https://review.${W}/box-handling (cited by technical)`,
      `2. Port study — https://ports.${W}/study (cited by technical, historical)`,
    ]);
  });

  it('a closing with nothing digested and every specialist missing still names the gaps', () => {
    const request = buildClosingRequest(TASK, synthesizer, { sections: [], pending: [], missing: [failed('economic', 'Economic impact'), failed('technical', 'Technical details')] }, MODEL);
    const text = simulatedReply(toParams(request)).text;
    expect(headings(text)).toEqual(['Cross-cutting synthesis']);
    expect(text).toContain('No specialist finding was available');
    expect(text).toContain('the Economic impact angle (economic: failed after 3 attempts: 529 Overloaded) and the Technical details angle');
  });
});
