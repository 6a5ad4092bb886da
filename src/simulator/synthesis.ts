/**
 * Simulated syntheses: a prompt with `<finding specialist="id" angle="Angle">…</finding>`
 * blocks and a "Missing angles" list gets one `## <Angle>` section per finding (reusing that
 * finding's words), then `## Cross-cutting synthesis`, which names every missing angle as a gap.
 * When findings cite sources (URLs), each section names its sources by number and a closing
 * `## Sources` section lists every distinct URL with its title and the findings that cite it.
 *
 * Weighted prompts (`<finding … weight="0.82" confidence="0.90" sources="4" …>`, highest first)
 * get the same sections in the order given, and a cross-cutting sentence saying which finding
 * the synthesis follows where the highest- and lowest-weighted ones differ.
 *
 * A streaming fold splits the same answer in parts (src/prompts.ts): a digest request
 * ({@link DIGEST_OPENING}, one finding) gets that finding's section alone, labelled, citing its
 * sources inline by title and URL (numbers are global, so they wait for the end); a closing
 * request ({@link CLOSING_OPENING}: the sections written so far as `<section …>` blocks, the
 * findings still being digested, the missing angles) gets only the cross-cutting section and
 * the numbered `## Sources` of every section and finding.
 */
import { CLOSING_OPENING, DIGEST_OPENING } from '../prompts.ts';
import type { Random } from './random.ts';
import { SIMULATED_LABEL, TEMPLATE_WORDS } from './specialist.ts';
import { headWords, inlineLabel, keyPhrases, subjectOf } from './vocab.ts';
import { stripNarration } from './narration.ts';
import { URL_IN_TEXT } from './web.ts';

export interface Finding {
  id: string;
  angle: string;
  text: string;
  /** Weighted prompts: the finding's weight, 0–1 (absent: unweighted). */
  weight?: number;
  /** Weighted prompts: its reported confidence; `null` for `confidence="unreported"`. */
  confidence?: number | null;
  /** Weighted prompts: how many distinct sources it rests on (the `sources` attribute). */
  sourceCount?: number;
}

export interface MissingAngle {
  id: string;
  angle: string;
  reason: string;
}

/** Which part of a fold a prompt asks for: the whole synthesis, one finding's digest, or a streaming fold's closing part. */
export type FoldPart = 'synthesis' | 'digest' | 'closing';

export interface SynthesisPrompt {
  task: string | null;
  /** `<finding …>` blocks, in prompt order (for a closing request: the findings not digested yet). */
  findings: Finding[];
  missing: MissingAngle[];
  /** A closing request's sections already written (`<section …>` blocks), in prompt order. Default: none. */
  sections?: Finding[];
  /** Default: `synthesis`. */
  part?: FoldPart;
}

function attribute(attributes: string, name: string): string | null {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(attributes);
  return match?.[1] ?? null;
}

/** A number attribute; `undefined` when absent or not a number. */
function numberAttribute(attributes: string, name: string): number | undefined {
  const value = attribute(attributes, name);
  if (value === null || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** The `<tag …>…</tag>` blocks of a prompt as findings, with the weights' metadata when they carry it. */
function blocksOf(text: string, tag: 'finding' | 'section'): Finding[] {
  const blocks: Finding[] = [];
  for (const match of text.matchAll(new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)<\\/${tag}>`, 'g'))) {
    const attributes = match[1] ?? '';
    // A section is fanfold's only with a specialist: an HTML <section> in a document to summarise is not.
    if (tag === 'section' && attribute(attributes, 'specialist') === null) continue;
    const id = attribute(attributes, 'specialist') ?? attribute(attributes, 'id') ?? `${tag}-${blocks.length + 1}`;
    const block: Finding = { id, angle: attribute(attributes, 'angle') ?? id, text: (match[2] ?? '').trim() };
    const weight = numberAttribute(attributes, 'weight');
    if (weight !== undefined) block.weight = weight;
    const confidence = attribute(attributes, 'confidence') === 'unreported' ? null : numberAttribute(attributes, 'confidence');
    if (confidence !== undefined) block.confidence = confidence;
    const sources = numberAttribute(attributes, 'sources');
    if (sources !== undefined) block.sourceCount = sources;
    blocks.push(block);
  }
  return blocks;
}

/**
 * Reads the findings (with their weights and metadata when given), a closing request's sections,
 * and the missing-angle list; `null` unless the prompt has at least one finding or section
 * block or a line starting "Missing angles". The part is `digest` or `closing` when the prompt
 * holds that request's opening line (src/prompts.ts), else `synthesis`.
 */
export function parseSynthesisPrompt(text: string): SynthesisPrompt | null {
  const findings = blocksOf(text, 'finding');
  const sections = blocksOf(text, 'section');
  const lines = text.split('\n');
  const heading = lines.findIndex((line) => /^\s*Missing angles\b/i.test(line));
  if (findings.length === 0 && sections.length === 0 && heading === -1) return null;

  const missing: MissingAngle[] = [];
  if (heading !== -1) {
    for (const line of lines.slice(heading + 1)) {
      if (line.trim() === '') {
        if (missing.length > 0) break;
        continue;
      }
      const item = /^\s*[-*•]\s*([^\s(]+)\s*\(\s*"([^"]*)"\s*\)\s*:?\s*(.*)$/.exec(line);
      if (!item) break;
      missing.push({ id: item[1] ?? '', angle: item[2] ?? '', reason: (item[3] ?? '').trim() });
    }
  }
  const task = /^\s*Task:[ \t]*(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const part: FoldPart = text.includes(DIGEST_OPENING) ? 'digest' : text.includes(CLOSING_OPENING) ? 'closing' : 'synthesis';
  return { task, findings, missing, sections, part };
}

/** A source a finding cites: a URL, with its title when the finding gives one. */
export interface CitedSource {
  url: string;
  title: string | null;
}

/**
 * The sources a finding cites, in order of first mention, without duplicates: entries of a
 * `Sources:` list (`[1] Title — url; [2] …`), Markdown links (`[Title](url)`), and any other URL
 * (untitled).
 */
export function sourcesOf(text: string): CitedSource[] {
  const sources: CitedSource[] = [];
  const add = (url: string, title: string | null): void => {
    const existing = sources.find((source) => source.url === url);
    if (!existing) sources.push({ url, title });
    else existing.title ??= title;
  };
  for (const line of text.matchAll(/\bSources?:[ \t]*(.+)$/gm)) {
    for (const entry of (line[1] ?? '').split(/;\s*/)) {
      const titled = /^(?:\[\d+\]\s*)?(.*?)\s+[—–-]\s+(https?:\/\/\S+?)[.,]?$/.exec(entry.trim());
      if (titled?.[2]) add(titled[2], titled[1]?.trim() || null);
    }
  }
  for (const link of text.matchAll(/\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g)) if (link[2]) add(link[2], link[1] ?? null);
  for (const match of text.matchAll(URL_IN_TEXT)) add(match[0], null);
  return sources;
}

/**
 * A finding's text without the simulator's own labels and tool narration, so they are not
 * quoted back (nor its source list and URLs: the Sources section has them).
 */
function stripLabels(text: string): string {
  const narrated = stripNarration(text);
  const body = narrated.match(URL_IN_TEXT) !== null ? narrated.replace(/\bSources?:.*$/gm, '').replace(URL_IN_TEXT, '') : narrated;
  return body.replace(/\[Simulated[^\]]*\]\s*/g, '').trim();
}

function firstSentence(text: string): string {
  const match = /^[\s\S]*?[.!?](?=\s|$)/.exec(text);
  return (match?.[0] ?? text).trim();
}

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Template filler plus the words of an angle label: not what a finding is about. */
function withoutLabel(...labels: string[]): Set<string> {
  const exclude = new Set(TEMPLATE_WORDS);
  for (const word of labels
    .join(' ')
    .toLowerCase()
    .split(/[^\p{L}\p{N}-]+/u))
    if (word) exclude.add(word);
  return exclude;
}

/**
 * A section's sentences as templates (filled in {@link fillSection}): kept as data so a closing
 * request can tell a written section's filler words from what it says.
 */
const SECTION_OPENING = 'The {A} finding ({ID}) centres on {K1} and {K2}.';
const SECTION_OPTIONAL = [
  'It gives {K3} more weight than a first look at {S} would.',
  'Its strongest point concerns {K3}; its weakest is how little it says about {K4}.',
  'It links {K2} to {K4}, which the other angles below pick up in different ways.',
  'Read alongside the other findings, its emphasis on {K1} is distinctive.',
];
const SECTION_QUOTE = 'In its own words: "{Q}"';
const SECTION_CITES = 'It cites {C}.';

/** The words of the section templates: filler when a written section is read back. */
const SECTION_WORDS: ReadonlySet<string> = new Set(
  [SECTION_OPENING, ...SECTION_OPTIONAL, SECTION_QUOTE, SECTION_CITES]
    .join(' ')
    .replace(/\{\w+\}/g, ' ')
    .toLowerCase()
    .split(/[^a-z-]+/)
    .filter((word) => word.length > 0),
);

/** A template with its `{NAME}` slots filled (in one pass, so a value holding braces is left alone). */
function fillSection(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (slot, name: string) => values[name] ?? slot);
}

/** A finding's section sentences, before any citation: what it centres on, two remarks, a quote. */
function sectionSentences(finding: Finding, task: string, subject: string, random: Random): string[] {
  const body = stripLabels(finding.text);
  // Prefer what this finding adds over the words of the task every finding repeats.
  const terms = keyPhrases(body, 4, withoutLabel(finding.angle, task));
  for (const term of keyPhrases(body, 4, withoutLabel(finding.angle))) if (terms.length < 4 && !terms.includes(term)) terms.push(term);
  while (terms.length < 4) terms.push(['evidence', 'trade-offs', 'constraints', 'outcomes'][terms.length] as string);
  const [k1, k2, k3, k4] = terms as [string, string, string, string];
  const values = { A: inlineLabel(finding.angle), ID: finding.id, S: subject, K1: k1, K2: k2, K3: k3, K4: k4 };
  const sentences = [fillSection(SECTION_OPENING, values)];
  sentences.push(
    ...random
      .shuffle(SECTION_OPTIONAL)
      .slice(0, 2)
      .map((template) => fillSection(template, values)),
  );
  const quote = headWords(firstSentence(body), 14);
  if (quote.length > 0) sentences.push(fillSection(SECTION_QUOTE, { Q: quote }));
  return sentences;
}

/** A batch synthesis's section: it cites its sources by their number in the Sources section. */
function findingSection(finding: Finding, task: string, subject: string, random: Random, cites: readonly number[]): string {
  const sentences = sectionSentences(finding, task, subject, random);
  if (cites.length > 0) sentences.push(fillSection(SECTION_CITES, { C: listOf(cites.map((number) => `[${number}]`)) }));
  return `## ${finding.angle}\n\n${sentences.join(' ')}`;
}

/**
 * A digest's section: labelled (it is sent on its own), citing its sources inline as
 * `"Title" (url)` — numbers are global, so only the closing part can give them.
 */
function digestSection(finding: Finding, task: string, subject: string, random: Random): string {
  const sentences = sectionSentences(finding, task, subject, random);
  const sources = sourcesOf(finding.text);
  if (sources.length > 0) sentences.push(fillSection(SECTION_CITES, { C: listOf(sources.map((source) => (source.title ? `"${source.title}" (${source.url})` : source.url))) }));
  return `## ${finding.angle}\n\n${SIMULATED_LABEL} ${sentences.join(' ')}`;
}

const weightOf = (finding: Finding): string => (finding.weight ?? 0).toFixed(2);

/** "confidence 0.90 and 4 sources"; `null` when the prompt gave neither. */
function supportOf(finding: Finding): string | null {
  if (finding.confidence === undefined && finding.sourceCount === undefined) return null;
  const parts: string[] = [];
  if (finding.confidence !== undefined) parts.push(finding.confidence === null ? 'unreported confidence' : `confidence ${finding.confidence.toFixed(2)}`);
  if (finding.sourceCount !== undefined) parts.push(`${finding.sourceCount} source${finding.sourceCount === 1 ? '' : 's'}`);
  return parts.join(' and ');
}

/**
 * With weights, which finding the synthesis follows where they differ: the highest-weighted
 * against the lowest (the first and last of a prompt ordered by weight); `null` with fewer than
 * two weighted findings.
 */
function favouring(findings: readonly Finding[]): string | null {
  const weighed = findings.filter((finding) => finding.weight !== undefined);
  const first = weighed[0];
  if (first === undefined || weighed.length < 2) return null;
  let top = first;
  let bottom = first;
  for (const finding of weighed) {
    if ((finding.weight ?? 0) > (top.weight ?? 0)) top = finding;
    if ((finding.weight ?? 0) <= (bottom.weight ?? 0)) bottom = finding;
  }
  if (top === bottom || top.weight === bottom.weight) {
    return weighed.length === 2
      ? `Both findings carry the same weight (${weightOf(top)}), so where they differ this synthesis favours neither.`
      : `All ${weighed.length} findings carry the same weight (${weightOf(top)}), so where they differ this synthesis favours none of them.`;
  }
  const [better, worse] = [supportOf(top), supportOf(bottom)];
  const why = better !== null && worse !== null ? ` (${better}, against ${worse})` : '';
  return (
    `Where the ${inlineLabel(top.angle)} (weight ${weightOf(top)}) and ${inlineLabel(bottom.angle)} (weight ${weightOf(bottom)}) findings differ, ` +
    `this synthesis follows the ${inlineLabel(top.angle)} finding, which is better supported${why}.`
  );
}

/**
 * The cross-cutting section: where the angles meet, which finding it follows (with weights),
 * and every missing angle as a gap. `filler`: more words that are not substance (a closing
 * request's sections are written in the section templates' words).
 */
function crossCutting(findings: readonly Finding[], missing: readonly MissingAngle[], subject: string, random: Random, filler: ReadonlySet<string> = new Set()): string {
  const sentences: string[] = [];
  const exclude = withoutLabel(...findings.map((finding) => finding.angle));
  for (const word of filler) exclude.add(word);
  const shared = keyPhrases(findings.map((finding) => stripLabels(finding.text)).join('\n'), 3, exclude);
  if (findings.length === 0) {
    sentences.push('No specialist finding was available, so there is nothing to synthesise yet.');
  } else if (findings.length === 1) {
    sentences.push(`With a single finding, the synthesis rests entirely on the ${inlineLabel(findings[0]?.angle ?? '')} view.`);
  } else {
    const [a, b] = random.shuffle(findings).slice(0, 2) as [Finding, Finding];
    sentences.push(
      `Across ${findings.length} findings, the ${inlineLabel(a.angle)} and ${inlineLabel(b.angle)} angles agree on the importance of ${shared[0] ?? 'the evidence'}, while weighing ${shared[1] ?? 'the trade-offs'} differently.`,
    );
  }
  const favoured = favouring(findings);
  if (favoured !== null) sentences.push(favoured);
  if (findings.length > 0) {
    sentences.push(`Taken together, ${subject} looks less like a single problem than a set of trade-offs around ${listOf(shared.length > 0 ? shared : ['cost', 'risk', 'timing'])}.`);
  }
  if (missing.length === 0) {
    sentences.push('No angle is missing: every specialist reported.');
  } else {
    const gaps = missing.map((gap) => `the ${gap.angle} angle (${gap.id}${gap.reason ? `: ${gap.reason}` : ''})`);
    sentences.push(`Gaps: this synthesis has no input on ${listOf(gaps)}. Conclusions that depend on ${missing.length === 1 ? 'that angle' : 'those angles'} should be treated as open.`);
  }
  return `## Cross-cutting synthesis\n\n${sentences.join(' ')}`;
}

type ListedSource = CitedSource & { citedBy: string[] };

/** Every distinct source across the findings, numbered in order of first citation, with who cites it. */
function collectSources(citing: ReadonlyArray<{ id: string; sources: readonly CitedSource[] }>): { list: ListedSource[]; byFinding: number[][] } {
  const list: ListedSource[] = [];
  const byFinding = citing.map(({ id, sources }) =>
    sources.map((source) => {
      let at = list.findIndex((known) => known.url === source.url);
      if (at === -1) at = list.push({ ...source, citedBy: [] }) - 1;
      const known = list[at] as ListedSource;
      known.title ??= source.title;
      if (!known.citedBy.includes(id)) known.citedBy.push(id);
      return at + 1;
    }),
  );
  return { list, byFinding };
}

function sourcesSection(list: readonly ListedSource[]): string {
  const lines = list.map((source, index) => `${index + 1}. ${source.title ? `${source.title} — ` : ''}${source.url} (cited by ${source.citedBy.join(', ')})`);
  return `## Sources\n\n${lines.join('\n')}`;
}

/** A digest's inline citation: `"Title" (url)`. Global, for `matchAll` and `replace`. */
const INLINE_CITATION = /"([^"\n]+)"\s*\((https?:\/\/[^\s()]+)\)/g;

/** The sources a written section cites: its inline `"Title" (url)` citations, then what {@link sourcesOf} finds. */
function sectionSourcesOf(text: string): CitedSource[] {
  const sources: CitedSource[] = [];
  for (const match of text.matchAll(INLINE_CITATION)) {
    const [, title, url] = match;
    if (url !== undefined && !sources.some((source) => source.url === url)) sources.push({ url, title: title ?? null });
  }
  for (const source of sourcesOf(text)) {
    const known = sources.find((other) => other.url === source.url);
    if (known) known.title ??= source.title;
    else sources.push(source);
  }
  return sources;
}

/** What a written section says, for key phrases: no heading, no citations. */
function sectionSubstance(text: string): string {
  return text
    .replace(/^#+ .*$/gm, '')
    .replace(INLINE_CITATION, '')
    .trim();
}

/**
 * The simulated synthesis: a label line, one section per finding, then the cross-cutting one,
 * then (when findings cite URLs) `## Sources`.
 */
export function synthesisReply(prompt: SynthesisPrompt, random: Random): string {
  const subject = prompt.task ? subjectOf(prompt.task) : 'the task';
  const sources = collectSources(prompt.findings.map((finding) => ({ id: finding.id, sources: sourcesOf(finding.text) })));
  const sections = prompt.findings.map((finding, index) => findingSection(finding, prompt.task ?? '', subject, random, sources.byFinding[index] ?? []));
  sections.push(crossCutting(prompt.findings, prompt.missing, subject, random));
  if (sources.list.length > 0) sections.push(sourcesSection(sources.list));
  return [`${SIMULATED_LABEL} Synthesis generated locally by the fanfold simulator, not by a model.`, ...sections].join('\n\n');
}

/**
 * A streaming fold's digest: the section of its finding (of each, should a prompt hold more),
 * as a batch synthesis would write it, but labelled and citing by title and URL. A digest
 * request without a finding gets a synthesis of what it has.
 */
export function digestReply(prompt: SynthesisPrompt, random: Random): string {
  if (prompt.findings.length === 0) return synthesisReply(prompt, random);
  const subject = prompt.task ? subjectOf(prompt.task) : 'the task';
  return prompt.findings.map((finding) => digestSection(finding, prompt.task ?? '', subject, random)).join('\n\n');
}

/**
 * A streaming fold's closing part: only `## Cross-cutting synthesis` over every angle (the
 * sections written, then the findings still being digested) and, when any cites a URL,
 * `## Sources` numbered in that order. No label line: the digests carry it.
 */
export function closingReply(prompt: SynthesisPrompt, random: Random): string {
  const subject = prompt.task ? subjectOf(prompt.task) : 'the task';
  const sections = prompt.sections ?? [];
  const angles = [...sections.map((section) => ({ ...section, text: sectionSubstance(section.text) })), ...prompt.findings];
  const parts = [crossCutting(angles, prompt.missing, subject, random, SECTION_WORDS)];
  const sources = collectSources([
    ...sections.map((section) => ({ id: section.id, sources: sectionSourcesOf(section.text) })),
    ...prompt.findings.map((finding) => ({ id: finding.id, sources: sourcesOf(finding.text) })),
  ]);
  if (sources.list.length > 0) parts.push(sourcesSection(sources.list));
  return parts.join('\n\n');
}
