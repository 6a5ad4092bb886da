/**
 * Word counts and word limits: the simulator reads limits like "150-200 words" or "at most 80
 * words" from the prompt and builds replies whose word count falls inside them.
 */

/** An inclusive word-count window and the count the simulator aims for inside it. */
export interface WordLimit {
  min: number;
  max: number;
  target: number;
}

/** Words in `text`: runs of non-whitespace (so "[Simulated]" and "##" count as words). */
export function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed.length === 0 ? 0 : trimmed.split(/\s+/).length;
}

/** The words of `text`, split on whitespace. */
export function wordsOf(text: string): string[] {
  const trimmed = text.trim();
  return trimmed.length === 0 ? [] : trimmed.split(/\s+/);
}

const N = '(\\d{1,5})';
const WORDS = '\\s*words?\\b';

function window(min: number, max: number, target?: number): WordLimit {
  const lo = Math.max(1, Math.min(min, max));
  const hi = Math.max(lo, Math.max(min, max));
  return { min: lo, max: hi, target: Math.min(hi, Math.max(lo, target ?? Math.round((lo + hi) / 2))) };
}

/** Upper bound only: aim a little under it, and never produce a stub. */
function upTo(max: number): WordLimit {
  return window(Math.max(1, Math.floor(max * 0.6)), max, Math.round(max * 0.85));
}

/** Rules in priority order; the first that matches anywhere in the text wins. */
const RULES: ReadonlyArray<{ pattern: RegExp; limit: (a: number, b: number) => WordLimit }> = [
  { pattern: new RegExp(`between\\s+${N}\\s+and\\s+${N}${WORDS}`, 'i'), limit: (a, b) => window(a, b) },
  { pattern: new RegExp(`${N}\\s*(?:-|–|—|to)\\s*${N}${WORDS}`, 'i'), limit: (a, b) => window(a, b) },
  { pattern: new RegExp(`exactly\\s+${N}${WORDS}`, 'i'), limit: (a) => window(a, a) },
  {
    pattern: new RegExp(`(?:at most|no more than|not more than|(?:a )?maximum of|max\\.?|up to|within|no longer than)\\s+${N}${WORDS}`, 'i'),
    limit: (a) => upTo(a),
  },
  { pattern: new RegExp(`(?:under|fewer than|less than|below|shorter than)\\s+${N}${WORDS}`, 'i'), limit: (a) => upTo(a - 1) },
  {
    pattern: new RegExp(`(?:at least|no fewer than|no less than|(?:a )?minimum of)\\s+${N}${WORDS}`, 'i'),
    limit: (a) => window(a, Math.ceil(a * 1.5), Math.round(a * 1.2)),
  },
  { pattern: new RegExp(`(?:more than|over)\\s+${N}${WORDS}`, 'i'), limit: (a) => window(a + 1, Math.ceil(a * 1.5), Math.round(a * 1.2)) },
  {
    pattern: new RegExp(`(?:about|around|roughly|approximately|circa|some|~)\\s*${N}${WORDS}`, 'i'),
    limit: (a) => window(Math.floor(a * 0.9), Math.ceil(a * 1.1), a),
  },
  { pattern: new RegExp(`${N}-word\\b`, 'i'), limit: (a) => window(Math.floor(a * 0.9), Math.ceil(a * 1.1), a) },
  { pattern: new RegExp(`\\b(?:in|write|of)\\s+${N}${WORDS}`, 'i'), limit: (a) => window(Math.floor(a * 0.9), Math.ceil(a * 1.1), a) },
];

/**
 * The word limit a prompt asks for, or `null`. Understands ranges ("150-200 words",
 * "150–200 words", "150 to 200 words", "between 150 and 200 words"), upper bounds ("at most N",
 * "no more than N", "up to N", "under N" / "fewer than N" — exclusive), lower bounds
 * ("at least N") and targets ("about N words", "a 200-word summary", "exactly N words").
 */
export function parseWordLimit(text: string): WordLimit | null {
  for (const { pattern, limit } of RULES) {
    const match = pattern.exec(text);
    if (match) return limit(Number(match[1]), Number(match[2] ?? match[1]));
  }
  return null;
}

/** Short complete sentences of one to eight words, for topping up a reply to a narrow window. */
const FILLERS: readonly string[] = [
  'Promising.',
  'Caveats apply.',
  'Timing matters here.',
  'Early data is mixed.',
  'Much depends on careful execution.',
  'Local conditions matter a great deal.',
  'The picture is still changing quite quickly.',
  'Evidence from practice is still thin and uneven.',
];

/**
 * Picks sentences from `next()` (an endless deterministic source) until the word count — with
 * `fixedWords` already spent on labels and headings — reaches the target without passing the
 * maximum. Sentences that would overshoot are skipped; if the window is too narrow for whole
 * sentences, short filler sentences top it up to the minimum. The result always lands inside
 * [min, max] when `fixedWords` < min.
 */
export function fitSentences(next: () => string, limit: WordLimit, fixedWords = 0): string[] {
  const chosen: string[] = [];
  let total = fixedWords;
  for (let attempts = 0; total < limit.target && attempts < 200; attempts++) {
    const sentence = next();
    const words = countWords(sentence);
    if (total + words <= limit.max) {
      chosen.push(sentence);
      total += words;
    }
  }
  // A narrow window: top up with the longest fillers that fit (every length 1–8 exists).
  while (total < limit.min) {
    const room = limit.min - total;
    const filler = FILLERS.filter((sentence) => countWords(sentence) <= room).at(-1) as string;
    chosen.push(filler);
    total += countWords(filler);
  }
  return chosen;
}

/** Cuts `text` to at most `max` words (keeping its line structure intact up to the cut). */
export function clampWords(text: string, max: number): string {
  if (countWords(text) <= max) return text;
  let seen = 0;
  const pattern = /\S+/g;
  let end = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (seen === max) break;
    seen++;
    end = match.index + match[0].length;
  }
  const cut = text.slice(0, end);
  return /[.!?…]$/.test(cut) ? cut : `${cut.replace(/[,;:—–-]+$/, '')}…`;
}
