/**
 * What a simulated model lead plans to dispatch: how many agents, on which angles, from which
 * template, with which briefs — read from the lead's system prompt and first user message the
 * way a model reads "dispatch THREE explorer sub-agents in parallel, one per source domain
 * (news, academic, vendor)".
 *
 * The plan depends only on those two texts and the `Agent` tool's templates, never on the rest
 * of the conversation, so every turn of one lead sees the same plan (a lead that may make one
 * call per turn spawns the rest of the same plan in later turns).
 */
import { ANGLE_POOL, NUMBER_WORDS } from './planner.ts';
import { Random, hashString } from './random.ts';
import { inlineLabel, subjectOf } from './vocab.ts';

/** One agent the lead will spawn: the `Agent` call's `description` and `prompt`, and how the lead names it in passing. */
export interface PlannedAgent {
  /** A short label of its angle ("News sources"): the spawn call's `description`. */
  description: string;
  /** Its self-contained brief: the spawn call's `prompt`. */
  prompt: string;
  /** The angle as the lead mentions it mid-sentence ("news"). */
  label: string;
}

/** What the simulated lead dispatches. */
export interface LeadPlan {
  /** The task, from the `Task:` line of the first user message. */
  task: string;
  /** The template of every spawn call; `null` when the tool lists no templates (the calls then omit it). */
  template: string | null;
  /** In spawn order; never empty. */
  agents: PlannedAgent[];
}

/**
 * Most agents one plan holds: the planner's angle pool. Beyond it, angles the prompt does not
 * name would repeat; the run's own limits (the `Limits:` paragraph) are for the runtime to enforce.
 */
export const MAX_LEAD_AGENTS = ANGLE_POOL.length;

/** Nouns that mean "sub-agent" next to a count, besides the template names themselves. */
const AGENT_NOUNS = ['sub-?agents?', 'subagents?', 'agents?', 'specialists?', 'explorers?', 'researchers?', 'workers?', 'analysts?'];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** The task: the rest of the `Task:` line, else the first line of the message. */
export function leadTask(firstUserText: string): string {
  const line = /^\s*Task:[ \t]*(.+)$/m.exec(firstUserText)?.[1] ?? firstUserText.trim().split('\n')[0] ?? '';
  return line.trim() || 'the task';
}

/**
 * The text a plan is read from: the system prompt and the user's instructions. The `Task:`
 * paragraph is left out (a task such as "compare 3 agent frameworks" is not a dispatch count),
 * and so is the `Limits:` paragraph ("at most 20 agents in all" is a ceiling, not a plan).
 */
export function planningText(system: string, firstUserText: string): string {
  const instructions = firstUserText
    .split(/\n[ \t]*\n/)
    .filter((paragraph) => !/^\s*(?:Task|Limits):/i.test(paragraph))
    .join('\n\n');
  return [system, instructions].filter((part) => part.trim() !== '').join('\n\n');
}

/**
 * A count of sub-agents the text asks for ("THREE explorer sub-agents", "dispatch 4
 * specialists", "two agents"), or `null`. Distribution rules ("one agent per domain") and
 * mentions of the tool ("one Agent call") are not counts.
 */
export function requestedAgentCount(text: string, templates: readonly string[] = []): number | null {
  const nouns = [...templates.map((name) => `${escapeRegExp(name)}s?`), ...AGENT_NOUNS].join('|');
  const numbers = `\\d{1,3}|${Object.keys(NUMBER_WORDS).join('|')}`;
  const pattern = new RegExp(
    // Up to two words between the count and the noun ("THREE explorer sub-agents"); the noun must
    // end the phrase (not "explorer" in "explorer agents"), and be neither a rule ("one agent per
    // domain") nor the tool itself ("one Agent call", "Agent(…)").
    `\\b(${numbers})\\s+(?:[\\w-]+\\s+){0,2}?(?:${nouns})\\b(?!\\()(?![ \\t]+(?:${nouns})\\b)(?![ \\t]+(?:per|for each|call|calls|tool)\\b)`,
    'gi',
  );
  for (const match of text.matchAll(pattern)) {
    const raw = (match[1] ?? '').toLowerCase();
    const count = NUMBER_WORDS[raw] ?? Number(raw);
    if (Number.isInteger(count) && count > 0) return count;
  }
  return null;
}

/** A list of angles the text names. */
export interface AngleList {
  items: string[];
  /** The list names kinds of sources ("one per source domain (news, academic, vendor)"). */
  ofSources: boolean;
}

/** A list item: a short phrase of words, not code such as `agent_ids=[id1,id2]`. */
const LIST_ITEM = /^[\p{L}][\p{L}\p{N}'’ &.-]{0,39}$/u;

/**
 * The first parenthesised list of two or more short items ("(news, academic, vendor)",
 * "(a, b and c)", "(e.g. cost, safety)"), or `null`.
 */
export function angleList(text: string): AngleList | null {
  for (const match of text.matchAll(/\(([^()\n]+)\)/g)) {
    const inner = (match[1] ?? '')
      .trim()
      .replace(/^(?:e\.g\.|i\.e\.|such as|like|namely)[:,]?\s*/i, '')
      .replace(/,?\s*(?:etc\.?|and so on)$/i, '');
    const items = inner
      .split(/\s*(?:[,;/]|\band\b|\bor\b)\s*/i)
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length < 2 || !items.every((item) => LIST_ITEM.test(item) && item.split(/\s+/).length <= 4)) continue;
    // The sentence the list belongs to says what its items are.
    const lead =
      text
        .slice(0, match.index)
        .split(/[.!?](?:\s|$)|\n/)
        .at(-1) ?? '';
    return { items, ofSources: /\bsources?\b/i.test(lead) };
  }
  return null;
}

/** The template a text mentions first among `templates`; else the first template; `null` when there are none. */
export function mentionedTemplate(text: string, templates: readonly string[]): string | null {
  let found: string | null = null;
  let at = Number.POSITIVE_INFINITY;
  for (const name of templates) {
    const match = new RegExp(`\\b${escapeRegExp(name)}`, 'i').exec(text);
    if (match && match.index < at) {
      found = name;
      at = match.index;
    }
  }
  return found ?? templates[0] ?? null;
}

/** What every brief asks for, so a finding comes back with sources a synthesis can cite. */
const RETURN_CLAUSE = 'return the key facts, each with a citation (title and URL)';
/** The research preset's bound on a finding. */
const LENGTH_CLAUSE = 'Keep it to 150-200 words.';

function listedAgent(item: string, subject: string, ofSources: boolean): PlannedAgent {
  const label = inlineLabel(item);
  if (ofSources && !/\bsources?\b/i.test(item)) {
    return {
      label,
      description: `${capitalised(item)} sources`,
      prompt: `Research ${subject} from ${label} sources: find 3-5 relevant ${label} sources and ${RETURN_CLAUSE}. Cover only ${label} sources; other agents cover the rest. ${LENGTH_CLAUSE}`,
    };
  }
  return {
    label,
    description: capitalised(item),
    prompt: `Research ${subject} with a focus on ${label}: find 3-5 relevant sources and ${RETURN_CLAUSE}. Cover only ${label}; other agents cover the rest. ${LENGTH_CLAUSE}`,
  };
}

function pooledAgent(entry: (typeof ANGLE_POOL)[number], subject: string): PlannedAgent {
  const label = inlineLabel(entry.angle);
  return {
    label,
    description: entry.angle,
    prompt: `Research ${subject} from the ${label} angle: ${entry.focus}. Find 3-5 relevant sources and ${RETURN_CLAUSE}. Cover only this angle; other agents cover the rest. ${LENGTH_CLAUSE}`,
  };
}

/**
 * The lead's plan. N is the count the text asks for, else the length of the list it names,
 * else 2–4 (from a hash of the task); the angles are the list's first N items, filled up from
 * the planner's pool (in an order seeded by the task) when the list is short or absent.
 *
 * @example
 * planLead('Dispatch THREE explorer sub-agents, one per source domain (news, academic, vendor).', 'Task: nuclear fusion', ['explorer'])
 *   .agents.map((agent) => agent.description); // ['News sources', 'Academic sources', 'Vendor sources']
 */
export function planLead(system: string, firstUserText: string, templates: readonly string[]): LeadPlan {
  const task = leadTask(firstUserText);
  const subject = subjectOf(task);
  const text = planningText(system, firstUserText);
  const count = requestedAgentCount(text, templates);
  const list = angleList(text);
  const seed = hashString(task);
  const wanted = count ?? list?.items.length ?? 2 + (seed % 3);
  const size = Math.min(MAX_LEAD_AGENTS, Math.max(1, wanted));

  const agents = (list?.items ?? []).slice(0, size).map((item) => listedAgent(item, subject, list?.ofSources ?? false));
  const taken = new Set(agents.map((agent) => agent.label.toLowerCase()));
  for (const entry of new Random(seed).shuffle(ANGLE_POOL)) {
    if (agents.length >= size) break;
    if (taken.has(entry.id) || taken.has(inlineLabel(entry.angle).toLowerCase())) continue;
    agents.push(pooledAgent(entry, subject));
  }
  return { task, template: mentionedTemplate(text, templates), agents };
}
