/**
 * The classic parallel research fan-out: historical, technical and societal-impact specialists
 * in parallel, each bounded to 150–200 words, then a synthesizer writing four sections.
 */
import type { FanOutConfig, SpecialistConfig } from '../config.ts';

/** The three research angles. */
export const RESEARCH_ANGLES: readonly SpecialistConfig[] = Object.freeze([
  { id: 'historical', angle: 'Historical context', instructions: 'Cover how it came about: origins, milestones and turning points. Write 150-200 words.' },
  { id: 'technical', angle: 'Technical details', instructions: 'Cover how it works: the core mechanisms, the hard engineering problems and the state of the art. Write 150-200 words.' },
  { id: 'societal', angle: 'Societal impact', instructions: 'Cover what it means for people: economic, environmental, political and ethical effects. Write 150-200 words.' },
]);

/** Options of {@link researchConfig}; unset ones keep the run defaults. */
export interface ResearchOptions {
  model?: string | undefined;
  deadlineMs?: number | undefined;
  maxConcurrency?: number | undefined;
}

/**
 * The research fan-out on a topic, as a run config.
 *
 * @example
 * const run = runFanOut(researchConfig('nuclear fusion'), { provider });
 */
export function researchConfig(topic: string, options: ResearchOptions = {}): FanOutConfig {
  const sections = RESEARCH_ANGLES.map((spec) => spec.angle).join(', ');
  return {
    task: topic,
    specialists: RESEARCH_ANGLES.map((spec) => ({ ...spec })),
    synthesizer: {
      instructions:
        `Write four sections, each under a markdown heading: one per angle (${sections}), then "Cross-cutting synthesis" connecting them. ` +
        'Keep each section to a short paragraph, and name any missing angle as a gap.',
      maxTokens: 2048,
    },
    maxTokens: 600,
    deadlineMs: options.deadlineMs ?? 120_000,
    ...(options.model ? { model: options.model } : {}),
    ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
  };
}
