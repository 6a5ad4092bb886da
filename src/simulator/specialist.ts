/**
 * Simulated specialist findings: a prompt shaped `Task: <topic>\n\nYour angle: <angle>\n\n…`
 * gets a labelled paragraph or two about that topic from that angle, within any word limit
 * the prompt states.
 */
import type { Random } from './random.ts';
import { fitSentences, parseWordLimit, type WordLimit } from './words.ts';
import { inlineLabel, keywords, subjectOf } from './vocab.ts';

/** The parts of a specialist prompt. */
export interface SpecialistPrompt {
  task: string;
  angle: string;
  instructions: string;
}

/** Reads `Task:` and `Your angle:` lines; `null` when the prompt is not specialist-shaped. */
export function parseSpecialistPrompt(text: string): SpecialistPrompt | null {
  const task = /^\s*Task:[ \t]*(.+)$/m.exec(text);
  const angle = /^\s*Your angle:[ \t]*(.+)$/m.exec(text);
  if (!task?.[1] || !angle?.[1]) return null;
  const after = text.slice((angle.index ?? 0) + angle[0].length).trim();
  return { task: task[1].trim(), angle: angle[1].trim(), instructions: after };
}

/** Used when a prompt states no limit: about 120 words. */
export const DEFAULT_FINDING_LIMIT: WordLimit = { min: 100, max: 140, target: 120 };

/**
 * Vocabulary typical of common angles, mixed with the topic's own words so findings from
 * different angles on one topic read differently (and a synthesis has distinct words to reuse).
 */
const ANGLE_TERMS: ReadonlyArray<[RegExp, readonly string[]]> = [
  [/histor|origin|past/i, ['early milestones', 'precedents', 'turning points', 'earlier attempts']],
  [/technic|engineer|mechanism|architecture/i, ['failure modes', 'manufacturing yield', 'performance limits', 'system integration']],
  [/econom|cost|market|financ|business/i, ['unit costs', 'market structure', 'capital requirements', 'pricing power']],
  [/societ|social|people|public|cultur/i, ['public trust', 'access', 'labour markets', 'everyday habits']],
  [/regulat|policy|legal|law|govern/i, ['standards', 'compliance costs', 'liability rules', 'permitting']],
  [/environment|climate|ecolog|sustainab/i, ['emissions', 'resource use', 'end-of-life waste', 'land use']],
  [/ethic|moral|fair/i, ['fairness', 'accountability', 'informed consent', 'the distribution of harms']],
  [/future|outlook|trend|forecast/i, ['adoption curves', 'leading indicators', 'plausible scenarios', 'timelines']],
  [/risk|failure|threat|secur/i, ['tail risks', 'single points of failure', 'early warnings', 'mitigations']],
  [/stakeholder|actor|player/i, ['incentives of each party', 'bargaining power', 'coalitions', 'conflicting interests']],
  [/geopolit|international|global|nation/i, ['supply chains', 'export controls', 'strategic dependence', 'alliances']],
  [/competit|landscape|rival|alternative/i, ['incumbents', 'substitutes', 'switching costs', 'differentiation']],
];

/** Terms typical of an angle (empty for an angle the simulator has no vocabulary for). */
export function angleTerms(angle: string): string[] {
  return ANGLE_TERMS.filter(([pattern]) => pattern.test(angle)).flatMap(([, terms]) => terms);
}

/** Generic nouns to talk about when the topic itself yields too few content words. */
const FALLBACK_TERMS = ['cost', 'adoption', 'reliability', 'incentives', 'governance', 'scale'];

const OPENINGS = [
  'Seen from the {A} angle, {S} turns on a small number of concrete factors.',
  'Looking at {S} through the {A} lens, a few points stand out.',
  'The {A} picture of {S} is more specific than it first appears.',
];

const BODY = [
  'The clearest {A} signal is how {K} interacts with {L}.',
  'Early accounts of {S} tended to underrate {K}, and that gap still shapes the debate.',
  'Evidence on {K} is uneven, so {A} conclusions here should be read as provisional.',
  'A practical implication is that anyone working on {S} should track {K} explicitly.',
  'Compared with other angles, the {A} view puts the trade-off between {K} and {L} in the foreground.',
  'The main open question is whether the case for {K} holds up as {S} matures.',
  'Two patterns recur: changes in {K} tend to come first, and shifts in {L} follow with a lag.',
  'Where sources disagree, it is usually about how much weight to give {K}.',
  'A useful test is to compare cases with more and less emphasis on {K}.',
  'From this angle the risks are concentrated around {K} rather than spread evenly.',
  'Concrete indicators worth watching include {K}, {L} and the cost of switching between them.',
  'None of this settles the question, but it narrows where the {A} uncertainty lies.',
  'Practitioners single out {K} as the part that is easiest to underestimate.',
  'The {A} record suggests that progress on {K} comes in steps rather than smoothly.',
  'In short, the {A} case rests on {K}, {L} and the constraints between them.',
  'Any recommendation should say how it would change if the evidence on {K} turned out weaker than assumed.',
];

/**
 * The templates' own filler words (minus the angle vocabulary): a synthesis leaves them out
 * when it picks a finding's key phrases, so it talks about the finding's substance.
 */
export const TEMPLATE_WORDS: ReadonlySet<string> = (() => {
  const vocabulary = new Set(ANGLE_TERMS.flatMap(([, terms]) => terms.join(' ').toLowerCase().split(/\s+/)));
  const words = [...OPENINGS, ...BODY]
    .join(' ')
    .replace(/\{[A-Z]\}/g, ' ')
    .toLowerCase()
    .split(/[^a-z-]+/)
    .filter((word) => word.length > 0 && !vocabulary.has(word));
  return new Set(words);
})();

/** An endless, deterministic sequence of sentences about `subject` from `angle`. */
export function sentenceSource(subject: string, angle: string, terms: readonly string[], random: Random): () => string {
  const pool = terms.length >= 2 ? terms : [...terms, ...FALLBACK_TERMS.filter((term) => !terms.includes(term))];
  const fill = (template: string): string => {
    const k = random.pick(pool);
    const others = pool.filter((term) => term !== k);
    const l = others.length > 0 ? random.pick(others) : k;
    return template.replaceAll('{S}', subject).replaceAll('{A}', angle).replaceAll('{K}', k).replaceAll('{L}', l);
  };
  let first = true;
  let queue: string[] = [];
  let last: string | undefined;
  return () => {
    if (first) {
      first = false;
      return fill(random.pick(OPENINGS));
    }
    if (queue.length === 0) {
      queue = random.shuffle(BODY);
      // Never the same template twice in a row across a reshuffle.
      if (queue[0] === last) queue.push(queue.shift() as string);
    }
    last = queue[0];
    return fill(queue.shift() as string);
  };
}

/** Sentences grouped into paragraphs of about four. */
export function paragraphs(sentences: readonly string[]): string {
  if (sentences.length <= 5) return sentences.join(' ');
  const groups: string[] = [];
  const size = Math.ceil(sentences.length / Math.ceil(sentences.length / 4));
  for (let i = 0; i < sentences.length; i += size) groups.push(sentences.slice(i, i + size).join(' '));
  return groups.join('\n\n');
}

/** The label every simulated finding starts with. */
export const SIMULATED_LABEL = '[Simulated]';

/**
 * A simulated finding: "[Simulated] " then sentences mixing the topic's words and the angle,
 * sized to the word limit found in `fullPrompt` (system + user text), else about 120 words.
 */
export function specialistReply(prompt: SpecialistPrompt, fullPrompt: string, random: Random): string {
  const limit = parseWordLimit(fullPrompt) ?? DEFAULT_FINDING_LIMIT;
  const subject = subjectOf(prompt.task);
  // Terms come from the task and the angle, not the instructions: those are about form ("150-200 words").
  const terms = [...keywords(prompt.task, 4), ...angleTerms(prompt.angle)];
  const next = sentenceSource(subject, inlineLabel(prompt.angle), terms, random);
  const sentences = fitSentences(next, limit, 1);
  return `${SIMULATED_LABEL} ${paragraphs(sentences)}`;
}
