/**
 * What a finding is worth to the synthesis: its metadata (the specialist's reported confidence,
 * the distinct sources behind it, its length, time, attempts and model) and a weight from 0 to 1
 * by a configurable rule, so the synthesizer can favour the better-founded finding where two
 * conflict — and say so.
 */
import type { SpecialistOutcome } from '../outcome.ts';

/**
 * How much each signal counts toward a finding's weight (any non-negative numbers; they are
 * normalised). Each signal is scaled to 0–1 first:
 * - `confidence`: the specialist's reported confidence (0.5 when it reported none);
 * - `sources`: distinct sources, 5 or more count fully (the research pattern asks for 3–5);
 * - `words`: length, 200 words or more count fully;
 * - `speed`: the fastest finding counts fully, one taking twice as long half.
 */
export interface WeightRule {
  confidence?: number;
  sources?: number;
  words?: number;
  speed?: number;
}

/** The rule when `weights: true`: confidence and sources, 60/40. */
export const DEFAULT_WEIGHTS: Required<WeightRule> = Object.freeze({ confidence: 0.6, sources: 0.4, words: 0, speed: 0 });

/** A finding's metadata, as the synthesis prompt, `--json` and the report show it. */
export interface FindingMetadata {
  /** 0–1 as the specialist reported it (`report` tool); `null` when it did not. */
  confidence: number | null;
  /** Distinct sources its tools returned or it cited. */
  sources: number;
  words: number;
  /** Wall time, in seconds (one decimal); `null` when it never started. */
  seconds: number | null;
  attempts: number;
  model: string | null;
}

/** The metadata of one outcome. */
export function metadataOf(outcome: SpecialistOutcome): FindingMetadata {
  const words = outcome.output ? outcome.output.trim().split(/\s+/).filter(Boolean).length : 0;
  return {
    confidence: outcome.report?.confidence ?? null,
    sources: outcome.sources?.length ?? 0,
    words,
    seconds: outcome.startedAt === null ? null : Math.round((outcome.endedAt - outcome.startedAt) / 100) / 10,
    attempts: outcome.attempts,
    model: outcome.model,
  };
}

/** The weights of fulfilled findings (by id), two decimals, from the rule. Others get none. */
export function weighFindings(outcomes: readonly SpecialistOutcome[], rule: WeightRule): Map<string, number> {
  const total = (rule.confidence ?? 0) + (rule.sources ?? 0) + (rule.words ?? 0) + (rule.speed ?? 0);
  const found = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  const times = found.map((outcome) => metadataOf(outcome).seconds).filter((seconds): seconds is number => seconds !== null && seconds > 0);
  const fastest = times.length > 0 ? Math.min(...times) : null;
  const weights = new Map<string, number>();
  for (const outcome of found) {
    const meta = metadataOf(outcome);
    if (total <= 0) {
      weights.set(outcome.id, 1);
      continue;
    }
    const signals =
      (rule.confidence ?? 0) * (meta.confidence ?? 0.5) +
      (rule.sources ?? 0) * Math.min(meta.sources / 5, 1) +
      (rule.words ?? 0) * Math.min(meta.words / 200, 1) +
      (rule.speed ?? 0) * (fastest !== null && meta.seconds !== null && meta.seconds > 0 ? fastest / meta.seconds : 1);
    weights.set(outcome.id, Math.round((signals / total) * 100) / 100);
  }
  return weights;
}
