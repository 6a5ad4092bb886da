/**
 * The prompts fanfold sends: one per specialist, and the synthesis prompt that labels every
 * finding with its angle and lists the missing angles so the synthesizer can name the gaps.
 */
import type { SpecialistSpec } from './config.ts';
import type { SpecialistOutcome } from './outcome.ts';
import type { ModelMessage, ModelRequest, ModelToolDefinition } from './providers/provider.ts';

/**
 * The default system prompt, the same for every specialist: the angle goes in the user message,
 * so N specialists share one prompt prefix (cacheable by the provider, one string in memory).
 */
export const DEFAULT_SPECIALIST_SYSTEM =
  'You are one specialist in a team working on a task in parallel. Cover only the angle you are given; other specialists cover the rest. Be concrete and concise.';

/**
 * The default system prompt of specialists with tools, also shared by all of them. It asks for
 * what the loop rewards: parallel calls, a bounded budget, and sources cited in the finding.
 */
export const DEFAULT_TOOL_SPECIALIST_SYSTEM =
  `${DEFAULT_SPECIALIST_SYSTEM} You have tools: use them to find evidence for your angle before you answer. ` +
  'Make independent tool calls in the same turn (they run in parallel), search before you fetch, and stop calling tools once you have enough. ' +
  'Then write your finding, and cite the sources you used by title and URL.';

/**
 * The default system prompt of a model lead: plan, delegate in parallel with self-contained
 * briefs, join, then write the answer — what the multi-agent research pattern found works.
 */
export const DEFAULT_LEAD_SYSTEM =
  'You lead a team of specialist agents working in parallel. Decide which angles the task needs: a single agent for a simple fact, a few for a comparison or an overview, more only for broad research. ' +
  'Spawn an agent per angle with the Agent tool, all in the same response so they run in parallel, each with a self-contained brief: its objective, what to return, which sources to use and its boundaries. ' +
  'Then call Agent once with all their agent_ids to wait for their results. Read them; spawn more only if an important gap remains. ' +
  'Finally write the answer yourself: one section per angle, a cross-cutting synthesis, the sources the agents cited, and any angle that is missing and why.';

/** The loop's part of a specialist request: the conversation so far and the tools on offer. */
export interface LoopRequestParts {
  /** The conversation after the first user message. */
  messages: readonly ModelMessage[];
  tools: ModelToolDefinition[];
  /** The last turn: the tools stay defined, but the model must answer in text. */
  final: boolean;
}

/** The request a model specialist sends on the given model (for a loop's later turns, with `loop`). */
export function buildSpecialistRequest(task: string, spec: SpecialistSpec, model: string, loop?: LoopRequestParts): ModelRequest {
  const leads = spec.tools.some((tool) => tool.source === 'agent');
  const system = spec.system ?? (leads ? DEFAULT_LEAD_SYSTEM : spec.tools.length > 0 ? DEFAULT_TOOL_SPECIALIST_SYSTEM : DEFAULT_SPECIALIST_SYSTEM);
  const content =
    spec.brief ??
    (spec.instructions ? `Task: ${task}\n\nYour angle: ${spec.angle}\n\n${spec.instructions}` : `Task: ${task}\n\nYour angle: ${spec.angle}`);
  const request: ModelRequest = { model, system, messages: [{ role: 'user', content }], maxTokens: spec.maxTokens };
  if (loop) {
    request.messages.push(...loop.messages);
    if (loop.tools.length > 0) request.tools = loop.tools;
    if (loop.final) request.toolChoice = 'none';
  }
  return request;
}

/** Why an angle is missing, in words the synthesizer (and a person) can use. */
export function describeMissing(outcome: SpecialistOutcome): string {
  const error = outcome.error;
  switch (outcome.status) {
    case 'fulfilled':
      return 'not missing';
    case 'timedOut':
      return error?.message ?? 'timed out';
    case 'rejected':
      return `failed after ${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'}: ${error?.message ?? 'unknown error'}`;
    case 'skipped':
      return error?.message ?? 'skipped';
  }
}

const DEFAULT_SYNTHESIS_INSTRUCTIONS =
  'Synthesize the findings into one answer. Cross-reference the angles where they agree or conflict, and name every missing angle as a gap in the answer.';

/**
 * The synthesis request: the task, each fulfilled finding in a block labelled with its
 * specialist id and angle, and an explicit list of missing angles with the reason for each.
 */
export function buildSynthesisRequest(
  task: string,
  spec: SpecialistSpec,
  outcomes: readonly SpecialistOutcome[],
  model: string,
): ModelRequest {
  const found = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  const missing = outcomes.filter((outcome) => outcome.status !== 'fulfilled');
  const parts = [`Task: ${task}`, '', `Findings from ${found.length} of ${outcomes.length} specialists:`];
  for (const outcome of found) {
    parts.push('', `<finding specialist="${outcome.id}" angle="${outcome.angle}">`, outcome.output ?? '', '</finding>');
  }
  parts.push('');
  if (missing.length === 0) {
    parts.push('Missing angles: none — every specialist reported.');
  } else {
    parts.push(`Missing angles (${missing.length}) — say in the answer that these are gaps:`);
    for (const outcome of missing) parts.push(`- ${outcome.id} ("${outcome.angle}"): ${describeMissing(outcome)}`);
  }
  parts.push('', spec.instructions ?? DEFAULT_SYNTHESIS_INSTRUCTIONS);
  const system =
    spec.system ??
    'You are the lead of a team of specialists. You receive their findings, each labelled with its angle, and write one synthesis.';
  return { model, system, messages: [{ role: 'user', content: parts.join('\n') }], maxTokens: spec.maxTokens };
}
