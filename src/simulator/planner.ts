/**
 * Simulated planning: a prompt asking for a "JSON array" of angles gets only that array —
 * N objects `{ id, angle, instructions }` drawn deterministically from a pool of common research
 * angles and worded for the topic.
 */
import type { Random } from './random.ts';
import { inlineLabel, subjectOf } from './vocab.ts';

/** One planned angle, as a planner model would return it. */
export interface PlannedAngle {
  id: string;
  angle: string;
  instructions: string;
}

/** The pool the simulator plans from, in no particular order. */
export const ANGLE_POOL: ReadonlyArray<{ id: string; angle: string; focus: string }> = [
  { id: 'historical', angle: 'Historical context', focus: 'how it developed, the milestones that shaped it and what earlier attempts teach' },
  { id: 'technical', angle: 'Technical details', focus: 'how it works, the key mechanisms and constraints, and the open engineering problems' },
  { id: 'economic', angle: 'Economic impact', focus: 'costs, markets and incentives, and who pays or gains' },
  { id: 'societal', angle: 'Societal impact', focus: 'the effects on people, communities, work and everyday life' },
  { id: 'regulatory', angle: 'Regulation and policy', focus: 'the laws, standards and policy debates that apply, and what compliance requires' },
  { id: 'environmental', angle: 'Environmental impact', focus: 'resource use, emissions, waste and wider ecological effects' },
  { id: 'ethical', angle: 'Ethical considerations', focus: 'fairness, accountability, consent and the risks of harm' },
  { id: 'future-outlook', angle: 'Future outlook', focus: 'likely developments over the next five to ten years and the indicators to watch' },
  { id: 'risks', angle: 'Risks and failure modes', focus: 'what could go wrong, how likely it is and how it would be noticed' },
  { id: 'stakeholders', angle: 'Key stakeholders', focus: 'who is involved, what each party wants and where their interests conflict' },
  { id: 'geopolitical', angle: 'Geopolitical dimension', focus: 'how countries and blocs position themselves and where supply or power is concentrated' },
  { id: 'competitive-landscape', angle: 'Competitive landscape', focus: 'the main players and alternatives, and how they differ' },
];

/** Counts written as words, as prompts write them ("THREE explorers", "four angles"). */
export const NUMBER_WORDS: Readonly<Record<string, number>> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
};

/** The default number of angles when the prompt does not say. */
export const DEFAULT_ANGLE_COUNT = 4;

/** Whether a prompt asks for a planner's JSON array. */
export function isPlannerPrompt(userText: string): boolean {
  return /JSON array/i.test(userText);
}

/** N from "N angles" / "N distinct research angles" (digits or one…twelve), clamped to the pool. */
export function requestedAngleCount(text: string): number {
  const match = /\b(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+(?:[\w-]+\s+){0,2}angles\b/i.exec(text);
  const raw = match?.[1]?.toLowerCase();
  const count = raw === undefined ? DEFAULT_ANGLE_COUNT : (NUMBER_WORDS[raw] ?? Number(raw));
  return Math.min(ANGLE_POOL.length, Math.max(1, count));
}

/** The topic after "Topic:" or "Task:", else the first line of the prompt. */
export function plannerTopic(text: string): string {
  const match = /^\s*(?:Topic|Task):[ \t]*(.+)$/im.exec(text);
  return (match?.[1] ?? text.trim().split('\n')[0] ?? '').trim();
}

/** The planned angles for a planner prompt. */
export function plannedAngles(userText: string, random: Random): PlannedAngle[] {
  const subject = subjectOf(plannerTopic(userText));
  return random
    .shuffle(ANGLE_POOL)
    .slice(0, requestedAngleCount(userText))
    .map(({ id, angle, focus }) => ({
      id,
      angle,
      instructions: `Examine ${subject} from the ${inlineLabel(angle)} angle: ${focus}. Be concrete; 150-200 words.`,
    }));
}

/** The planner reply: only the JSON array, as the prompt asks. */
export function plannerReply(userText: string, random: Random): string {
  return JSON.stringify(plannedAngles(userText, random), null, 2);
}
