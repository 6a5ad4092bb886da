/**
 * The simulated web behind the `web_search` and `web_fetch` server tools: search results and
 * pages generated from the query, every URL under a reserved domain (RFC 2606 `.example`) and
 * every title labelled "[Simulated]", so nothing can pass for a real source. Pages are derived
 * from their URL alone, so a search result, a fetch of it and a citation of it always agree.
 */
import { Random, hashString } from './random.ts';
import { sentenceSource } from './specialist.ts';
import { keywords } from './vocab.ts';

/** The domain every simulated URL lives under (reserved by RFC 2606: it can never resolve to a real site). */
export const SIMULATED_WEB_DOMAIN = 'fanfold-sim.example';

/** The label every simulated page title starts with. */
export const SIMULATED_TITLE_PREFIX = '[Simulated] ';

/** A URL inside prose (trailing punctuation excluded); global, for `matchAll` and `replace`. */
export const URL_IN_TEXT = /https?:\/\/[^\s"'<>()[\]{};,]+[^\s"'<>()[\]{};,.:!?]/g;

/** One `web_search_result` item, as the API returns it. */
export interface WebSearchResult {
  type: 'web_search_result';
  url: string;
  title: string;
  encrypted_content: string;
  page_age: string | null;
}

/** A simulated page: what `web_fetch` returns for a URL. */
export interface SimulatedPage {
  url: string;
  title: string;
  text: string;
}

/** Kinds of site the simulated web has; each is a subdomain of {@link SIMULATED_WEB_DOMAIN}. */
const SITES: ReadonlyArray<{ host: string; label: string }> = [
  { host: 'journal', label: 'Journal article' },
  { host: 'review', label: 'Review' },
  { host: 'news', label: 'News report' },
  { host: 'encyclopedia', label: 'Encyclopedia entry' },
  { host: 'institute', label: 'Institute briefing' },
  { host: 'data', label: 'Data portal' },
  { host: 'notes', label: 'Field notes' },
  { host: 'report', label: 'Industry report' },
];

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A URL path segment from free text: lower-case words joined by hyphens (at most six words). */
export function slugOf(text: string): string {
  const words = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9\s-]+/g, ' ')
    .split(/[\s-]+/)
    .filter(Boolean)
    .slice(0, 6);
  return words.length > 0 ? words.join('-') : 'page';
}

function titleCase(text: string): string {
  return text.replace(/(^|\s)([a-z])/g, (_, space: string, letter: string) => `${space}${letter.toUpperCase()}`);
}

/** A simulated URL for a phrase, on one of the simulated sites. */
export function simulatedUrl(phrase: string, site = 'reference'): string {
  return `https://${site}.${SIMULATED_WEB_DOMAIN}/${slugOf(phrase)}`;
}

/** An opaque, base64 token standing in for the API's encrypted fields. */
export function opaqueToken(...parts: string[]): string {
  return Buffer.from(`fanfold-sim:${parts.join('\u0000')}`, 'utf8').toString('base64');
}

/**
 * Whether a domain filter entry covers a URL, as the API matches them: no scheme, subdomains
 * included (`example.com` covers `docs.example.com`), and an optional path prefix
 * (`example.com/blog`).
 */
export function domainCovers(entry: string, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const cleaned = entry
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '');
  const slash = cleaned.indexOf('/');
  const domain = (slash === -1 ? cleaned : cleaned.slice(0, slash)).replace(/^\*\./, '').replace(/\.$/, '');
  const path = slash === -1 ? '' : cleaned.slice(slash);
  const host = parsed.hostname.toLowerCase();
  if (domain.length === 0 || (host !== domain && !host.endsWith(`.${domain}`))) return false;
  return path === '' || parsed.pathname.toLowerCase().startsWith(path);
}

/** Domain filters of a server tool (at most one of them is set). */
export interface DomainFilter {
  allowedDomains: readonly string[] | null;
  blockedDomains: readonly string[] | null;
}

/** Whether a URL passes a tool's `allowed_domains` / `blocked_domains`. */
export function urlAllowed(url: string, filter: DomainFilter): boolean {
  if (filter.allowedDomains && !filter.allowedDomains.some((entry) => domainCovers(entry, url))) return false;
  if (filter.blockedDomains?.some((entry) => domainCovers(entry, url))) return false;
  return true;
}

/**
 * The simulated search results for a query: 3–5 results on distinct simulated sites, seeded by
 * the query, then filtered by the tool's domain filters (a filter that excludes the simulated
 * domain leaves none: the simulator never invents URLs on real domains).
 */
export function searchResults(query: string, filter: DomainFilter): WebSearchResult[] {
  const random = new Random(hashString(`search\u0000${query}`));
  const phrase = keywords(query, 5).join(' ') || query.trim() || 'search';
  const count = 3 + random.int(3);
  const results: WebSearchResult[] = [];
  for (const [index, site] of random.shuffle(SITES).slice(0, count).entries()) {
    const url = `https://${site.host}.${SIMULATED_WEB_DOMAIN}/${slugOf(phrase)}${index === 0 ? '' : `-${index + 1}`}`;
    const title = `${SIMULATED_TITLE_PREFIX}${site.label}: ${titleCase(phrase)}`;
    const pageAge = `${MONTHS[random.int(12)]} ${1 + random.int(28)}, ${2023 + random.int(4)}`;
    results.push({ type: 'web_search_result', url, title, encrypted_content: opaqueToken(url, query), page_age: pageAge });
  }
  return results.filter((result) => urlAllowed(result.url, filter));
}

/** The title a simulated page has when nothing better is known (its URL path, title-cased). */
export function titleFromUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a URL: use it as text
  }
  const words = path
    .replace(/[-_/]+/g, ' ')
    .replace(/\s\d+$/, '')
    .trim();
  return `${SIMULATED_TITLE_PREFIX}${titleCase(words || 'Page')}`;
}

/**
 * The simulated page at a URL: a labelled notice, then paragraphs about the page's own topic
 * (its title, else its path). Seeded by the URL, so the same URL always reads the same.
 */
export function simulatedPage(url: string, title: string | null = null): SimulatedPage {
  const shown = title ?? titleFromUrl(url);
  // "[Simulated] Review: Topic" — the kind of page colours its prose, the topic fills it.
  const [, kind, topic] = /^(?:([^:]+):\s*)?(.*)$/.exec(shown.replace(SIMULATED_TITLE_PREFIX, '')) ?? [];
  const random = new Random(hashString(`page\u0000${url}`));
  const next = sentenceSource((topic || shown).toLowerCase(), (kind ?? 'reference').toLowerCase(), keywords(topic ?? shown, 4), random);
  const sentences = Array.from({ length: 8 }, next);
  const text = [`${shown}`, `This page was generated by the fanfold simulator; it is not real web content.`, sentences.slice(0, 4).join(' '), sentences.slice(4).join(' ')].join('\n\n');
  return { url, title: shown, text };
}

/** A short passage of a page to cite (one sentence of its body, at most 150 characters as the API's `cited_text`). */
export function citedPassage(page: SimulatedPage): string {
  const body = page.text.split('\n\n')[2] ?? page.text;
  const sentence = /^[\s\S]*?[.!?](?=\s|$)/.exec(body)?.[0] ?? body;
  return sentence.length <= 150 ? sentence : `${sentence.slice(0, 149)}…`;
}
