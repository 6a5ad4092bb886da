/**
 * The simulator playing a model lead, as the real SDK sees it over loopback: a request that
 * offers the `Agent` tool (src/lead/agentTool.ts) gets spawn calls read from the lead's prompt
 * (counts, angle lists, templates; the Limits paragraph ignored), then one join of the started
 * ids, then a synthesis of the join result that names the missing agents and cites the sources.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_TOOL_NAME, agentToolDefinition, joinResultText, parseAgentCall, spawnResultText, type JoinedAgent } from '../src/lead/agentTool.ts';
import { SIMULATED_WEB_DOMAIN, parseJoinResult, simulatedReply, startSimulator, type Simulator } from '../src/simulator/index.ts';

let sim: Simulator;
let client: Anthropic;

const instant = { firstTokenMs: 0, tokensPerSecond: Infinity };
const MODEL = 'claude-haiku-4-5';
const PATTERN_SYSTEM =
  'For research tasks, dispatch THREE explorer sub-agents in parallel,\none per source domain (news, academic, vendor). Then call\nAgent(agent_ids=[id1,id2,id3]) to wait for all, then synthesize.';
const DEFAULT_SYSTEM = 'You are the lead of a research team. Delegate the work to sub-agents with the Agent tool, wait for them, then write the answer.';
const LIMITS = 'Limits: at most 20 agents in all, in at most 3 rounds of spawning.';

type Params = Anthropic.MessageCreateParamsNonStreaming;
const toolOf = (templates: readonly string[]): Anthropic.Tool => {
  const definition = agentToolDefinition(templates);
  return { name: definition.name, description: definition.description, input_schema: definition.inputSchema as Anthropic.Tool.InputSchema };
};
const agentTool = toolOf(['explorer']);
const user = (content: Anthropic.MessageParam['content']): Anthropic.MessageParam => ({ role: 'user', content });
const assistant = (message: Anthropic.Message): Anthropic.MessageParam => ({ role: 'assistant', content: message.content as unknown as Anthropic.ContentBlockParam[] });
const firstMessage = (task: string, instructions?: string): string => [`Task: ${task}`, ...(instructions ? [instructions] : []), LIMITS].join('\n\n');
const params = (system: string, messages: Anthropic.MessageParam[], extra: Partial<Params> = {}): Params => ({
  model: MODEL,
  max_tokens: 8192,
  system,
  messages,
  tools: [agentTool],
  ...extra,
});

const calls = (message: Anthropic.Message): Anthropic.ToolUseBlock[] => message.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
const textOf = (message: Anthropic.Message): string => message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
const inputOf = (call: Anthropic.ToolUseBlock): Record<string, unknown> => call.input as Record<string, unknown>;
const descriptions = (message: Anthropic.Message): string[] => calls(message).map((call) => String(inputOf(call)['description']));

/** The spawn results the runtime would send back: ids `explorer-1`, `explorer-2`, … in call order. */
const spawned = (message: Anthropic.Message, failed: ReadonlySet<number> = new Set()): Anthropic.ToolResultBlockParam[] =>
  calls(message).map((call, index) =>
    failed.has(index)
      ? { type: 'tool_result', tool_use_id: call.id, content: 'Unknown template "explorer".', is_error: true }
      : { type: 'tool_result', tool_use_id: call.id, content: spawnResultText(`explorer-${index + 1}`, 'explorer', String(inputOf(call)['description'])) },
  );

const web = (site: string, path: string): string => `https://${site}.${SIMULATED_WEB_DOMAIN}/${path}`;
const JOINED: JoinedAgent[] = [
  {
    id: 'explorer-1',
    template: 'explorer',
    description: 'News sources',
    status: 'fulfilled',
    output: `[Simulated] Private fusion companies raised record funding, and reactor start-ups now promise pilot plants within a decade.\n\nSources: [1] Fusion funding hits a record — ${web('news', 'fusion-funding')}; [2] Pilot plant timelines — ${web('news', 'pilot-plants')}`,
    reason: null,
  },
  {
    id: 'explorer-2',
    template: 'explorer',
    description: 'Academic sources',
    status: 'fulfilled',
    output: `[Simulated] Peer-reviewed work reports steady gains in plasma confinement, while tritium breeding remains unsolved.\n\nSources: [1] Confinement review — ${web('journals', 'confinement')}; [2] Fusion funding hits a record — ${web('news', 'fusion-funding')}`,
    reason: null,
  },
  { id: 'explorer-3', template: 'explorer', description: 'Vendor sources', status: 'timedOut', output: null, reason: 'no result within the 60 s deadline' },
];

beforeEach(async () => {
  sim = await startSimulator({ latency: instant });
  client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0, logLevel: 'off' });
});

afterEach(async () => {
  await sim.close();
});

describe('spawning', () => {
  it('the pattern prompt: a short text, then three parallel explorer spawns on news, academic and vendor; the stream gives the same message', async () => {
    const body = params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]);
    const message = await client.messages.create(body);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]?.type).toBe('text');
    expect(textOf(message)).toBe("[Simulated] I'll dispatch 3 explorer agents in parallel: news, academic, vendor.");
    const spawns = calls(message);
    expect(spawns).toHaveLength(3);
    expect(descriptions(message)).toEqual(['News sources', 'Academic sources', 'Vendor sources']);
    for (const [index, call] of spawns.entries()) {
      expect(call.name).toBe(AGENT_TOOL_NAME);
      expect(call.id).toMatch(new RegExp(`^toolu_sim_[0-9a-f]{8}_${index + 1}$`));
      const parsed = parseAgentCall(call.input, ['explorer']);
      expect(parsed).toMatchObject({ kind: 'spawn', template: 'explorer' });
      if (parsed.kind !== 'spawn') throw new Error('expected a spawn');
      expect(parsed.prompt).toContain('nuclear fusion');
      expect(parsed.prompt).toContain(['news', 'academic', 'vendor'][index]);
      expect(parsed.prompt).toMatch(/3-5 relevant .*sources.*citation/);
    }
    expect(message.usage.output_tokens).toBe(simulatedReply(body).outputTokens);
    expect(message.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });

    const inputs: string[] = [];
    const stream = client.messages.stream(body);
    stream.on('inputJson', (partial) => inputs.push(partial));
    const streamed = await stream.finalMessage();
    expect(streamed.content).toEqual(message.content);
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.usage).toEqual(message.usage);
    expect(inputs.length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['a count in words', 'Dispatch two agents, then synthesize.', undefined, 2],
    ['a count in digits', 'Always dispatch 4 specialists in parallel.', undefined, 4],
    ['a count of sub-agents', 'Spawn 5 sub-agents at once.', undefined, 5],
    ['a count in the instructions', DEFAULT_SYSTEM, 'Use three agents for this one.', 3],
    ['a distribution rule is not a count', 'Spawn one explorer agent per region (Europe, Asia).', undefined, 2],
  ])('%s', async (_case, system, instructions, count) => {
    const message = await client.messages.create(params(system, [user(firstMessage('the market for heat pumps', instructions))]));
    expect(calls(message)).toHaveLength(count);
    expect(new Set(descriptions(message)).size).toBe(count);
    for (const call of calls(message)) expect(parseAgentCall(call.input, ['explorer'])).toMatchObject({ kind: 'spawn', template: 'explorer' });
  });

  it('a list without a count: one agent per item, in order', async () => {
    const message = await client.messages.create(params('Cover each market (Europe, Asia and the Americas) with its own agent.', [user(firstMessage('heat pump adoption'))]));
    expect(descriptions(message)).toEqual(['Europe', 'Asia', 'The Americas']);
    expect(String(inputOf(calls(message)[2] as Anthropic.ToolUseBlock)['prompt'])).toContain('with a focus on the Americas');
  });

  it('a count and a list: the list when they agree, else the count, taking the list first and filling up', async () => {
    const agree = await client.messages.create(params('Dispatch 3 agents (cost, safety, speed).', [user(firstMessage('small modular reactors'))]));
    expect(descriptions(agree)).toEqual(['Cost', 'Safety', 'Speed']);
    const fewer = await client.messages.create(params('Dispatch 2 agents (cost, safety, speed).', [user(firstMessage('small modular reactors'))]));
    expect(descriptions(fewer)).toEqual(['Cost', 'Safety']);
    const more = await client.messages.create(params('Dispatch 4 agents (cost, safety, speed).', [user(firstMessage('small modular reactors'))]));
    expect(descriptions(more).slice(0, 3)).toEqual(['Cost', 'Safety', 'Speed']);
    expect(descriptions(more)).toHaveLength(4);
  });

  it('neither a count nor a list: 2–4 distinct angles derived from the task, the same on every turn', async () => {
    for (const task of ['nuclear fusion', 'the future of remote work', 'battery recycling', 'urban air quality', 'open-source AI models']) {
      const message = await client.messages.create(params(DEFAULT_SYSTEM, [user(firstMessage(task))]));
      const count = calls(message).length;
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBeLessThanOrEqual(4);
      expect(new Set(descriptions(message)).size).toBe(count);
      for (const call of calls(message)) expect(String(inputOf(call)['prompt'])).toContain(task);
      // The plan depends on the prompt alone: another model (another seed) plans the same agents.
      const other = await client.messages.create({ ...params(DEFAULT_SYSTEM, [user(firstMessage(task))]), model: 'claude-opus-4-1' });
      expect(descriptions(other)).toEqual(descriptions(message));
    }
  });

  it('ignores the numbers of the Limits paragraph', async () => {
    const message = await client.messages.create(params(DEFAULT_SYSTEM, [user(firstMessage('nuclear fusion', 'Cover it by region (Europe, Asia).'))]));
    expect(descriptions(message)).toEqual(['Europe', 'Asia']);
    // Without a Limits paragraph the plan is the same: its "20 agents" and "3 rounds" were never read.
    const without = await client.messages.create(params(DEFAULT_SYSTEM, [user('Task: nuclear fusion\n\nCover it by region (Europe, Asia).')]));
    expect(descriptions(without)).toEqual(['Europe', 'Asia']);
  });

  it('the template: the one the prompt mentions, else the first listed; none when the tool lists none', async () => {
    const twoTemplates = toolOf(['generalist', 'explorer']);
    const mentioned = await client.messages.create({ ...params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]), tools: [twoTemplates] });
    expect(calls(mentioned).map((call) => inputOf(call)['template'])).toEqual(['explorer', 'explorer', 'explorer']);
    const unmentioned = await client.messages.create({ ...params('Dispatch two agents.', [user(firstMessage('nuclear fusion'))]), tools: [twoTemplates] });
    expect(calls(unmentioned).map((call) => inputOf(call)['template'])).toEqual(['generalist', 'generalist']);

    const bare: Anthropic.Tool = {
      name: AGENT_TOOL_NAME,
      input_schema: { type: 'object', properties: { prompt: { type: 'string' }, description: { type: 'string' }, agent_ids: { type: 'array', items: { type: 'string' } } } },
    };
    const untemplated = await client.messages.create({ ...params('Dispatch two agents.', [user(firstMessage('nuclear fusion'))]), tools: [bare] });
    expect(calls(untemplated)).toHaveLength(2);
    for (const call of calls(untemplated)) expect(Object.keys(inputOf(call)).sort()).toEqual(['description', 'prompt']);
  });

  it('other tools on offer are left alone; a tool named Agent without agent_ids is an ordinary tool', async () => {
    const withSearch = await client.messages.create({ ...params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]), tools: [agentTool, { type: 'web_search_20250305', name: 'web_search' }] });
    expect(withSearch.content.map((block) => block.type)).toEqual(['text', 'tool_use', 'tool_use', 'tool_use']);
    expect(withSearch.usage.server_tool_use).toEqual({ web_search_requests: 0, web_fetch_requests: 0 });

    const lookalike: Anthropic.Tool = { name: AGENT_TOOL_NAME, input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } };
    const body = { ...params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]), tools: [lookalike] };
    expect(simulatedReply(body).kind).toBe('tools');
    expect(simulatedReply(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))])).kind).toBe('lead');
  });

  it('disable_parallel_tool_use: one spawn per turn until the plan is spawned, then the join', async () => {
    const choice = { tool_choice: { type: 'auto', disable_parallel_tool_use: true } } as const;
    const messages: Anthropic.MessageParam[] = [user(firstMessage('nuclear fusion'))];
    const seen: string[] = [];
    for (let turn = 0; turn < 3; turn++) {
      const message = await client.messages.create(params(PATTERN_SYSTEM, messages, choice));
      expect(message.stop_reason).toBe('tool_use');
      const [call, ...rest] = calls(message);
      expect(rest).toEqual([]);
      if (!call) throw new Error('expected a spawn');
      seen.push(String(inputOf(call)['description']));
      messages.push(assistant(message), user([{ type: 'tool_result', tool_use_id: call.id, content: spawnResultText(`explorer-${turn + 1}`, 'explorer', seen[turn] ?? '') }]));
    }
    expect(seen).toEqual(['News sources', 'Academic sources', 'Vendor sources']);
    const join = await client.messages.create(params(PATTERN_SYSTEM, messages, choice));
    expect(calls(join).map((call) => call.input)).toEqual([{ agent_ids: ['explorer-1', 'explorer-2', 'explorer-3'] }]);
  });
});

describe('joining', () => {
  it('after the spawn results: one join of every id, in spawn order', async () => {
    const first = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]));
    const message = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion')), assistant(first), user(spawned(first))]));
    expect(message.stop_reason).toBe('tool_use');
    expect(textOf(message)).toMatch(/^\[Simulated\] All 3 agents are running/);
    const [join, ...rest] = calls(message);
    expect(rest).toEqual([]);
    expect(parseAgentCall(join?.input, ['explorer'])).toEqual({ kind: 'join', ids: ['explorer-1', 'explorer-2', 'explorer-3'], timeoutMs: null });

    const streamed = await client.messages.stream(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion')), assistant(first), user(spawned(first))])).finalMessage();
    expect(streamed.content).toEqual(message.content);
  });

  it('joins only the agents that started; none started is the final answer, saying so', async () => {
    const first = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))]));
    const some = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion')), assistant(first), user(spawned(first, new Set([1])))]));
    expect(calls(some).map((call) => call.input)).toEqual([{ agent_ids: ['explorer-1', 'explorer-3'] }]);
    expect(textOf(some)).toContain('Academic sources could not be');

    const none = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion')), assistant(first), user(spawned(first, new Set([0, 1, 2])))]));
    expect(none.stop_reason).toBe('end_turn');
    expect(calls(none)).toEqual([]);
    const text = textOf(none);
    expect(text).toMatch(/^\[Simulated\]/);
    for (const description of ['News sources', 'Academic sources', 'Vendor sources']) expect(text).toContain(`the ${description} angle (could not be started: Unknown template`);
  });
});

describe('the final answer', () => {
  /** The conversation up to the join's result. */
  async function joinedConversation(result: string | Anthropic.TextBlockParam[], isError = false): Promise<Anthropic.MessageParam[]> {
    const messages: Anthropic.MessageParam[] = [user(firstMessage('nuclear fusion'))];
    const first = await client.messages.create(params(PATTERN_SYSTEM, messages));
    messages.push(assistant(first), user(spawned(first)));
    const second = await client.messages.create(params(PATTERN_SYSTEM, messages));
    const join = calls(second)[0];
    messages.push(assistant(second), user([{ type: 'tool_result', tool_use_id: join?.id ?? '', content: result, ...(isError ? { is_error: true } : {}) }]));
    return messages;
  }

  it('after the join: a synthesis with a section per finished agent, the missing one named with why, and the cited sources', async () => {
    const body = params(PATTERN_SYSTEM, await joinedConversation(joinResultText(JOINED)));
    const message = await client.messages.create(body);
    expect(message.stop_reason).toBe('end_turn');
    expect(calls(message)).toEqual([]);
    const text = textOf(message);
    expect(text).toMatch(/^\[Simulated\] /);
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    expect(headings).toEqual(['News sources', 'Academic sources', 'Cross-cutting synthesis', 'Sources']);
    expect(text).toContain('(explorer-1)');
    expect(text).toContain('Private fusion companies raised record funding');
    const crossCutting = text.slice(text.indexOf('## Cross-cutting synthesis'), text.indexOf('## Sources'));
    expect(crossCutting).toContain('the Vendor sources angle (explorer-3: timed out — no result within the 60 s deadline)');
    const sources = text.slice(text.indexOf('## Sources'));
    for (const url of [web('news', 'fusion-funding'), web('news', 'pilot-plants'), web('journals', 'confinement')]) expect(sources.split(url)).toHaveLength(2);
    expect(sources).toContain(`${web('news', 'fusion-funding')} (cited by explorer-1, explorer-2)`);

    const streamed = await client.messages.stream(body).finalMessage();
    expect(streamed.content).toEqual(message.content);
    expect(streamed.usage.output_tokens).toBe(message.usage.output_tokens);
  });

  it('a join result given as text blocks reads the same as one given as a string', async () => {
    const asString = await client.messages.create(params(PATTERN_SYSTEM, await joinedConversation(joinResultText(JOINED))));
    const asBlocks = await client.messages.create(params(PATTERN_SYSTEM, await joinedConversation([{ type: 'text', text: joinResultText(JOINED) }])));
    expect(textOf(asBlocks).replace(/^[\s\S]*?## News sources/, '')).toMatch(/^\n\nThe news sources finding \(explorer-1\)/);
    expect([...textOf(asBlocks).matchAll(/^## (.+)$/gm)].map((match) => match[1])).toEqual([...textOf(asString).matchAll(/^## (.+)$/gm)].map((match) => match[1]));
  });

  it('a join that failed: the answer says which agents it has no input from and why', async () => {
    const message = await client.messages.create(params(PATTERN_SYSTEM, await joinedConversation('Unknown agent id "explorer-9".', true)));
    expect(message.stop_reason).toBe('end_turn');
    const text = textOf(message);
    expect(text).toContain('No specialist finding was available');
    expect(text).toContain('the News sources angle (explorer-1: the join failed — Unknown agent id "explorer-9".)');
  });

  it('tool_choice none: text only, at any point, with whatever results are in', async () => {
    const none = { tool_choice: { type: 'none' } } as const;
    const start = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))], none));
    expect(start.stop_reason).toBe('end_turn');
    expect(start.content.map((block) => block.type)).toEqual(['text']);
    expect(textOf(start)).toMatch(/^\[Simulated\] /);
    expect(textOf(start)).toContain('the News sources angle (not dispatched)');

    const messages = await joinedConversation(joinResultText(JOINED));
    const end = await client.messages.create(params(PATTERN_SYSTEM, messages, none));
    expect(end.content.map((block) => block.type)).toEqual(['text']);
    expect(textOf(end)).toContain('## Academic sources');
  });

  it('tool_choice any: no text before the calls, as the API prefills; with nothing left to call, it joins again', async () => {
    const any = { tool_choice: { type: 'any' } } as const;
    const start = await client.messages.create(params(PATTERN_SYSTEM, [user(firstMessage('nuclear fusion'))], any));
    expect(start.content.map((block) => block.type)).toEqual(['tool_use', 'tool_use', 'tool_use']);
    const again = await client.messages.create(params(PATTERN_SYSTEM, await joinedConversation(joinResultText(JOINED)), any));
    expect(again.stop_reason).toBe('tool_use');
    expect(again.content.map((block) => (block.type === 'tool_use' ? block.input : block.type))).toEqual([{ agent_ids: ['explorer-1', 'explorer-2', 'explorer-3'] }]);
  });

  it('is deterministic: the same request gets the same reply, over HTTP and from simulatedReply', async () => {
    const body = params(PATTERN_SYSTEM, await joinedConversation(joinResultText(JOINED)));
    const once = await client.messages.create(body);
    const twice = await client.messages.create(body);
    expect(twice.content).toEqual(once.content);
    expect(simulatedReply(body).content).toEqual(once.content);
    expect(simulatedReply(body).kind).toBe('lead');
  });
});

describe('parseJoinResult', () => {
  it('reads back what joinResultText writes, escapes included', () => {
    const agents: JoinedAgent[] = [
      { id: 'a-1', template: 'explorer', description: 'Costs > "benefits" & <risks>', status: 'fulfilled', output: 'Line one.\nLine two.', reason: null },
      { id: 'a-2', template: 'explorer', description: 'Vendors', status: 'rejected', output: null, reason: 'failed after 2 attempts: "overloaded"' },
      { id: 'a-3', template: 'critic', description: 'Skipped one', status: 'skipped', output: null, reason: null },
    ];
    expect(parseJoinResult(joinResultText(agents))).toEqual(agents);
  });
});
