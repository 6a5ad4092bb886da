/**
 * The classic parallel research fan-out: historical, technical and societal-impact specialists
 * in parallel — explorers with web search and web fetch by default, each finding 3–5 sources —
 * each bounded to 150–200 words, then a synthesizer writing four sections that cite the sources.
 */
import type { FanOutConfig, ServerToolConfig, SpecialistConfig } from '../config.ts';

/** The three research angles. */
export const RESEARCH_ANGLES: readonly SpecialistConfig[] = Object.freeze([
  { id: 'historical', angle: 'Historical context', instructions: 'Cover how it came about: origins, milestones and turning points. Write 150-200 words.' },
  { id: 'technical', angle: 'Technical details', instructions: 'Cover how it works: the core mechanisms, the hard engineering problems and the state of the art. Write 150-200 words.' },
  { id: 'societal', angle: 'Societal impact', instructions: 'Cover what it means for people: economic, environmental, political and ethical effects. Write 150-200 words.' },
]);

/**
 * The explorers' tools: web search (at most 3 searches per call) and web fetch (at most 3
 * pages), server tools the API runs; offline, the simulator plays a simulated web.
 */
export const RESEARCH_TOOLS: readonly ServerToolConfig[] = Object.freeze([
  { type: 'web_search', maxUses: 3 },
  { type: 'web_fetch', maxUses: 3 },
]);

/** What the explorers are told to do with their tools, after their angle's instructions. */
const TOOL_INSTRUCTIONS = 'Search the web, fetch the 3-5 most relevant sources, and cite them by title and URL.';

/** Options of {@link researchConfig}; unset ones keep the run defaults. */
export interface ResearchOptions {
  model?: string | undefined;
  deadlineMs?: number | undefined;
  maxConcurrency?: number | undefined;
  /** Give the specialists web search and web fetch. Default `true`. */
  tools?: boolean | undefined;
  /**
   * `fixed`: the three angles above, then a synthesizer. `model`: a lead model decides the angles,
   * spawns one explorer per angle with the `Agent` tool, joins them and writes the answer.
   * Default `fixed`.
   */
  lead?: 'fixed' | 'model' | undefined;
}

/** The research lead's system prompt: pick the angles, delegate in parallel, join, write the report. */
export const RESEARCH_LEAD_SYSTEM =
  'You lead a research team. Decide which angles the topic needs, then dispatch an explorer agent per angle, all in one response so they run in parallel, ' +
  'each with a self-contained brief: its angle, what to look for, and to return facts with the title and URL of each source. ' +
  'Then call Agent once with all their agent_ids to wait for their results. ' +
  'Finally write the report yourself: one section per angle under a markdown heading, then "Cross-cutting synthesis" connecting them and naming any missing angle as a gap, then "Sources" listing the sources the explorers cited.';

/**
 * The research fan-out on a topic, as a run config.
 *
 * @example
 * const run = runFanOut(researchConfig('nuclear fusion'), { provider });
 */
export function researchConfig(topic: string, options: ResearchOptions = {}): FanOutConfig {
  const sections = RESEARCH_ANGLES.map((spec) => spec.angle).join(', ');
  const tools = options.tools ?? true;
  if (options.lead === 'model') {
    return {
      task: topic,
      lead: { system: RESEARCH_LEAD_SYSTEM, maxSpecialists: 8, maxRounds: 2 },
      specialists: [
        {
          id: 'explorer',
          instructions: `Cover only your angle. Write 150-200 words.${tools ? ` ${TOOL_INSTRUCTIONS}` : ''}`,
          ...(tools ? { tools: RESEARCH_TOOLS.map((tool) => ({ ...tool })) } : {}),
        },
      ],
      maxTokens: 600,
      deadlineMs: options.deadlineMs ?? 120_000,
      ...(options.model ? { model: options.model } : {}),
      ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
    };
  }
  return {
    task: topic,
    specialists: RESEARCH_ANGLES.map((spec) => (tools ? { ...spec, instructions: `${spec.instructions} ${TOOL_INSTRUCTIONS}`, tools: RESEARCH_TOOLS.map((tool) => ({ ...tool })) } : { ...spec })),
    synthesizer: {
      instructions:
        `Write four sections, each under a markdown heading: one per angle (${sections}), then "Cross-cutting synthesis" connecting them. ` +
        'Keep each section to a short paragraph, and name any missing angle as a gap.' +
        (tools ? ' Cite the sources the findings give (title and URL) where you use them, and list them at the end under "Sources".' : ''),
      maxTokens: 2048,
    },
    maxTokens: 600,
    deadlineMs: options.deadlineMs ?? 120_000,
    ...(options.model ? { model: options.model } : {}),
    ...(options.maxConcurrency ? { maxConcurrency: options.maxConcurrency } : {}),
  };
}
