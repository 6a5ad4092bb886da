/**
 * Simulated syntheses: a prompt with `<finding specialist="id" angle="Angle">…</finding>`
 * blocks and a "Missing angles" list gets one `## <Angle>` section per finding (reusing that
 * finding's words), then `## Cross-cutting synthesis`, which names every missing angle as a gap.
 * When findings cite sources (URLs), each section names its sources by number and a closing
 * `## Sources` section lists every distinct URL with its title and the findings that cite it.
 */
import type { Random } from './random.ts';
import { SIMULATED_LABEL, TEMPLATE_WORDS } from './specialist.ts';
import { headWords, inlineLabel, keyPhrases, subjectOf } from './vocab.ts';
import { stripNarration } from './narration.ts';
import { URL_IN_TEXT } from './web.ts';

export interface Finding {
  id: string;
  angle: string;
  text: string;
}

export interface MissingAngle {
  id: string;
  angle: string;
  reason: string;
}

export interface SynthesisPrompt {
  task: string | null;
  findings: Finding[];
  missing: MissingAngle[];
}

function attribute(attributes: string, name: string): string | null {
  const match = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(attributes);
  return match?.[1] ?? null;
}

/**
 * Reads the findings and the missing-angle list; `null` unless the prompt has at least one
 * finding block or a line starting "Missing angles".
 */
export function parseSynthesisPrompt(text: string): SynthesisPrompt | null {
  const findings: Finding[] = [];
  for (const match of text.matchAll(/<finding\b([^>]*)>([\s\S]*?)<\/finding>/g)) {
    const attributes = match[1] ?? '';
    const id = attribute(attributes, 'specialist') ?? attribute(attributes, 'id') ?? `finding-${findings.length + 1}`;
    findings.push({ id, angle: attribute(attributes, 'angle') ?? id, text: (match[2] ?? '').trim() });
  }
  const lines = text.split('\n');
  const heading = lines.findIndex((line) => /^\s*Missing angles\b/i.test(line));
  if (findings.length === 0 && heading === -1) return null;

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
  return { task, findings, missing };
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
  for (const word of labels.join(' ').toLowerCase().split(/[^\p{L}\p{N}-]+/u)) if (word) exclude.add(word);
  return exclude;
}

function findingSection(finding: Finding, task: string, subject: string, random: Random, cites: readonly number[]): string {
  const body = stripLabels(finding.text);
  // Prefer what this finding adds over the words of the task every finding repeats.
  const terms = keyPhrases(body, 4, withoutLabel(finding.angle, task));
  for (const term of keyPhrases(body, 4, withoutLabel(finding.angle))) if (terms.length < 4 && !terms.includes(term)) terms.push(term);
  while (terms.length < 4) terms.push(['evidence', 'trade-offs', 'constraints', 'outcomes'][terms.length] as string);
  const [k1, k2, k3, k4] = terms as [string, string, string, string];
  const sentences = [`The ${inlineLabel(finding.angle)} finding (${finding.id}) centres on ${k1} and ${k2}.`];
  const optional = [
    `It gives ${k3} more weight than a first look at ${subject} would.`,
    `Its strongest point concerns ${k3}; its weakest is how little it says about ${k4}.`,
    `It links ${k2} to ${k4}, which the other angles below pick up in different ways.`,
    `Read alongside the other findings, its emphasis on ${k1} is distinctive.`,
  ];
  sentences.push(...random.shuffle(optional).slice(0, 2));
  const quote = headWords(firstSentence(body), 14);
  if (quote.length > 0) sentences.push(`In its own words: "${quote}"`);
  if (cites.length > 0) sentences.push(`It cites ${listOf(cites.map((number) => `[${number}]`))}.`);
  return `## ${finding.angle}\n\n${sentences.join(' ')}`;
}

function crossCutting(prompt: SynthesisPrompt, subject: string, random: Random): string {
  const { findings, missing } = prompt;
  const sentences: string[] = [];
  const shared = keyPhrases(
    findings.map((finding) => stripLabels(finding.text)).join('\n'),
    3,
    withoutLabel(...findings.map((finding) => finding.angle)),
  );
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
  if (findings.length > 0) {
    sentences.push(
      `Taken together, ${subject} looks less like a single problem than a set of trade-offs around ${listOf(shared.length > 0 ? shared : ['cost', 'risk', 'timing'])}.`,
    );
  }
  if (missing.length === 0) {
    sentences.push('No angle is missing: every specialist reported.');
  } else {
    const gaps = missing.map((gap) => `the ${gap.angle} angle (${gap.id}${gap.reason ? `: ${gap.reason}` : ''})`);
    sentences.push(
      `Gaps: this synthesis has no input on ${listOf(gaps)}. Conclusions that depend on ${missing.length === 1 ? 'that angle' : 'those angles'} should be treated as open.`,
    );
  }
  return `## Cross-cutting synthesis\n\n${sentences.join(' ')}`;
}

/** Every distinct source across the findings, numbered in order of first citation, with who cites it. */
function collectSources(findings: readonly Finding[]): { list: Array<CitedSource & { citedBy: string[] }>; byFinding: number[][] } {
  const list: Array<CitedSource & { citedBy: string[] }> = [];
  const byFinding = findings.map((finding) =>
    sourcesOf(finding.text).map((source) => {
      let at = list.findIndex((known) => known.url === source.url);
      if (at === -1) at = list.push({ ...source, citedBy: [] }) - 1;
      const known = list[at] as CitedSource & { citedBy: string[] };
      known.title ??= source.title;
      if (!known.citedBy.includes(finding.id)) known.citedBy.push(finding.id);
      return at + 1;
    }),
  );
  return { list, byFinding };
}

/**
 * The simulated synthesis: a label line, one section per finding, then the cross-cutting one,
 * then (when findings cite URLs) `## Sources`.
 */
export function synthesisReply(prompt: SynthesisPrompt, random: Random): string {
  const subject = prompt.task ? subjectOf(prompt.task) : 'the task';
  const sources = collectSources(prompt.findings);
  const sections = prompt.findings.map((finding, index) => findingSection(finding, prompt.task ?? '', subject, random, sources.byFinding[index] ?? []));
  sections.push(crossCutting(prompt, subject, random));
  if (sources.list.length > 0) {
    const lines = sources.list.map((source, index) => `${index + 1}. ${source.title ? `${source.title} — ` : ''}${source.url} (cited by ${source.citedBy.join(', ')})`);
    sections.push(`## Sources\n\n${lines.join('\n')}`);
  }
  return [`${SIMULATED_LABEL} Synthesis generated locally by the fanfold simulator, not by a model.`, ...sections].join('\n\n');
}
