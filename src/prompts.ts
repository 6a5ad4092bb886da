/**
 * The prompts fanfold sends: one per specialist, and the synthesis prompt that labels every
 * finding with its angle and lists the missing angles so the synthesizer can name the gaps.
 */
import type { SpecialistSpec } from './config.ts';
import type { SpecialistOutcome } from './outcome.ts';
import type { ModelMessage, ModelRequest, ModelToolDefinition } from './providers/provider.ts';
import { metadataOf, weighFindings, type WeightRule } from './findings/weights.ts';

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
  // The `report` tool alone is no research tool: such a specialist keeps the plain prompt.
  const researches = spec.tools.some((tool) => tool.source !== 'report');
  const system = spec.system ?? (leads ? DEFAULT_LEAD_SYSTEM : researches ? DEFAULT_TOOL_SPECIALIST_SYSTEM : DEFAULT_SPECIALIST_SYSTEM);
  const content = spec.brief ?? (spec.instructions ? `Task: ${task}\n\nYour angle: ${spec.angle}\n\n${spec.instructions}` : `Task: ${task}\n\nYour angle: ${spec.angle}`);
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

const DEFAULT_SYNTHESIS_INSTRUCTIONS = 'Synthesize the findings into one answer. Cross-reference the angles where they agree or conflict, and name every missing angle as a gap in the answer.';

const DEFAULT_SYNTHESIS_SYSTEM = 'You are the lead of a team of specialists. You receive their findings, each labelled with its angle, and write one synthesis.';

/** Told to the synthesizer when findings carry weights. */
export const WEIGHTS_INSTRUCTION =
  "Each finding carries its metadata and a weight from 0 to 1 (from the specialist's reported confidence and its sources), highest first. " +
  'Where findings conflict, favour the higher-weighted finding, and say so in the answer.';

/**
 * A finding's opening tag: its specialist and angle, and with weights its weight and metadata
 * (`weight="0.82" confidence="0.90" sources="4" words="183" seconds="4.2" attempts="2" model="…"`).
 */
function findingTag(outcome: SpecialistOutcome, weight: number | undefined, tag = 'finding'): string {
  if (weight === undefined) return `<${tag} specialist="${outcome.id}" angle="${outcome.angle}">`;
  const meta = metadataOf(outcome);
  const confidence = meta.confidence === null ? 'unreported' : meta.confidence.toFixed(2);
  return `<${tag} specialist="${outcome.id}" angle="${outcome.angle}" weight="${weight.toFixed(2)}" confidence="${confidence}" sources="${meta.sources}" words="${meta.words}" seconds="${meta.seconds ?? ''}" attempts="${meta.attempts}" model="${meta.model ?? ''}">`;
}

/** The missing-angle lines every fold ends with. */
function missingLines(missing: readonly SpecialistOutcome[]): string[] {
  if (missing.length === 0) return ['Missing angles: none — every specialist reported.'];
  return [`Missing angles (${missing.length}) — say in the answer that these are gaps:`, ...missing.map((outcome) => `- ${outcome.id} ("${outcome.angle}"): ${describeMissing(outcome)}`)];
}

/**
 * The synthesis request: the task, each fulfilled finding in a block labelled with its
 * specialist id and angle, and an explicit list of missing angles with the reason for each.
 * With `weights`, each finding also carries its metadata and weight, highest first, and the
 * synthesizer is told to favour the higher-weighted finding where they conflict.
 */
export function buildSynthesisRequest(task: string, spec: SpecialistSpec, outcomes: readonly SpecialistOutcome[], model: string, weights?: WeightRule): ModelRequest {
  const missing = outcomes.filter((outcome) => outcome.status !== 'fulfilled');
  const weighed = weights ? weighFindings(outcomes, weights) : null;
  const found = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  // Highest weight first (stable: config order among equals).
  if (weighed) found.sort((a, b) => weighed.get(b.id)! - weighed.get(a.id)!);
  const parts = [`Task: ${task}`, '', `Findings from ${found.length} of ${outcomes.length} specialists:`];
  for (const outcome of found) parts.push('', findingTag(outcome, weighed?.get(outcome.id)), outcome.output ?? '', '</finding>');
  parts.push('', ...missingLines(missing));
  if (weighed) parts.push('', WEIGHTS_INSTRUCTION);
  parts.push('', spec.instructions ?? DEFAULT_SYNTHESIS_INSTRUCTIONS);
  return { model, system: spec.system ?? DEFAULT_SYNTHESIS_SYSTEM, messages: [{ role: 'user', content: parts.join('\n') }], maxTokens: spec.maxTokens };
}

/** The first line of a digest request (the simulator recognises it). */
export const DIGEST_OPENING = 'One finding has arrived while the others are still being researched. Write its section of the report now.';

/**
 * A streaming fold's digest of one finding, made as soon as it arrives: its section of the
 * report (a `## <angle>` heading and a paragraph that cites its sources). Sent while the other
 * specialists still run, so little is left to write after the last one.
 */
export function buildDigestRequest(task: string, spec: SpecialistSpec, outcome: SpecialistOutcome, model: string, weight?: number): ModelRequest {
  const parts = [
    `Task: ${task}`,
    '',
    DIGEST_OPENING,
    '',
    findingTag(outcome, weight),
    outcome.output ?? '',
    '</finding>',
    '',
    `Write only this section: the heading "## ${outcome.angle}", then one short paragraph of what this finding adds to the task, citing its sources (title and URL) where you use them. Other sections, the cross-cutting synthesis and the list of sources come later.`,
  ];
  return { model, system: spec.system ?? DEFAULT_SYNTHESIS_SYSTEM, messages: [{ role: 'user', content: parts.join('\n') }], maxTokens: Math.min(spec.maxTokens, 800) };
}

/** The first line of a closing request (the simulator recognises it). */
export const CLOSING_OPENING = 'The sections below were written as the findings arrived. Write the closing part of the report.';

/**
 * A streaming fold's last call, after the last specialist: the sections digested so far, the
 * findings not digested yet (the last arrivals, whose digests run alongside), and the missing
 * angles. It writes only what needs all of them: the cross-cutting synthesis and the sources.
 */
export function buildClosingRequest(
  task: string,
  spec: SpecialistSpec,
  parts: { sections: ReadonlyArray<{ outcome: SpecialistOutcome; text: string }>; pending: readonly SpecialistOutcome[]; missing: readonly SpecialistOutcome[] },
  model: string,
  weights?: ReadonlyMap<string, number>,
): ModelRequest {
  const lines = [`Task: ${task}`, '', CLOSING_OPENING];
  for (const { outcome, text } of parts.sections) lines.push('', findingTag(outcome, weights?.get(outcome.id), 'section'), text.trim(), '</section>');
  for (const outcome of parts.pending) lines.push('', findingTag(outcome, weights?.get(outcome.id)), outcome.output ?? '', '</finding>');
  lines.push('', ...missingLines(parts.missing));
  if (weights) lines.push('', WEIGHTS_INSTRUCTION);
  lines.push(
    '',
    'Write only the closing part: a "## Cross-cutting synthesis" section that connects the angles (where they agree, where they conflict) and names every missing angle as a gap, then "## Sources" listing every source the sections and findings cite, numbered, with title and URL. Do not repeat the sections.',
  );
  return { model, system: spec.system ?? DEFAULT_SYNTHESIS_SYSTEM, messages: [{ role: 'user', content: lines.join('\n') }], maxTokens: spec.maxTokens };
}
