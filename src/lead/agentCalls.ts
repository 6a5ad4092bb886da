/**
 * The rules of a model lead's `Agent` calls, as pure steps: the lead's state plus a call (or
 * newly settled outcomes) gives the next state and the effects to carry out — answer the
 * call, add specialists to the fan-out, bring their deadlines forward, emit run events. The
 * lead machine performs the effects; nothing here reads a clock or sends anything.
 */
import type { LeadInput, SpecialistSpec } from '../config.ts';
import type { RunEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { describeMissing } from '../prompts.ts';
import { joinResultText, parseAgentCall, spawnResultText, type AgentCallEvent, type JoinedAgent } from './agentTool.ts';

/** A specialist the lead spawned: who, from what, why, and when. Plain JSON. */
export interface SpawnRecord {
  id: string;
  template: string;
  /** The brief the lead gave it. */
  prompt: string;
  /** Its angle: the lead's `description`, or made from the brief. */
  description: string;
  /** The round of spawning it came in (1 for the lead's first turn that spawned). */
  round: number;
  /** The `Agent` call that spawned it (a re-sent call is answered again, not spawned twice). */
  callId: string;
  at: number;
}

/** A join the lead waits on. */
export interface PendingJoin {
  callId: string;
  ids: string[];
  at: number;
}

/** What the rules read of the lead's context. */
export interface LeadCallState {
  input: LeadInput;
  outcomes: ReadonlyArray<SpecialistOutcome | null>;
  spawned: readonly SpawnRecord[];
  joins: readonly PendingJoin[];
  rounds: number;
  /** The lead turn of the latest spawn: spawns of one turn are one round. */
  lastSpawnTurn: number | null;
  /** Why no more specialists may start (the deadline passed, a cancel), or `null`. */
  closedBecause: string | null;
}

/** What the lead machine does after a step. */
export type LeadEffect =
  | { kind: 'reply'; callId: string; content: string; isError: boolean }
  | { kind: 'add'; spec: SpecialistSpec; deadlineAt: number | null; message: string }
  | { kind: 'deadlines'; ids: string[]; deadlineAt: number; message: string }
  | { kind: 'emit'; event: RunEvent };

/** A step's result: the fields of the state that changed, and the effects. */
export interface LeadStep {
  changes: Partial<Pick<LeadCallState, 'input' | 'outcomes' | 'spawned' | 'joins' | 'rounds' | 'lastSpawnTurn'>>;
  effects: LeadEffect[];
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** An angle from a brief with no description: its first clause, at most about 60 characters. */
export function describeBrief(prompt: string): string {
  // A sentence ends at ".", "!" or "?" before a capital or the end (not in "U.S. and" or "3.5"), or at ":", ";" or a new line.
  const clause = prompt.split(/[.!?](?=\s+[A-Z"'(]|\s*$)|[:;\n]/)[0]!.trim();
  if (clause.length <= 60) return clause;
  const cut = clause.slice(0, 60);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), 30)).trim()}…`;
}

/**
 * Handles an `Agent` call: a spawn starts a specialist from a template (or is refused, with an
 * error result the lead can act on); a join is answered when all its ids have settled.
 */
export function stepAgentCall(state: LeadCallState, call: AgentCallEvent): LeadStep {
  const lead = state.input.lead;
  const reply = (content: string, isError: boolean): LeadStep => ({ changes: {}, effects: [{ kind: 'reply', callId: call.callId, content, isError }] });
  if (!lead) return reply('This run has no model lead.', true);
  const templates = lead.templates.map((template) => template.id);

  // A call re-sent after a restore: answer it as before, without doing it twice.
  const done = state.spawned.find((record) => record.callId === call.callId);
  if (done) return reply(spawnResultText(done.id, done.template, done.description), false);
  // A join re-sent after a restore is already pending: answer it if everything it waits for has settled.
  if (state.joins.some((join) => join.callId === call.callId)) return answerJoins(state);

  let parsed: ReturnType<typeof parseAgentCall>;
  try {
    parsed = parseAgentCall(call.input, templates);
  } catch (error) {
    return reply(`Invalid Agent call: ${(error as Error).message}`, true);
  }

  if (parsed.kind === 'join') {
    const known = new Set(state.spawned.map((record) => record.id));
    const unknown = parsed.ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      const spawned = state.spawned.length > 0 ? state.spawned.map((record) => `"${record.id}"`).join(', ') : 'none yet';
      return reply(`No agent has the id ${unknown.map((id) => `"${id}"`).join(', ')}. Agents spawned so far: ${spawned}. Join only ids that spawn calls returned.`, true);
    }
    const join: PendingJoin = { callId: call.callId, ids: parsed.ids, at: call.at };
    const effects: LeadEffect[] = [{ kind: 'emit', event: { type: 'lead.joining', callId: call.callId, ids: parsed.ids, at: call.at } }];
    if (parsed.timeoutMs !== null) {
      const running = parsed.ids.filter((id) => !outcomeOf(state, id));
      if (running.length > 0)
        effects.push({ kind: 'deadlines', ids: running, deadlineAt: call.at + parsed.timeoutMs, message: `the join's ${seconds(parsed.timeoutMs)} timeout passed before it finished` });
    }
    const answered = answerJoins({ ...state, joins: [...state.joins, join] });
    return { changes: { joins: answered.changes.joins ?? [...state.joins, join] }, effects: [...effects, ...answered.effects] };
  }

  if (state.closedBecause !== null) return reply(`No more agents can start: ${state.closedBecause}. Answer with the results you have.`, true);
  const round = call.turn === state.lastSpawnTurn ? state.rounds : state.rounds + 1;
  if (round > lead.maxRounds) {
    return reply(`Not started: this run allows at most ${lead.maxRounds} rounds of spawning (maxRounds), and all have been used. Answer with the results you have.`, true);
  }
  if (state.spawned.length >= lead.maxSpecialists) {
    return reply(`Not started: this run allows at most ${lead.maxSpecialists} agents (maxSpecialists), and all have been spawned. Join the agents you have and answer.`, true);
  }
  const template = lead.templates.find((entry) => entry.id === (parsed.template ?? templates[0]))!;
  const taken = new Set([...state.spawned.map((record) => record.id), ...lead.templates.map((entry) => entry.id)]);
  let n = state.spawned.filter((record) => record.template === template.id).length + 1;
  while (taken.has(`${template.id}-${n}`)) n++;
  const id = `${template.id}-${n}`;
  const description = parsed.description ?? describeBrief(parsed.prompt);
  const spec: SpecialistSpec = { ...template, id, angle: description, instructions: template.instructions ? `${parsed.prompt}\n\n${template.instructions}` : parsed.prompt };
  const record: SpawnRecord = { id, template: template.id, prompt: parsed.prompt, description, round, callId: call.callId, at: call.at };
  const deadlineAt = lead.agentDeadlineMs === null ? null : call.at + lead.agentDeadlineMs;
  return {
    changes: {
      input: { ...state.input, specialists: [...state.input.specialists, spec] },
      outcomes: [...state.outcomes, null],
      spawned: [...state.spawned, record],
      rounds: round,
      lastSpawnTurn: call.turn,
    },
    effects: [
      { kind: 'add', spec, deadlineAt, message: `its ${seconds(lead.agentDeadlineMs ?? 0)} deadline (agentDeadlineMs) passed before it finished` },
      { kind: 'emit', event: { type: 'lead.spawned', id, template: template.id, description, prompt: parsed.prompt, round, callId: call.callId, at: call.at } },
      { kind: 'reply', callId: call.callId, content: spawnResultText(id, template.id, description), isError: false },
    ],
  };
}

function outcomeOf(state: Pick<LeadCallState, 'spawned' | 'outcomes'>, id: string): SpecialistOutcome | null {
  const index = state.spawned.findIndex((record) => record.id === id);
  return index === -1 ? null : (state.outcomes[index] ?? null);
}

/** Answers every pending join whose specialists have all settled, with their results in the order asked. */
export function answerJoins(state: Pick<LeadCallState, 'spawned' | 'outcomes' | 'joins'>): LeadStep {
  const effects: LeadEffect[] = [];
  const waiting: PendingJoin[] = [];
  for (const join of state.joins) {
    const outcomes = join.ids.map((id) => outcomeOf(state, id));
    if (outcomes.some((outcome) => outcome === null)) {
      waiting.push(join);
      continue;
    }
    const agents: JoinedAgent[] = join.ids.map((id, index) => {
      const outcome = outcomes[index]!;
      const record = state.spawned.find((entry) => entry.id === id)!;
      return {
        id,
        template: record.template,
        description: record.description,
        status: outcome.status,
        output: outcome.status === 'fulfilled' ? outcome.output : null,
        reason: outcome.status === 'fulfilled' ? null : describeMissing(outcome),
      };
    });
    const at = Math.max(join.at, ...outcomes.map((outcome) => outcome!.endedAt));
    effects.push(
      { kind: 'reply', callId: join.callId, content: joinResultText(agents), isError: false },
      { kind: 'emit', event: { type: 'lead.joined', callId: join.callId, ids: join.ids, statuses: agents.map((agent) => ({ id: agent.id, status: agent.status })), at } },
    );
  }
  return { changes: waiting.length === state.joins.length ? {} : { joins: waiting }, effects };
}
