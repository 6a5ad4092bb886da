/**
 * The simulated model's narration of its tool use ("I'll look into…", "The lookup tool
 * returned…", "As "Title" puts it: …"), in one place so a simulated synthesis can recognise and
 * leave it out: a finding's substance is what it says about the topic, not how it searched.
 */

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The short text before the first tool call: "I'll look into X from the Y angle, starting with …." */
export function introSentence(subject: string, angle: string, using: readonly string[]): string {
  return `I'll look into ${subject} from the ${angle} angle${using.length > 0 ? `, starting with ${listOf(using)}` : ''}.`;
}

/** What a client tool returned (`quote` is the head of its result), or that it failed. */
export function clientResultSentence(name: string, calls: number, quote: string, isError: boolean): string {
  const tool = `The ${name} tool${calls > 1 ? ` (${calls} calls)` : ''}`;
  if (isError) return `${tool} reported an error${quote ? `: "${quote}"` : ''}.`;
  return `${tool} returned ${quote ? `"${quote}"` : 'an empty result'}.`;
}

/** How a web search went: `null` results for an error. */
export function searchSentence(query: string, results: number | null, errorCode: string | null): string {
  if (results === null) return `A further web search was refused (${errorCode ?? 'error'}).`;
  if (results === 0) return `A web search for "${query}" returned no results within the allowed domains.`;
  return `A web search for "${query}" returned ${results} results.`;
}

/** How a web fetch went. */
export function fetchSentence(url: string, title: string | null, errorCode: string | null): string {
  return errorCode === null ? `The fetched page "${title ?? url}" gave the most detail.` : `Fetching ${url} failed (${errorCode}).`;
}

/** The text of a cited passage (its own text block, carrying the citation). */
export function citedSentence(title: string, passage: string): string {
  return `As "${title}" puts it: ${passage}`;
}

/** The closing source list: `Sources: [1] Title — url; [2] …`. */
export function sourcesLine(sources: ReadonlyArray<{ title: string; url: string }>): string {
  return sources.length > 0 ? `Sources: ${sources.map((source, index) => `[${index + 1}] ${source.title} — ${source.url}`).join('; ')}` : '';
}

/** Every narration sentence above, as written (the `Sources:` line is left to the caller). */
const NARRATION: readonly RegExp[] = [
  /I'll look into [^\n]*? angle(?:, starting with [^\n]*?)?\.(?=\s|$)/g,
  /The [\w-]+ tool(?: \(\d+ calls\))? (?:returned (?:"[^\n]*?"|an empty result)|reported an error(?:: "[^\n]*?")?)\.(?=\s|$)/g,
  /A web search for "[^\n]*?" returned (?:\d+ results|no results within the allowed domains)\.(?=\s|$)/g,
  /A further web search was refused \([^)\n]*\)\./g,
  /The fetched page "[^\n]*?" gave the most detail\.(?=\s|$)/g,
  /Fetching \S+ failed \([^)\n]*\)\./g,
  /As "[^\n]*?" puts it: [^\n]*/g,
];

/** `text` without the simulator's tool narration (whitespace left where it was is tidied). */
export function stripNarration(text: string): string {
  let stripped = text;
  for (const pattern of NARRATION) stripped = stripped.replace(pattern, '');
  return stripped === text
    ? text
    : stripped
        .replace(/[ \t]{2,}/g, ' ')
        .replace(/[ \t]+\n/g, '\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
}
