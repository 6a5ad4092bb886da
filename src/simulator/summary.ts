/**
 * Simulated summaries: "Summarise/Summarize" plus a document (`<document …>…</document>` or
 * text after "Document:") gets "[Simulated summary] " and the document's first sentences —
 * an extractive summary — within any word limit stated outside the document.
 */
import { clampWords, countWords, parseWordLimit, wordsOf, type WordLimit } from './words.ts';

/** The label a simulated summary starts with (two words). */
export const SUMMARY_LABEL = '[Simulated summary]';

/** Without a stated limit: up to 80 words of leading sentences. */
const DEFAULT_SUMMARY_LIMIT: WordLimit = { min: 1, max: 80, target: 60 };

export interface SummaryPrompt {
  document: string;
  /** The prompt with the document removed: where instructions (and word limits) live. */
  instructions: string;
}

/** `null` unless the prompt says summarise/summarize and carries a document. */
export function parseSummaryPrompt(text: string): SummaryPrompt | null {
  if (!/summari[sz]e/i.test(text)) return null;
  const tagged = /<document\b[^>]*>([\s\S]*?)(?:<\/document>|$)/i.exec(text);
  if (tagged) return { document: (tagged[1] ?? '').trim(), instructions: text.replace(tagged[0], ' ') };
  const labelled = /(?:^|\n)[ \t]*Document:[ \t]*([\s\S]+)$/i.exec(text);
  if (labelled) return { document: (labelled[1] ?? '').trim(), instructions: text.replace(labelled[0], ' ') };
  return null;
}

function sentencesOf(document: string): string[] {
  const flat = document.replace(/\s+/g, ' ').trim();
  return flat.length === 0 ? [] : flat.split(/(?<=[.!?])\s+(?=["“'([]?[\p{Lu}\p{N}])/u);
}

/** The extractive summary: leading sentences in order, the last one cut if the window needs it. */
export function summaryReply(prompt: SummaryPrompt): string {
  const limit = parseWordLimit(prompt.instructions) ?? DEFAULT_SUMMARY_LIMIT;
  const labelWords = countWords(SUMMARY_LABEL);
  const chosen: string[] = [];
  let total = labelWords;
  for (const sentence of sentencesOf(prompt.document)) {
    const words = countWords(sentence);
    if (total + words <= limit.max) {
      chosen.push(sentence);
      total += words;
      if (total >= limit.target) break;
      continue;
    }
    // The next sentence does not fit: take its head if we are still short of the minimum.
    const room = Math.min(limit.max, limit.target) - total;
    if (total < limit.min || chosen.length === 0) {
      if (room > 0) chosen.push(`${wordsOf(sentence).slice(0, room).join(' ')}…`);
    }
    break;
  }
  if (chosen.length === 0) return `${SUMMARY_LABEL} The document is empty.`;
  return clampWords(`${SUMMARY_LABEL} ${chosen.join(' ')}`, limit.max);
}
