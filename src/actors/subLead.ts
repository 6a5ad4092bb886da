/**
 * N-level fan-out: a specialist that is itself a lead. The fan-out actor starts a nested lead
 * machine for it (the same machine, with the same actor implementations), and these functions
 * translate between the two levels: the nested lead's input, and its result or last snapshot
 * as the parent's outcome for that specialist.
 */
import type { LeadInput, SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { RunResult } from '../result.ts';
import { addUsageInto, emptyUsage } from '../usage.ts';

/** The nested lead's input: its sub-specialists, and a deadline no later than the parent's. */
export function subLeadInput(task: string, spec: SpecialistSpec, parentDeadlineAt: number, now: number): LeadInput & { startedAt: number } {
  const fanOut = spec.fanOut!;
  const remaining = Math.max(1, parentDeadlineAt - now);
  return {
    task: spec.instructions ? `${task}\n\n${spec.angle}: ${spec.instructions}` : `${task}\n\nAngle: ${spec.angle}`,
    specialists: fanOut.specialists,
    synthesizer: fanOut.synthesizer,
    quorum: fanOut.quorum,
    maxConcurrency: fanOut.maxConcurrency,
    deadlineMs: Math.min(fanOut.deadlineMs ?? remaining, remaining),
    startedAt: now,
  };
}

/** A finished sub-lead's result as its outcome: its synthesis is its output. */
export function outcomeOfSubLead(spec: SpecialistSpec, result: RunResult): SpecialistOutcome {
  const fulfilled = result.status === 'done' || result.status === 'partial';
  return {
    id: spec.id,
    angle: spec.angle,
    status: fulfilled ? 'fulfilled' : result.status === 'cancelled' ? 'skipped' : 'rejected',
    output: fulfilled ? result.synthesis : null,
    error: fulfilled ? null : (result.error ?? { kind: 'unknown', message: `sub-lead ended ${result.status}` }),
    attempts: result.modelCalls,
    model: result.synthesizer?.model ?? null,
    usage: result.usage,
    startedAt: result.startedAt,
    endedAt: result.endedAt,
    subOutcomes: result.outcomes,
  };
}

/** The work a running sub-lead has done so far, from its context: its settled sub-specialists. */
export function subLeadWorkSoFar(context: { outcomes: Array<SpecialistOutcome | null>; synthesis: SpecialistOutcome | null; startedAt: number }) {
  const usage = emptyUsage();
  let attempts = 0;
  const settled = context.synthesis ? [...context.outcomes, context.synthesis] : context.outcomes;
  for (const outcome of settled) {
    if (!outcome) continue;
    attempts += outcome.attempts;
    addUsageInto(usage, outcome.usage);
  }
  return { attempts, usage, startedAt: context.startedAt, subOutcomes: context.outcomes.filter((outcome): outcome is SpecialistOutcome => outcome !== null) };
}

/** The outcome of a sub-lead stopped from outside (deadline, cancel, escalation elsewhere). */
export function outcomeOfStoppedSubLead(
  spec: SpecialistSpec,
  context: Parameters<typeof subLeadWorkSoFar>[0],
  status: 'timedOut' | 'skipped',
  error: ErrorInfo,
  endedAt: number,
): SpecialistOutcome {
  const work = subLeadWorkSoFar(context);
  return {
    id: spec.id, angle: spec.angle, status, output: null, error,
    attempts: work.attempts, model: null, usage: work.usage, startedAt: work.startedAt, endedAt,
    subOutcomes: work.subOutcomes,
  };
}
