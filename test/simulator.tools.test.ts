/**
 * Tool use against the simulator, as the real SDK sees it over loopback: client tools, the
 * web_search / web_fetch server tools over the simulated web, pause_turn continuations,
 * tool_choice, max_uses and domain filters, the API's pairing 400s, streaming (every block
 * type, tool latency on the simulator's clock, stream faults), turn-matched faults, and a
 * synthesis that cites the findings' sources.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SIMULATED_WEB_DOMAIN, serverToolMs, simulatedReply, startSimulator, type Simulator } from '../src/simulator/index.ts';
import { countWords } from '../src/simulator/words.ts';
import { ManualClock } from './manual-clock.ts';
import { rejection } from './support.ts';

let sim: Simulator;
let client: Anthropic;

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
const MODEL = 'claude-haiku-4-5';
const PROMPT = 'Task: The history of container shipping\n\nYour angle: Economic impact\n\nWrite 150-200 words.';

const lookupInput = z.strictObject({
  query: z.string().min(3),
  year: z.number().int().min(1950).max(2025),
  region: z.enum(['global', 'eu', 'asia']),
  exact: z.boolean().optional(),
  filters: z.strictObject({ max_results: z.number().int().min(1).max(10), tags: z.array(z.string()).optional() }),
});
const fetchInput = z.strictObject({ url: z.url() });
const inputSchemas: Record<string, z.ZodType> = { lookup_statistics: lookupInput, fetch_page: fetchInput };

const lookup: Anthropic.Tool = {
  name: 'lookup_statistics',
  description: 'Look up trade statistics.',
  input_schema: z.toJSONSchema(lookupInput) as Anthropic.Tool.InputSchema,
};
const fetchPage: Anthropic.Tool = {
  name: 'fetch_page',
  description: 'Fetch a web page by URL.',
  input_schema: z.toJSONSchema(fetchInput) as Anthropic.Tool.InputSchema,
};
const webSearch: Anthropic.WebSearchTool20250305 = { type: 'web_search_20250305', name: 'web_search' };
const webFetch: Anthropic.WebFetchTool20250910 = { type: 'web_fetch_20250910', name: 'web_fetch' };

type Params = Anthropic.MessageCreateParamsNonStreaming;
const user = (content: Anthropic.MessageParam['content']): Anthropic.MessageParam => ({ role: 'user', content });
/** A reply's content sent back as an assistant message, unchanged (as the loop and pause_turn require). */
const assistant = (message: Anthropic.Message): Anthropic.MessageParam => ({ role: 'assistant', content: message.content as unknown as Anthropic.ContentBlockParam[] });
const params = (tools: Anthropic.ToolUnion[], messages: Anthropic.MessageParam[] = [user(PROMPT)], extra: Partial<Params> = {}): Params => ({
  model: MODEL,
  max_tokens: 4096,
  messages,
  tools,
  ...extra,
});

const ofType = <T extends Anthropic.ContentBlock['type']>(message: Anthropic.Message, type: T): Array<Extract<Anthropic.ContentBlock, { type: T }>> =>
  message.content.filter((block): block is Extract<Anthropic.ContentBlock, { type: T }> => block.type === type);
const textOf = (message: Anthropic.Message): string =>
  ofType(message, 'text')
    .map((block) => block.text)
    .join('');
const results = (message: Anthropic.Message, text: (block: Anthropic.ToolUseBlock) => string): Anthropic.ToolResultBlockParam[] =>
  ofType(message, 'tool_use').map((block) => ({ type: 'tool_result', tool_use_id: block.id, content: text(block) }));
const inSimulatedWeb = (url: string): boolean => new URL(url).hostname.endsWith(`.${SIMULATED_WEB_DOMAIN}`);

beforeEach(async () => {
  sim = await startSimulator({ latency: instant });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' });
});

afterEach(async () => {
  await sim.close();
});

describe('client tools', () => {
  it('first turn: a short text, then 1–3 tool_use blocks whose inputs validate against each schema; stop tool_use; deterministic', async () => {
    const body = params([lookup, fetchPage]);
    const message = await client.messages.create(body);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]?.type).toBe('text');
    expect(textOf(message)).toMatch(/^I'll look into the history of container shipping/);
    const calls = ofType(message, 'tool_use');
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(3);
    for (const [index, call] of calls.entries()) {
      expect(call.id).toMatch(new RegExp(`^toolu_sim_[0-9a-f]{8}_${index + 1}$`));
      const schema = inputSchemas[call.name];
      if (!schema) throw new Error(`unexpected tool ${call.name}`);
      expect(() => schema.parse(call.input)).not.toThrow();
      if (call.name === 'fetch_page') expect(inSimulatedWeb((call.input as { url: string }).url)).toBe(true);
    }
    expect(message.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });
    expect(message.usage.output_tokens).toBe(simulatedReply(body).outputTokens);

    const again = await client.messages.create(body);
    expect(again.content).toEqual(message.content);
    expect(message.content).toEqual(simulatedReply(body).content);
  });

  it('after the tool results: a finding that names the tools and their results, cites returned URLs, end_turn', async () => {
    const first = await client.messages.create(params([lookup, fetchPage]));
    const followUp = params(
      [lookup, fetchPage],
      [user(PROMPT), assistant(first), user(results(first, (call) => `${call.name}: container throughput grew 9% a year, see https://stats.${SIMULATED_WEB_DOMAIN}/teu`))],
    );
    const finding = await client.messages.create(followUp);
    expect(finding.stop_reason).toBe('end_turn');
    expect(ofType(finding, 'tool_use')).toEqual([]);
    const text = textOf(finding);
    expect(text.startsWith('[Simulated] ')).toBe(true);
    for (const call of ofType(first, 'tool_use')) expect(text).toContain(`The ${call.name} tool`);
    expect(text).toContain('container throughput grew 9%');
    expect(text).toMatch(new RegExp(`Sources: \\[1\\] \\w+ result — https://stats\\.${SIMULATED_WEB_DOMAIN.replace('.', '\\.')}/teu`));
    // The specialist's word limit still holds, sources included.
    expect(countWords(text)).toBeGreaterThanOrEqual(150);
    expect(countWords(text)).toBeLessThanOrEqual(200);
  });

  it('an error result is reported as an error of that tool', async () => {
    const first = await client.messages.create(params([fetchPage], undefined, { tool_choice: { type: 'tool', name: 'fetch_page' } }));
    // Forced: no text before the call, exactly one call of that tool.
    expect(first.content.map((block) => block.type)).toEqual(['tool_use']);
    const call = ofType(first, 'tool_use')[0];
    const finding = await client.messages.create(
      params([fetchPage], [user(PROMPT), assistant(first), user([{ type: 'tool_result', tool_use_id: call?.id ?? '', content: 'connection refused', is_error: true }])]),
    );
    expect(textOf(finding)).toContain('The fetch_page tool reported an error: "connection refused"');
  });

  it('a conversation that is not specialist-shaped still gets a tool call, with the question as the query', async () => {
    const message = await client.messages.create(params([lookup], [user('How many containers pass through Rotterdam each year?')], { tool_choice: { type: 'any' } }));
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]?.type).toBe('tool_use');
    const input = lookupInput.parse(ofType(message, 'tool_use')[0]?.input);
    expect(input.query).toMatch(/containers/);
    expect(input.query).toMatch(/rotterdam/i);
  });
});

describe('server tools only', () => {
  it('first call: web_search over the simulated web, then pause_turn; the continuation fetches and writes a finding with sources', async () => {
    const first = await client.messages.create(params([webSearch, webFetch]));
    expect(first.stop_reason).toBe('pause_turn');
    expect(first.content.map((block) => block.type)).toEqual(['text', 'server_tool_use', 'web_search_tool_result']);
    const [search] = ofType(first, 'server_tool_use');
    expect(search).toMatchObject({ name: 'web_search', input: { query: expect.stringContaining('container shipping') } });
    expect(search?.id).toMatch(/^srvtoolu_sim_/);
    const [result] = ofType(first, 'web_search_tool_result');
    expect(result?.tool_use_id).toBe(search?.id);
    const hits = result?.content as Anthropic.WebSearchResultBlock[];
    expect(hits.length).toBeGreaterThanOrEqual(3);
    expect(hits.length).toBeLessThanOrEqual(5);
    for (const hit of hits) {
      expect(hit.type).toBe('web_search_result');
      expect(inSimulatedWeb(hit.url)).toBe(true);
      expect(hit.title.startsWith('[Simulated] ')).toBe(true);
      expect(hit.encrypted_content).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(typeof hit.page_age).toBe('string');
    }
    expect(first.usage.server_tool_use).toEqual({ web_search_requests: 1, web_fetch_requests: 0 });

    // pause_turn: send the paused content back as the last (assistant) message to continue.
    const next = await client.messages.create(params([webSearch, webFetch], [user(PROMPT), assistant(first)]));
    expect(next.stop_reason).toBe('end_turn');
    expect(next.content[0]?.type).toBe('server_tool_use');
    const [fetch] = ofType(next, 'server_tool_use');
    expect(fetch).toMatchObject({ name: 'web_fetch', input: { url: hits[0]?.url } });
    const [fetched] = ofType(next, 'web_fetch_tool_result');
    expect(fetched?.tool_use_id).toBe(fetch?.id);
    expect(fetched?.content).toMatchObject({
      type: 'web_fetch_result',
      url: hits[0]?.url,
      content: { type: 'document', source: { type: 'text', media_type: 'text/plain' }, title: hits[0]?.title },
    });
    const page = (fetched!.content as Anthropic.WebFetchBlock).content.source as Anthropic.PlainTextSource;
    expect(page.data).toContain('not real web content');
    expect(next.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 1 });

    const text = textOf(next);
    expect(text.startsWith('[Simulated] ')).toBe(true);
    expect(text).toContain('Sources: [1] ');
    for (const hit of hits) expect(text).toContain(hit.url);
    const cited = ofType(next, 'text').flatMap((block) => block.citations ?? []);
    expect(cited.length).toBeGreaterThan(0);
    for (const citation of cited) {
      expect(citation).toMatchObject({ type: 'web_search_result_location', cited_text: expect.any(String), encrypted_index: expect.any(String) });
      expect(hits.map((hit) => hit.url)).toContain((citation as Anthropic.CitationsWebSearchResultLocation).url);
    }
    expect(countWords(text)).toBeLessThanOrEqual(200);
  });

  it('max_uses: a search past it gets a max_uses_exceeded error block (and is not counted), then the finding', async () => {
    const limited: Anthropic.WebSearchTool20250305 = { ...webSearch, max_uses: 1 };
    const forced = { tool_choice: { type: 'tool', name: 'web_search' } } as const;
    const first = await client.messages.create(params([limited], undefined, forced));
    expect(first.stop_reason).toBe('pause_turn');
    const second = await client.messages.create(params([limited], [user(PROMPT), assistant(first)], forced));
    const [result] = ofType(second, 'web_search_tool_result');
    expect(result?.content).toEqual({ type: 'web_search_tool_result_error', error_code: 'max_uses_exceeded' });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });
    expect(textOf(second)).toContain('max_uses_exceeded');

    const fetchOnce: Anthropic.WebFetchTool20250910 = { ...webFetch, max_uses: 1 };
    const fetchForced = { tool_choice: { type: 'tool', name: 'web_fetch' } } as const;
    const fetched = await client.messages.create(params([fetchOnce], undefined, fetchForced));
    expect(ofType(fetched, 'web_fetch_tool_result')[0]?.content).toMatchObject({ type: 'web_fetch_result' });
    const again = await client.messages.create(params([fetchOnce], [user(PROMPT), assistant(fetched), user('Read one more page.')], fetchForced));
    expect(ofType(again, 'web_fetch_tool_result')[0]?.content).toEqual({ type: 'web_fetch_tool_result_error', error_code: 'max_uses_exceeded' });
  });

  it('domain filters: results only where the filters allow the simulated domain; never invented real URLs', async () => {
    const elsewhere = await client.messages.create(params([{ ...webSearch, allowed_domains: ['nih.gov'] }]));
    expect(ofType(elsewhere, 'web_search_tool_result')[0]?.content).toEqual([]);
    // Nothing found: no pause, the finding says so.
    expect(elsewhere.stop_reason).toBe('end_turn');
    expect(textOf(elsewhere)).toContain('returned no results within the allowed domains');
    expect(textOf(elsewhere)).not.toMatch(/https?:\/\//);

    const blocked = await client.messages.create(params([{ ...webSearch, blocked_domains: [SIMULATED_WEB_DOMAIN] }]));
    expect(ofType(blocked, 'web_search_tool_result')[0]?.content).toEqual([]);

    const allowed = await client.messages.create(params([{ ...webSearch, allowed_domains: [SIMULATED_WEB_DOMAIN] }]));
    expect((ofType(allowed, 'web_search_tool_result')[0]!.content as unknown[]).length).toBeGreaterThanOrEqual(3);

    const fetchBlocked = await client.messages.create(params([{ ...webFetch, allowed_domains: ['example.org'] }]));
    expect(ofType(fetchBlocked, 'web_fetch_tool_result')[0]?.content).toEqual({ type: 'web_fetch_tool_result_error', error_code: 'url_not_allowed' });
    expect(fetchBlocked.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });
  });
});

describe('client and server tools together', () => {
  it('first call: search, then client tool_use in the same reply (stop tool_use); after the results: fetch and the finding', async () => {
    const tools = [webSearch, webFetch, lookup];
    const first = await client.messages.create(params(tools));
    expect(first.stop_reason).toBe('tool_use');
    const types = first.content.map((block) => block.type);
    expect(types.slice(0, 3)).toEqual(['text', 'server_tool_use', 'web_search_tool_result']);
    expect(types.slice(3).every((type) => type === 'tool_use')).toBe(true);
    expect(types.length).toBeGreaterThanOrEqual(4);
    expect(first.usage.server_tool_use).toEqual({ web_search_requests: 1, web_fetch_requests: 0 });

    // tool_result content as blocks, as the SDK's tool helpers send it.
    const answers = results(first, () => '').map((result) => ({ ...result, content: [{ type: 'text' as const, text: 'median freight rate fell 40% after containerisation' }] }));
    const next = await client.messages.create(params(tools, [user(PROMPT), assistant(first), user(answers)]));
    expect(next.stop_reason).toBe('end_turn');
    expect(next.content.slice(0, 2).map((block) => block.type)).toEqual(['server_tool_use', 'web_fetch_tool_result']);
    expect(next.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 1 });
    const text = textOf(next);
    expect(text).toContain('The lookup_statistics tool');
    expect(text).toContain('median freight rate fell 40%');
    expect(text).toContain('A web search for');
    expect(text).toMatch(/Sources: \[1\] \[Simulated\] .+ — https:\/\//);
  });

  it('tool_choice none: text only, even with tools offered', async () => {
    const message = await client.messages.create(params([webSearch, lookup], undefined, { tool_choice: { type: 'none' } }));
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content.map((block) => block.type)).toEqual(['text']);
    expect(textOf(message).startsWith('[Simulated] ')).toBe(true);
    expect(message.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });

    // The loop's last, tool-less turn after results: the finding still names and cites them.
    const first = await client.messages.create(params([webSearch, lookup]));
    const answers: Anthropic.ContentBlockParam[] = [...results(first, () => 'ok'), { type: 'text', text: 'You have reached your limit of turns: write your finding now.' }];
    const last = await client.messages.create(params([webSearch, lookup], [user(PROMPT), assistant(first), user(answers)], { tool_choice: { type: 'none' } }));
    expect(last.content.every((block) => block.type === 'text')).toBe(true);
    expect(textOf(last)).toContain('The lookup_statistics tool');
    expect(textOf(last)).toContain('Sources: [1] [Simulated] ');
    expect(textOf(last)).toContain('the history of container shipping');
  });

  it('max_tokens cuts a tool reply: nothing after the overflowing block, stop max_tokens', async () => {
    const message = await client.messages.create(params([lookup], undefined, { max_tokens: 5 }));
    expect(message.stop_reason).toBe('max_tokens');
    expect(ofType(message, 'tool_use')).toEqual([]);
    expect(message.usage.output_tokens).toBe(5);
  });

  it('tool definitions count toward input tokens', async () => {
    const without = await client.messages.countTokens({ model: MODEL, messages: [user(PROMPT)] });
    const withTools = await client.messages.countTokens({ model: MODEL, messages: [user(PROMPT)], tools: [lookup] });
    expect(withTools.input_tokens).toBeGreaterThan(without.input_tokens);
  });
});

describe('validation (400 invalid_request_error, in the API’s words)', () => {
  const toolUse = { type: 'tool_use' as const, id: 'toolu_sim_x_1', name: 'lookup_statistics', input: { query: 'teu' } };

  async function badRequest(body: Params): Promise<string> {
    const error = await rejection(client.messages.create(body));
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).type).toBe('invalid_request_error');
    return (error as Error).message;
  }

  it('a tool_use not answered in the next message', async () => {
    const message = await badRequest(params([lookup], [user(PROMPT), { role: 'assistant', content: [toolUse] }, user('go on')]));
    expect(message).toContain(
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_sim_x_1. Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
    );
  });

  it('a tool_result with no tool_use in the previous message', async () => {
    const message = await badRequest(params([lookup], [user(PROMPT), { role: 'assistant', content: 'ok' }, user([{ type: 'tool_result', tool_use_id: 'toolu_nope', content: 'x' }])]));
    expect(message).toContain(
      'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_nope. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
    );
  });

  it('duplicate tool names, both domain filters, tool blocks without tools, an unknown forced tool', async () => {
    expect(await badRequest(params([lookup, lookup]))).toContain('tools: Tool names must be unique.');
    expect(await badRequest(params([lookup, { ...fetchPage, name: 'web_search' }, webSearch]))).toContain('tools: Tool names must be unique.');
    expect(await badRequest(params([{ ...webSearch, allowed_domains: ['a.example'], blocked_domains: ['b.example'] }]))).toContain(
      'tools.0.web_search_20250305: Cannot specify both allowed_domains and blocked_domains',
    );
    const withoutTools = {
      model: MODEL,
      max_tokens: 100,
      messages: [user(PROMPT), { role: 'assistant' as const, content: [toolUse] }, user([{ type: 'tool_result' as const, tool_use_id: toolUse.id, content: 'x' }])],
    };
    expect(await badRequest(withoutTools)).toContain('Requests which include `tool_use` or `tool_result` blocks must define tools.');
    expect(await badRequest(params([lookup], undefined, { tool_choice: { type: 'tool', name: 'missing' } }))).toContain("tool_choice.tool.name: Tool 'missing' not found");
  });

  it('the newer dated server tool types are accepted', async () => {
    const tools = [
      { type: 'web_search_20260209', name: 'web_search' },
      { type: 'web_fetch_20260318', name: 'web_fetch' },
    ] as unknown as Anthropic.ToolUnion[];
    await expect(client.messages.create(params(tools))).resolves.toMatchObject({ stop_reason: 'pause_turn' });
  });
});

describe('streaming', () => {
  it('finalMessage() equals the JSON reply for every kind of tool turn', async () => {
    const first = await client.messages.create(params([webSearch, webFetch, lookup]));
    const bodies = [
      params([lookup, fetchPage]),
      params([webSearch, webFetch]),
      params([webSearch, webFetch], [user(PROMPT), assistant(await client.messages.create(params([webSearch, webFetch])))]),
      params([webSearch, webFetch, lookup]),
      params([webSearch, webFetch, lookup], [user(PROMPT), assistant(first), user(results(first, () => 'rates fell'))]),
    ];
    for (const body of bodies) {
      const json = await client.messages.create(body);
      const inputs: string[] = [];
      const stream = client.messages.stream(body);
      stream.on('inputJson', (partial) => inputs.push(partial));
      const streamed = await stream.finalMessage();
      expect(streamed.content).toEqual(json.content);
      expect(streamed.stop_reason).toBe(json.stop_reason);
      expect(streamed.usage).toMatchObject({ output_tokens: json.usage.output_tokens, server_tool_use: json.usage.server_tool_use });
      const calls = json.content.filter((block) => block.type === 'tool_use' || block.type === 'server_tool_use');
      expect(inputs.join('')).toBe(calls.map((block) => JSON.stringify(block.input)).join(''));
    }
  });

  it('sends the real event sequence: an index per block, input_json_delta for calls, results whole, citations_delta', async () => {
    const first = await client.messages.create(params([webSearch, webFetch]));
    const body = params([webSearch, webFetch], [user(PROMPT), assistant(first)]);
    const response = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-raw', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    // The fields these checks read (`index` and `delta` only on content-block events).
    type StreamEvent = { type: string; index: number; delta: Record<string, unknown>; [field: string]: unknown };
    const events = [...(await response.text()).matchAll(/^data: (.+)$/gm)].map((match) => JSON.parse(match[1] ?? '{}') as StreamEvent);
    const starts = events.filter((event) => event['type'] === 'content_block_start');
    expect(starts.map((event) => event['index'])).toEqual(starts.map((_, index) => index));
    expect(starts[0]?.['content_block']).toMatchObject({ type: 'server_tool_use', name: 'web_fetch', input: {} });
    expect(starts[1]?.['content_block']).toMatchObject({ type: 'web_fetch_tool_result', content: { type: 'web_fetch_result' } });
    const deltasOf = (index: number): Array<Record<string, unknown>> => events.filter((event) => event['type'] === 'content_block_delta' && event['index'] === index).map((event) => event['delta']);
    expect(deltasOf(0).length).toBeGreaterThan(1);
    expect(deltasOf(0).every((delta) => delta['type'] === 'input_json_delta')).toBe(true);
    expect(deltasOf(1)).toEqual([]);
    const citedIndex = starts.findIndex((event) => deltasOf(event['index']).some((delta) => delta['type'] === 'citations_delta'));
    expect(citedIndex).toBeGreaterThan(1);
    // Every block starts, (maybe) streams and stops before the next one starts.
    const order = events.filter((event) => /^content_block_(start|stop)$/.test(event['type'])).map((event) => `${event['type'] === 'content_block_start' ? '+' : '-'}${event['index']}`);
    expect(order).toEqual(starts.flatMap((_, index) => [`+${index}`, `-${index}`]));
    expect(events.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { server_tool_use: { web_search_requests: 0, web_fetch_requests: 1 } } });
  });

  it('stream faults count deltas of every kind across blocks', async () => {
    sim.addFault({ fault: { type: 'stream_error', afterDeltas: 3 } });
    const response = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-raw', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...params([webSearch, lookup], undefined, { tool_choice: { type: 'any' } }), stream: true }),
    });
    const raw = await response.text();
    const names = [...raw.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
    expect(names.filter((name) => name === 'content_block_delta')).toHaveLength(3);
    expect(names.at(-1)).toBe('error');
    // tool_choice any: no text first, so the three deltas are the search's input JSON.
    expect(raw).toContain('"type":"input_json_delta"');
    expect(raw).not.toContain('"type":"text_delta"');
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition not reached');
}

describe('server tool latency on the simulator clock', () => {
  it('waits the tool’s run time between a server_tool_use and its result (streamed and JSON); none when instant', async () => {
    await sim.close();
    const clock = new ManualClock();
    const latency = { firstTokenMs: 250, tokensPerSecond: Infinity };
    sim = await startSimulator({ clock, latency });
    client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' });
    const body = params([webSearch]);
    const searchId = (simulatedReply(body).content.find((block) => block.type === 'server_tool_use') as { id: string }).id;
    const toolMs = serverToolMs(searchId, latency);
    expect(toolMs).toBeGreaterThanOrEqual(300);
    expect(toolMs).toBeLessThanOrEqual(800);
    expect(serverToolMs(searchId, instant)).toBe(0);

    const events: string[] = [];
    const stream = client.messages.stream(body);
    stream.on('streamEvent', (event) => events.push(event.type === 'content_block_start' ? `start:${event.content_block.type}` : event.type));
    const final = stream.finalMessage();
    await until(() => clock.timers.length === 1);
    expect(clock.pending()).toEqual([250]);
    clock.advance(250);
    await until(() => clock.timers.length === 1 && events.includes('start:server_tool_use'));
    expect(clock.pending()).toEqual([toolMs]);
    expect(events).not.toContain('start:web_search_tool_result');
    clock.advance(toolMs - 1);
    expect(events).not.toContain('start:web_search_tool_result');
    clock.advance(1);
    await expect(final).resolves.toMatchObject({ stop_reason: 'pause_turn' });
    expect(events).toContain('start:web_search_tool_result');

    const json = client.messages.create(body);
    await until(() => clock.timers.length === 1);
    clock.advance(250);
    await until(() => clock.timers.length === 1);
    expect(clock.pending()).toEqual([toolMs]);
    clock.advance(toolMs);
    await expect(json).resolves.toMatchObject({ stop_reason: 'pause_turn' });
  });
});

describe('the turn header', () => {
  it('is recorded, and a turn-matched fault hits only that turn of that caller', async () => {
    sim.addFault({ match: { caller: 'technical', turn: 2 }, fault: { type: 'overloaded' } });
    const headers = (caller: string, turn: number): { headers: Record<string, string> } => ({
      headers: { 'x-fanfold-caller': caller, 'x-fanfold-attempt': '1', 'x-fanfold-turn': String(turn) },
    });
    const first = await client.messages.create(params([lookup]), headers('technical', 1));
    const followUp = params([lookup], [user(PROMPT), assistant(first), user(results(first, () => 'ok'))]);
    const error = await rejection(client.messages.create(followUp, headers('technical', 2)));
    expect(error).toBeInstanceOf(Anthropic.OverloadedError);
    await expect(client.messages.create(followUp, headers('economic', 2))).resolves.toMatchObject({ stop_reason: 'end_turn' });
    await expect(client.messages.create(followUp)).resolves.toMatchObject({ stop_reason: 'end_turn' });
    expect(sim.requests.map((request) => [request.caller, request.turn, request.fault])).toEqual([
      ['technical', 1, null],
      ['technical', 2, 'overloaded'],
      ['economic', 2, null],
      [null, null, null],
    ]);
    expect(sim.count({ turn: 2 })).toBe(2);
  });
});

describe('synthesis with sources', () => {
  it('cites the distinct URLs of the findings, with titles, in a closing Sources section', async () => {
    const first = await client.messages.create(params([webSearch, webFetch]));
    // A paused turn is one assistant message: its finding is the text of both parts.
    const finding = textOf(first) + textOf(await client.messages.create(params([webSearch, webFetch], [user(PROMPT), assistant(first)])));
    expect(finding).toMatch(/^I'll look into/);
    const urls = [...new Set(finding.match(/https:\/\/\S+?(?=;|$|\s)/g) ?? [])];
    expect(urls.length).toBeGreaterThan(0);
    const prompt = [
      'Task: The history of container shipping',
      '',
      '<finding specialist="economic" angle="Economic impact">',
      finding,
      '</finding>',
      '',
      '<finding specialist="technical" angle="Technical details">',
      `Standard boxes cut handling costs. Sources: [1] Port study — https://ports.${SIMULATED_WEB_DOMAIN}/study; [2] Echo — ${urls[0]}`,
      '</finding>',
      '',
      '<finding specialist="historical" angle="Historical context">',
      'Early box trials in the 1950s set the pattern for later ports.',
      '</finding>',
    ].join('\n');
    const synthesis = simulatedReply({ model: MODEL, messages: [{ role: 'user', content: prompt }] });
    expect(synthesis.kind).toBe('synthesis');
    const headings = [...synthesis.text.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    expect(headings).toEqual(['Economic impact', 'Technical details', 'Historical context', 'Cross-cutting synthesis', 'Sources']);
    const sources = synthesis.text.slice(synthesis.text.indexOf('## Sources'));
    for (const url of urls) expect(sources).toContain(url);
    expect(sources).toContain(`Port study — https://ports.${SIMULATED_WEB_DOMAIN}/study (cited by technical)`);
    // A URL two findings share is listed once, cited by both, with the first title given.
    expect(sources.split(urls[0] ?? '').length - 1).toBe(1);
    expect(sources).toMatch(new RegExp(`\\[Simulated\\] [^\\n]+ — ${urls[0]?.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')} \\(cited by economic, technical\\)`));
    // Sections cite by number; a finding without sources cites nothing.
    const section = (name: string): string => synthesis.text.split(`## ${name}`)[1]?.split('\n## ')[0] ?? '';
    expect(section('Technical details')).toMatch(/It cites \[\d\] and \[\d\]\./);
    expect(section('Historical context')).not.toContain('It cites');
    expect(section('Economic impact')).not.toContain('https://');
    // The simulator's own tool narration is not quoted back as substance.
    expect(synthesis.text).not.toMatch(/I'll look|web search|puts it/);
  });
});
