/**
 * Run events from a Restate run's snapshots. A promise actor reports nothing until it settles
 * and emitted events are not persisted, so a follower polls the lead object's snapshot and turns
 * what changed since the last one into the same `RunEvent`s the in-process runtime emits.
 */
import type { LeadContext } from '../../machines/lead.ts';
import { settledEventType, type RunEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { RunResult } from '../result.ts';
import type { RestateSpecialistOutput } from './specialist.ts';

/** The parts of the lead object's persisted snapshot the follower reads. */
export interface LeadObjectSnapshot {
  status: 'active' | 'done' | 'error' | 'stopped';
  value: unknown;
  context: LeadContext;
  output?: RunResult;
}

/** An outcome without the retries the Restate specialist carries for the event stream. */
export function cleanOutcome(outcome: SpecialistOutcome): SpecialistOutcome {
  if (!('retries' in outcome)) return outcome;
  const { retries: _retries, ...clean } = outcome as RestateSpecialistOutput;
  return clean;
}

/** A Restate run's result in exactly the in-process shape. */
export function cleanResult(result: RunResult): RunResult {
  return { ...result, outcomes: result.outcomes.map(cleanOutcome), synthesizer: result.synthesizer ? cleanOutcome(result.synthesizer) : null };
}

/** Remembers what has been reported, and reports what is new in each snapshot. */
export class SnapshotEventDiffer {
  private readonly started = new Set<number>();
  private readonly settled: Array<SpecialistOutcome | null> = [];
  private synthesisStarted = false;
  private synthesisSettled = false;
  private finished = false;

  /** True once `run.finished` was reported. */
  get done(): boolean {
    return this.finished;
  }

  /** The events between the previous snapshot and this one, in a stable order. */
  next(snapshot: LeadObjectSnapshot, now = Date.now()): RunEvent[] {
    const events: RunEvent[] = [];
    const { context } = snapshot;
    const specs = context.input.specialists;
    specs.forEach((spec, index) => {
      const outcome = context.outcomes[index];
      if (!outcome) return;
      if (this.settled[index]?.endedAt === outcome.endedAt && this.settled[index]?.status === outcome.status) return;
      // Seen once it settled (its chunk answered): its start comes first.
      if (!this.started.has(index) && outcome.startedAt !== null) {
        this.started.add(index);
        events.push({ type: 'specialist.started', id: spec.id, model: spec.models[0] ?? null, at: outcome.startedAt });
      }
      for (const retry of (outcome as RestateSpecialistOutput).retries ?? []) events.push(retry);
      const clean = cleanOutcome(outcome);
      this.settled[index] = clean;
      events.push({ type: settledEventType(clean), id: clean.id, outcome: clean });
    });
    const synthesis = context.synthesis;
    if (!this.synthesisStarted && (snapshot.value === 'synthesizing' || synthesis)) {
      this.synthesisStarted = true;
      events.push({ type: 'synthesis.started', model: context.input.synthesizer.models[0] ?? null, at: synthesis?.startedAt ?? now });
    }
    if (synthesis && !this.synthesisSettled) {
      this.synthesisSettled = true;
      for (const retry of (synthesis as RestateSpecialistOutput).retries ?? []) {
        const { type: _type, id: _id, ...rest } = retry;
        events.push({ type: 'synthesis.retrying', ...rest });
      }
      const clean = cleanOutcome(synthesis);
      events.push({ type: clean.status === 'fulfilled' ? 'synthesis.done' : 'synthesis.failed', outcome: clean });
    }
    if (snapshot.status === 'done' && snapshot.output && !this.finished) {
      this.finished = true;
      events.push({ type: 'run.finished', result: cleanResult(snapshot.output) });
    }
    return events;
  }
}
