/**
 * N-level fan-out: a specialist that is itself a lead. The fan-out actor starts a nested lead
 * machine for it (the same machine, with the same actor implementations), and these functions
 * translate between the two levels: the nested lead's input, and its result or last snapshot
 * as the parent's outcome for that specialist.
 */
import type { AnyActorRef } from 'xstate';
import type { LeadInput, SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { RunResult } from '../result.ts';
import { addUsageInto, emptyUsage } from '../usage.ts';

/** The nested lead's input: its sub-specialists, and a deadline no later than the parent's. */
export function subLeadInput(
  task: string,
  spec: SpecialistSpec,
  parentDeadlineAt: number,
  now: number,
  weights?: LeadInput['weights'],
  context?: string,
  budget?: LeadInput['budget'],
): LeadInput & { startedAt: number } {
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
    // Findings are weighed at every level alike; the shared context too (its cache is written above).
    ...(weights ? { weights } : {}),
    ...(context !== undefined ? { context, cacheWarm: true } : {}),
    ...(budget ? { budget } : {}),
    nested: true,
  };
}

/**
 * A finished sub-lead's result as its outcome: its synthesis is its output. When the run's
 * budget refused its synthesis, its findings are its output as they came (headed by angle,
 * with a note saying so): what its specialists finished is never lost for want of a summary.
 */
export function outcomeOfSubLead(spec: SpecialistSpec, result: RunResult): SpecialistOutcome {
  const unsummarised = result.status === 'failed' && result.synthesizer?.error?.kind === 'budget' ? findingsAsTheyCame(result) : null;
  const fulfilled = result.status === 'done' || result.status === 'partial' || unsummarised !== null;
  return {
    id: spec.id,
    angle: spec.angle,
    status: fulfilled ? 'fulfilled' : result.status === 'cancelled' ? 'skipped' : 'rejected',
    output: unsummarised ?? (fulfilled ? result.synthesis : null),
    error: fulfilled ? null : (result.error ?? { kind: 'unknown', message: `sub-lead ended ${result.status}` }),
    attempts: result.modelCalls,
    model: result.synthesizer?.model ?? null,
    usage: result.usage,
    startedAt: result.startedAt,
    endedAt: result.endedAt,
    subOutcomes: result.outcomes,
  };
}

/** A sub-lead's fulfilled findings joined under their angles, or `null` when none. */
function findingsAsTheyCame(result: RunResult): string | null {
  const found = result.outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.output);
  if (found.length === 0) return null;
  const note = `(${result.synthesizer!.error!.message} — not summarised; its ${found.length} of ${result.outcomes.length} findings as they came)`;
  return [note, ...found.map((outcome) => `## ${outcome.angle}\n\n${outcome.output!.trim()}`)].join('\n\n');
}

/**
 * Stops a running sub-lead from the parent (deadline, cancel, escalation elsewhere) and returns
 * its outcome. The sub-lead is told to cancel first — its own fan-out then stops its
 * sub-specialists and records every one of them, finished or not — and its result is read
 * back, so no finished sub-outcome and no call made below is lost. Sub-specialists cut off by
 * a parent deadline are reported as timed out, not cancelled.
 */
export function stopSubLead(child: AnyActorRef, spec: SpecialistSpec, status: 'timedOut' | 'skipped', error: ErrorInfo, endedAt: number): SpecialistOutcome {
  if (child.getSnapshot().status === 'active') child.send({ type: 'run.cancel', reason: error.message });
  const last = child.getSnapshot();
  if (last.status === 'done') {
    const result = last.output as RunResult;
    const cutOff = (outcome: SpecialistOutcome): SpecialistOutcome =>
      status === 'timedOut' && outcome.status === 'skipped' && outcome.error?.kind === 'cancelled' ? { ...outcome, status: 'timedOut', error } : outcome;
    return {
      ...outcomeOfSubLead(spec, result),
      status,
      output: null,
      error,
      endedAt,
      subOutcomes: result.outcomes.map(cutOff),
    };
  }
  // It could not finish synchronously (it was busy): count what its context already holds.
  const work = subLeadWorkSoFar(last.context);
  return { id: spec.id, angle: spec.angle, status, output: null, error, attempts: work.attempts, model: null, usage: work.usage, startedAt: work.startedAt, endedAt, subOutcomes: work.subOutcomes };
}

/** The work a sub-lead's context records: its settled sub-specialists and synthesis. */
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
