/**
 * Picking content words out of prompts and findings, so simulated text can talk about the
 * request's own topic (and a synthesis can reuse each finding's words).
 */

const STOPWORDS = new Set(
  (
    'a about above after again against all also an and any are as at be because been before being below between both but by can ' +
    'could did do does doing down during each few for from further had has have having here how however if in into is it its ' +
    'itself just more most must no nor not now of off on once only or other our out over own same should so some such than that ' +
    'the their them then there these they this those through to too under until up upon very was we were what when where which ' +
    'while who whom why will with would you your yours into onto within without across among per via may might shall likely ' +
    'one two three four five six seven eight nine ten many much even still yet ever every another each angle task simulated ' +
    'specialist specialists finding findings answer instructions concise concrete words word cover given team parallel rest ' +
    'write report assess analyse analyze explain describe evaluate investigate examine explore discuss review compare ' +
    'summarise summarize research study consider outline identify focus depends means makes using used based'
  ).split(/\s+/),
);

/** Imperative verbs a task often starts with; dropped when turning a task into a noun phrase. */
const LEADING_VERBS =
  /^(?:please\s+)?(?:assess|analy[sz]e|explain|describe|evaluate|investigate|examine|explore|discuss|review|compare|summari[sz]e|research|study|consider|outline|identify|write about|report on|look into)\s+/i;

/**
 * The content words of `text`, most frequent first (ties in first-seen order), without
 * duplicates, stopwords or any word in `exclude` (lower case).
 */
export function keywords(text: string, limit = 6, exclude: ReadonlySet<string> = new Set()): string[] {
  const counts = new Map<string, { word: string; count: number; first: number }>();
  const pattern = /[\p{L}][\p{L}\p{N}'’-]*[\p{L}\p{N}]/gu;
  let index = 0;
  for (const match of text.matchAll(pattern)) {
    const word = match[0];
    const key = word.toLowerCase();
    if (key.length < 4 || STOPWORDS.has(key) || exclude.has(key)) continue;
    const entry = counts.get(key);
    if (entry) entry.count++;
    else counts.set(key, { word: /^[A-Z][a-z]/.test(word) ? key : word, count: 1, first: index++ });
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || a.first - b.first)
    .slice(0, limit)
    .map((entry) => entry.word);
}

/**
 * Key phrases of `text`: two-word phrases of adjacent content words ("failure modes") and single
 * content words, scored by frequency (a phrase counts double), best first, never two that share
 * a word. Words in `exclude` (lower case) are not content words.
 */
export function keyPhrases(text: string, limit = 4, exclude: ReadonlySet<string> = new Set()): string[] {
  const scores = new Map<string, { phrase: string; score: number; first: number; words: string[] }>();
  let order = 0;
  const add = (words: string[], weight: number): void => {
    const key = words.join(' ').toLowerCase();
    const entry = scores.get(key);
    if (entry) entry.score += weight;
    else
      scores.set(key, { phrase: words.map((word) => (/^[A-Z][a-z]/.test(word) ? word.toLowerCase() : word)).join(' '), score: weight, first: order++, words: words.map((word) => word.toLowerCase()) });
  };
  const isContent = (word: string): boolean => {
    const key = word.toLowerCase();
    return key.length >= 4 && !STOPWORDS.has(key) && !exclude.has(key);
  };
  // Runs of words not broken by punctuation; phrases never span a comma or a full stop.
  for (const run of text.split(/[^\p{L}\p{N}'’\s-]+/u)) {
    const words = run.split(/\s+/).filter((word) => /^[\p{L}][\p{L}\p{N}'’-]*$/u.test(word));
    for (const [index, word] of words.entries()) {
      if (!isContent(word)) continue;
      add([word], 1);
      const next = words[index + 1];
      if (next !== undefined && isContent(next)) add([word, next], 2);
    }
  }
  const picked: Array<{ phrase: string; words: string[] }> = [];
  for (const entry of [...scores.values()].sort((a, b) => b.score - a.score || a.first - b.first)) {
    if (picked.length >= limit) break;
    if (picked.some((other) => other.words.some((word) => entry.words.includes(word)))) continue;
    picked.push(entry);
  }
  return picked.map((entry) => entry.phrase);
}

/**
 * A task as a noun phrase for use inside sentences: "Assess the impact of X." becomes
 * "the impact of X". Keeps the original casing except a capital on a plain leading word.
 */
export function subjectOf(task: string): string {
  let subject = task.trim().split('\n')[0]?.trim() ?? '';
  subject = subject
    .replace(LEADING_VERBS, '')
    .replace(/[.?!:;]+$/, '')
    .trim();
  if (subject.length === 0) return 'the task';
  // "The future of X" reads better mid-sentence as "the future of X"; leave acronyms and names.
  if (/^(?:The|A|An|How|What|Why|Whether|Which|When|Where|Who)\b/.test(subject)) {
    subject = subject.charAt(0).toLowerCase() + subject.slice(1);
  }
  return subject;
}

/** An angle label for use inside a sentence: "Historical context" → "historical context". */
export function inlineLabel(label: string): string {
  const trimmed = label.trim();
  return /^[A-Z][a-z]/.test(trimmed) ? trimmed.charAt(0).toLowerCase() + trimmed.slice(1) : trimmed;
}

/** The first `count` words of `text`, with an ellipsis when cut. */
export function headWords(text: string, count: number): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  return words.length <= count ? words.join(' ') : `${words.slice(0, count).join(' ')}…`;
}
