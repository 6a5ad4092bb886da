/**
 * Deterministic tool-use replies: what the simulated model does when a request offers tools.
 * It reads the conversation so far (which tools it has called, what came back) and takes the
 * next step of a small research script, seeded by the request like all simulated text:
 *
 * - client tools offered and none called yet: a short text, then 1–3 `tool_use` blocks with
 *   inputs generated from each tool's `input_schema`; `stop_reason: 'tool_use'`;
 * - `web_search` offered and not used yet: a `server_tool_use` search and its
 *   `web_search_tool_result` (the simulated web); with client tools too, their `tool_use`
 *   blocks follow in the same reply (`tool_use`), otherwise the turn pauses (`pause_turn`);
 * - `web_fetch` offered and not used yet (once any search has paused or results are in): a
 *   fetch of the first search result, then the finding in the same reply;
 * - otherwise (and always with `tool_choice: none`): the finding — specialist-style text within
 *   the prompt's word limit that names the tools it used, cites web results (`citations`) and
 *   ends with a `Sources:` line of titles and URLs; `stop_reason: 'end_turn'`;
 * - the finding, when fanfold's `report` tool is offered (src/findings/reportTool.ts): the same
 *   text blocks, then one `report` call — `{ confidence, sources }`, the confidence 0.45–0.95
 *   seeded by the request (higher with more sources, lower with failed tools), the sources the
 *   URLs the finding cites; `stop_reason: 'tool_use'`. `report` is never a research call (no
 *   input from its schema, never before the finding), so a request offering only `report` gets
 *   the finding and the report at once. Not with `tool_choice: none`, and only once: a
 *   conversation that already called it gets the plain finding.
 *
 * The task and angle come from the first user message (later user messages hold tool results).
 * `tool_choice: { type: 'tool' }` forces that tool on every reply, `any` forces some tool, and
 * neither writes text before the tool call (as the API prefills); forcing `report`, or `any`
 * with nothing left to research, is the `report` call alone. `max_uses` counts the uses in the
 * whole conversation.
 */
import { REPORT_TOOL_NAME } from '../findings/reportTool.ts';
import type { ReplyBlock, ServerToolUsage, ServerToolUseBlock, TextBlock, ToolUseBlock, WebFetchToolResultBlock, WebSearchCitation, WebSearchToolResultBlock } from './content.ts';
import { Random, hashString } from './random.ts';
import type { ParsedMessagesRequest } from './request.ts';
import { citedSentence, clientResultSentence, fetchSentence, introSentence, searchSentence, sourcesLine as sourcesLineOf } from './narration.ts';
import { inputFromSchema } from './schemaInput.ts';
import { DEFAULT_FINDING_LIMIT, SIMULATED_LABEL, angleTerms, paragraphs, parseSpecialistPrompt, sentenceSource } from './specialist.ts';
import { estimateTokens, truncateToTokens } from './tokens.ts';
import type { ClientTool, ConversationMessage, ServerTool, ToolChoice, ToolDefinition } from './tools.ts';
import { headWords, inlineLabel, keywords, subjectOf } from './vocab.ts';
import { URL_IN_TEXT, citedPassage, opaqueToken, searchResults, simulatedPage, simulatedUrl, titleFromUrl, urlAllowed, type WebSearchResult } from './web.ts';
import { countWords, fitSentences, parseWordLimit } from './words.ts';
import { isRecord } from './isRecord.ts';

/** A tool-use reply before `stop_sequences` and `max_tokens` are applied. */
export interface ToolReplyDraft {
  blocks: ReplyBlock[];
  stopReason: 'end_turn' | 'tool_use' | 'pause_turn';
  serverToolUse: ServerToolUsage;
}

/** A cited source: a title and a URL. */
interface Source {
  url: string;
  title: string;
}

interface SearchRecord {
  query: string;
  /** `null` when the search came back as an error. */
  results: Array<{ url: string; title: string }> | null;
  errorCode: string | null;
}

interface FetchRecord {
  url: string;
  title: string | null;
  errorCode: string | null;
}

interface ClientResult {
  name: string;
  text: string;
  isError: boolean;
}

/** What the conversation so far says about tool use. */
interface ConversationState {
  searchUses: number;
  fetchUses: number;
  searches: SearchRecord[];
  fetches: FetchRecord[];
  /** Research calls of client tools (`report` calls are not research). */
  clientCalls: number;
  clientResults: ClientResult[];
  /** `report` calls so far. */
  reports: number;
  /** The text of the last user message that is not an answer to tool calls. */
  lastSpoken: string;
}

/** What the reply is about. */
interface Topic {
  subject: string;
  angle: string;
  /** The task line, for terms; the query when the prompt is not specialist-shaped. */
  task: string;
  query: string;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The text of a `tool_result`'s content: a string, or its text (and text-document) blocks joined. */
export function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isRecord)
    .map((block) => str(block['text']) ?? (isRecord(block['source']) ? (str(block['source']['data']) ?? '') : ''))
    .filter(Boolean)
    .join('\n');
}

/**
 * One of fanfold's own client tools among the offered ones: named `name`, with `property` in its
 * input schema — a user's lookalike without it is an ordinary tool.
 */
export function fanfoldToolOf(tools: readonly ToolDefinition[], name: string, property: string): ClientTool | null {
  return (
    tools.find((tool): tool is ClientTool => {
      if (tool.kind !== 'client' || tool.name !== name) return false;
      const properties = tool.inputSchema['properties'];
      return isRecord(properties) && property in properties;
    }) ?? null
  );
}

/** The `report` tool among the offered tools (its schema has `confidence`). */
export function reportToolOf(tools: readonly ToolDefinition[]): ClientTool | null {
  return fanfoldToolOf(tools, REPORT_TOOL_NAME, 'confidence');
}

/** `report`: the name of the offered report tool, whose calls and results are not research (`null`: none offered). */
function readConversation(messages: readonly ConversationMessage[], report: string | null): ConversationState {
  const state: ConversationState = { searchUses: 0, fetchUses: 0, searches: [], fetches: [], clientCalls: 0, clientResults: [], reports: 0, lastSpoken: '' };
  const clientNames = new Map<string, string>();
  const serverInputs = new Map<string, Record<string, unknown>>();
  for (const message of messages) {
    const spoken: string[] = [];
    for (const block of message.blocks) {
      const type = block['type'];
      if (type === 'text' && message.role === 'user') spoken.push(str(block['text']) ?? '');
      if (type === 'tool_use') {
        if (report !== null && block['name'] === report) state.reports++;
        else state.clientCalls++;
        clientNames.set(String(block['id']), String(block['name']));
      } else if (type === 'server_tool_use') {
        if (block['name'] === 'web_search') state.searchUses++;
        if (block['name'] === 'web_fetch') state.fetchUses++;
        serverInputs.set(String(block['id']), isRecord(block['input']) ? block['input'] : {});
      } else if (type === 'web_search_tool_result') {
        const query = str(serverInputs.get(String(block['tool_use_id']))?.['query']) ?? '';
        const content = block['content'];
        state.searches.push(
          Array.isArray(content)
            ? {
                query,
                results: content.filter(isRecord).flatMap((item) => (str(item['url']) ? [{ url: String(item['url']), title: str(item['title']) ?? titleFromUrl(String(item['url'])) }] : [])),
                errorCode: null,
              }
            : { query, results: null, errorCode: isRecord(content) ? (str(content['error_code']) ?? 'unavailable') : 'unavailable' },
        );
      } else if (type === 'web_fetch_tool_result') {
        const content = isRecord(block['content']) ? block['content'] : {};
        const url = str(content['url']) ?? str(serverInputs.get(String(block['tool_use_id']))?.['url']) ?? '';
        const document = isRecord(content['content']) ? content['content'] : {};
        state.fetches.push({ url, title: str(document['title']), errorCode: content['type'] === 'web_fetch_result' ? null : (str(content['error_code']) ?? 'unavailable') });
      } else if (type === 'tool_result') {
        const id = String(block['tool_use_id']);
        // What fanfold answers a report with says nothing about the topic.
        if (report !== null && clientNames.get(id) === report) continue;
        state.clientResults.push({ name: clientNames.get(id) ?? 'tool', text: resultText(block['content']), isError: block['is_error'] === true });
      }
    }
    // A message carrying tool results is the loop talking ("limit reached…"), not a new question.
    const answersTools = message.blocks.some((block) => block['type'] === 'tool_result');
    if (message.role === 'user' && !answersTools && spoken.join('').trim() !== '') state.lastSpoken = spoken.join('\n');
  }
  return state;
}

function topicOf(request: ParsedMessagesRequest, state: ConversationState): Topic {
  const specialist = parseSpecialistPrompt(request.firstUserText);
  if (specialist) {
    const query = [...keywords(specialist.task, 4), ...keywords(specialist.angle, 2)].join(' ') || headWords(specialist.task, 8);
    return { subject: subjectOf(specialist.task), angle: specialist.angle, task: specialist.task, query };
  }
  // Not a specialist prompt: the last thing the user said is the question.
  const asked = (state.lastSpoken || request.firstUserText).replace(/\s+/g, ' ').trim();
  const query = keywords(asked, 6).join(' ') || headWords(asked, 8).replace(/…$/, '') || 'research';
  return { subject: subjectOf(asked), angle: 'research', task: asked, query };
}

const QUERY_TAILS = ['evidence', 'latest data', 'case studies', 'criticism', 'statistics'];

/** A fixed-per-request timestamp: replies must not depend on when they are generated. */
function retrievedAt(seed: number): string {
  return new Date(Date.UTC(2026, 0, 1) + (seed % (180 * 24 * 60)) * 60_000).toISOString();
}

/** The reply for a request that offers tools (see the module comment for the script). */
export function toolUseReply(request: ParsedMessagesRequest): ToolReplyDraft {
  const seed = hashString(request.seedSource);
  const random = new Random(seed);
  const tag = seed.toString(16).padStart(8, '0');
  const report = reportToolOf(request.tools);
  const state = readConversation(request.messages, report?.name ?? null);
  const topic = topicOf(request, state);
  const choice: ToolChoice = request.toolChoice ?? { type: 'auto', name: null, disableParallelToolUse: false };
  // The research tools: every client tool but `report`.
  const clientTools = request.tools.filter((tool): tool is ClientTool => tool.kind === 'client' && tool !== report);
  const server = (name: ServerTool['name']): ServerTool | null => request.tools.find((tool): tool is ServerTool => tool.kind === 'server' && tool.name === name) ?? null;
  const search = server('web_search');
  const fetch = server('web_fetch');
  const usage: ServerToolUsage = { web_search_requests: 0, web_fetch_requests: 0 };
  const blocks: ReplyBlock[] = [];
  const newSearches: SearchRecord[] = [];
  const newFetches: FetchRecord[] = [];
  const finish = (stopReason: ToolReplyDraft['stopReason']): ToolReplyDraft => ({ blocks, stopReason, serverToolUse: usage });
  const reportCall = (sources: readonly string[]): ToolReplyDraft => {
    const failures = state.fetches.filter((record) => record.errorCode !== null).length + state.clientResults.filter((result) => result.isError).length;
    const input = { confidence: reportedConfidence(request.seedSource, sources.length, failures), sources: [...sources] };
    const id = `toolu_sim_${tag}_${blocks.filter((block) => block.type === 'tool_use').length + 1}`;
    blocks.push({ type: 'tool_use', id, name: report?.name ?? REPORT_TOOL_NAME, input } satisfies ToolUseBlock);
    return finish('tool_use');
  };

  if (choice.type === 'none') {
    blocks.push(...findingBlocks(request, topic, state, [], [], random).blocks);
    return finish('end_turn');
  }

  const forced = choice.type === 'tool' ? (request.tools.find((tool) => tool.name === choice.name) ?? null) : null;
  // Forced to report: the call alone (the API prefills it), on what the conversation found.
  if (forced !== null && forced === report)
    return reportCall(
      conversationSources(state, [], [])
        .map((source) => source.url)
        .slice(0, 5),
    );
  let wantClient = clientTools.length > 0 && (forced ? forced.kind === 'client' : state.clientResults.length === 0);
  let wantSearch = search !== null && (forced ? forced === search : state.searchUses === 0);
  let wantFetch = fetch !== null && (forced ? forced === fetch : state.fetchUses === 0);
  if (choice.type === 'any' && !wantClient && !wantSearch && !wantFetch) {
    // `any` must call something: report what the conversation found, once; else start the script over.
    if (report !== null && state.reports === 0)
      return reportCall(
        conversationSources(state, [], [])
          .map((source) => source.url)
          .slice(0, 5),
      );
    if (clientTools.length > 0) wantClient = true;
    else if (search) wantSearch = true;
    else wantFetch = true;
  }

  const firstActivity = state.searchUses + state.fetchUses + state.clientCalls === 0;
  if (choice.type === 'auto' && firstActivity && (wantClient || wantSearch || wantFetch)) {
    const using = [...(wantSearch ? ['a web search'] : []), ...(wantClient ? [...new Set(clientTools.map((tool) => tool.name))].slice(0, 3) : [])];
    if (using.length === 0) using.push('a reference page');
    blocks.push({ type: 'text', text: introSentence(topic.subject, inlineLabel(topic.angle), using) });
  }

  let serverSeq = 0;
  let searchFound = false;
  if (wantSearch && search) {
    const query = state.searchUses === 0 ? topic.query : `${topic.query} ${QUERY_TAILS[(state.searchUses - 1) % QUERY_TAILS.length] ?? ''}`.trim();
    const id = `srvtoolu_sim_${tag}_${++serverSeq}`;
    blocks.push({ type: 'server_tool_use', id, name: 'web_search', input: { query } } satisfies ServerToolUseBlock);
    let result: WebSearchToolResultBlock;
    if (search.maxUses !== null && state.searchUses >= search.maxUses) {
      result = { type: 'web_search_tool_result', tool_use_id: id, content: { type: 'web_search_tool_result_error', error_code: 'max_uses_exceeded' } };
      newSearches.push({ query, results: null, errorCode: 'max_uses_exceeded' });
    } else {
      const results = searchResults(query, search);
      usage.web_search_requests++;
      result = { type: 'web_search_tool_result', tool_use_id: id, content: results };
      newSearches.push({ query, results: results.map(({ url, title }) => ({ url, title })), errorCode: null });
      searchFound = results.length > 0;
    }
    blocks.push(result);
  }

  if (wantClient) {
    const candidates = forced?.kind === 'client' ? [forced] : random.shuffle(clientTools);
    const count = forced || choice.disableParallelToolUse ? 1 : 1 + random.int(3);
    const tails = ['', ...random.shuffle([...angleTerms(topic.angle).slice(0, 2), ...QUERY_TAILS]).slice(0, 2)];
    for (let n = 0; n < count; n++) {
      const tool = candidates[n % candidates.length] as ClientTool;
      const query = `${topic.query} ${tails[n] ?? ''}`.trim();
      const input = inputFromSchema(tool.inputSchema, { query, url: simulatedUrl(query) }, random);
      blocks.push({ type: 'tool_use', id: `toolu_sim_${tag}_${n + 1}`, name: tool.name, input } satisfies ToolUseBlock);
    }
    return finish('tool_use');
  }

  // A search that found something is a long server-tool turn: pause, as the API does.
  if (searchFound) return finish('pause_turn');

  if (wantFetch && fetch) {
    const fetched = new Set(state.fetches.map((record) => record.url));
    const known = [...newSearches, ...[...state.searches].reverse()].flatMap((record) => record.results ?? []);
    const target = known.find((result) => !fetched.has(result.url)) ?? { url: simulatedUrl(topic.query), title: null };
    const id = `srvtoolu_sim_${tag}_${++serverSeq}`;
    blocks.push({ type: 'server_tool_use', id, name: 'web_fetch', input: { url: target.url } } satisfies ServerToolUseBlock);
    const error = (code: string): WebFetchToolResultBlock => {
      newFetches.push({ url: target.url, title: null, errorCode: code });
      return { type: 'web_fetch_tool_result', tool_use_id: id, content: { type: 'web_fetch_tool_result_error', error_code: code } };
    };
    let result: WebFetchToolResultBlock;
    if (fetch.maxUses !== null && state.fetchUses >= fetch.maxUses) result = error('max_uses_exceeded');
    else if (!urlAllowed(target.url, fetch)) result = error('url_not_allowed');
    else {
      const page = simulatedPage(target.url, target.title);
      const data = fetch.maxContentTokens !== null && estimateTokens(page.text) > fetch.maxContentTokens ? truncateToTokens(page.text, fetch.maxContentTokens) : page.text;
      usage.web_fetch_requests++;
      newFetches.push({ url: page.url, title: page.title, errorCode: null });
      result = {
        type: 'web_fetch_tool_result',
        tool_use_id: id,
        content: {
          type: 'web_fetch_result',
          url: page.url,
          retrieved_at: retrievedAt(seed),
          content: {
            type: 'document',
            source: { type: 'text', media_type: 'text/plain', data },
            title: page.title,
            ...(fetch.citations ? { citations: { enabled: true } } : {}),
          },
        },
      };
    }
    blocks.push(result);
  }

  const finding = findingBlocks(request, topic, state, newSearches, newFetches, random);
  blocks.push(...finding.blocks);
  // The finding's turn reports it, in the same response (once: a report already made is not repeated).
  if (report !== null && state.reports === 0 && (choice.type === 'auto' || choice.type === 'any')) return reportCall(finding.sources);
  return finish('end_turn');
}

/**
 * The confidence a simulated specialist reports: 0.45 to 0.95 in hundredths, seeded by the
 * request (not by the finding's text stream, which stays as it would be without `report`):
 * 0.05 more per cited source up to five, 0.05 less per failed fetch or client tool call.
 */
function reportedConfidence(seedSource: string, sources: number, failures: number): number {
  const random = new Random(hashString(`report\u0000${seedSource}`));
  const hundredths = 45 + 5 * Math.min(sources, 5) + random.int(26) - 5 * failures;
  return Math.min(95, Math.max(45, hundredths)) / 100;
}

/** What the conversation's tools turned up: fetched pages, then search results, then URLs that client tools returned. */
function conversationSources(state: ConversationState, newSearches: readonly SearchRecord[], newFetches: readonly FetchRecord[]): Source[] {
  const sources: Source[] = [];
  const add = (url: string, title: string): void => {
    if (!sources.some((source) => source.url === url)) sources.push({ url, title });
  };
  for (const record of [...state.fetches, ...newFetches]) if (record.errorCode === null) add(record.url, record.title ?? titleFromUrl(record.url));
  for (const record of [...state.searches, ...newSearches]) for (const result of record.results ?? []) add(result.url, result.title);
  for (const result of state.clientResults) for (const url of result.text.match(URL_IN_TEXT) ?? []) add(url, `${result.name} result`);
  return sources;
}

/**
 * The finding: labelled text within the word limit, what the tools returned, citations and
 * sources; with the URLs it cites (its Sources line, then its citations), for a `report`.
 */
function findingBlocks(
  request: ParsedMessagesRequest,
  topic: Topic,
  state: ConversationState,
  newSearches: readonly SearchRecord[],
  newFetches: readonly FetchRecord[],
  random: Random,
): { blocks: TextBlock[]; sources: string[] } {
  const searches = [...state.searches, ...newSearches];
  const fetches = [...state.fetches, ...newFetches];

  // What the tools returned, by tool name.
  const mentions: string[] = [];
  const byTool = new Map<string, ClientResult[]>();
  for (const result of state.clientResults) byTool.set(result.name, [...(byTool.get(result.name) ?? []), result]);
  for (const [name, results] of byTool) {
    const first = results.find((result) => !result.isError) ?? results[0];
    if (!first) continue;
    mentions.push(clientResultSentence(name, results.length, headWords(first.text.replace(/\s+/g, ' '), 12), first.isError));
  }
  for (const record of searches) mentions.push(searchSentence(record.query, record.results?.length ?? null, record.errorCode));
  for (const record of fetches) mentions.push(fetchSentence(record.url, record.title, record.errorCode));

  const sources = conversationSources(state, newSearches, newFetches);

  // Web search results are cited the way the API cites them: text blocks with citations.
  let cited: Array<{ text: string; citation: WebSearchCitation }> = searches
    .flatMap((record) => record.results ?? [])
    .filter((result, index, all) => all.findIndex((other) => other.url === result.url) === index)
    .slice(0, 2)
    .map((result: Pick<WebSearchResult, 'url' | 'title'>) => {
      const passage = citedPassage(simulatedPage(result.url, result.title));
      return {
        text: citedSentence(result.title, passage),
        citation: { type: 'web_search_result_location', url: result.url, title: result.title, cited_text: passage, encrypted_index: opaqueToken(result.url, passage) },
      };
    });

  const limit = parseWordLimit(request.system ? `${request.system}\n\n${request.firstUserText}` : request.firstUserText) ?? DEFAULT_FINDING_LIMIT;
  let listed = sources.slice(0, 5);
  let mentioned = mentions;
  const sourcesLine = (): string => sourcesLineOf(listed);
  const fixedWords = (): number => 1 + countWords(mentioned.join(' ')) + cited.reduce((sum, item) => sum + countWords(item.text), 0) + countWords(sourcesLine());
  // Leave most of the word limit to the finding itself: fewer sources, citations and mentions first.
  const budget = Math.floor(limit.max * 0.6);
  while (fixedWords() > budget && listed.length > 1) listed = listed.slice(0, -1);
  while (fixedWords() > budget && cited.length > 0) cited = cited.slice(0, -1);
  while (fixedWords() > budget && mentioned.length > 1) mentioned = mentioned.slice(0, -1);

  const resultTerms = keywords(state.clientResults.map((result) => result.text).join(' '), 2, new Set(keywords(topic.task, 8).map((word) => word.toLowerCase())));
  const terms = [...keywords(topic.task, 4), ...angleTerms(topic.angle), ...resultTerms];
  const next = sentenceSource(topic.subject, inlineLabel(topic.angle), terms, random);
  const body = paragraphs(fitSentences(next, limit, fixedWords()));
  const first = [body, mentioned.join(' ')].filter((part) => part.length > 0).join('\n\n');

  const blocks: TextBlock[] = [{ type: 'text', text: `${SIMULATED_LABEL} ${first}`.trimEnd() }];
  for (const item of cited) blocks.push({ type: 'text', text: `\n\n${item.text}`, citations: [item.citation] });
  const line = sourcesLine();
  if (line) blocks.push({ type: 'text', text: `\n\n${line}` });
  const urls = [...new Set([...listed.map((source) => source.url), ...cited.map((item) => item.citation.url)])];
  return { blocks, sources: urls };
}
