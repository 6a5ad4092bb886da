import type { ErrorInfo } from './errors.ts';
import type { SpecialistOutcome } from './outcome.ts';
import type { RunResult } from './result.ts';

/** A specialist's first attempt began (its concurrency slot opened). */
export interface SpecialistStartedEvent { type: 'specialist.started'; id: string; model: string | null; at: number }
/** A text delta streamed by a specialist's model. */
export interface SpecialistTokenEvent { type: 'specialist.token'; id: string; text: string }
/** An attempt failed and the policy chose another: after `delayMs`, attempt `attempt` on `model`. */
export interface SpecialistRetryingEvent {
  type: 'specialist.retrying';
  id: string;
  attempt: number;
  model: string | null;
  delayMs: number;
  reason: 'backoff' | 'fallback';
  error: ErrorInfo;
  at: number;
}
/** A specialist ended; the event type says how, the outcome says everything else. */
export interface SpecialistSettledEvent {
  type: 'specialist.done' | 'specialist.failed' | 'specialist.timedOut' | 'specialist.skipped';
  id: string;
  outcome: SpecialistOutcome;
}
/** The synthesizer's first attempt began. */
export interface SynthesisStartedEvent { type: 'synthesis.started'; model: string | null; at: number }
/** A text delta of the synthesis. */
export interface SynthesisTokenEvent { type: 'synthesis.token'; text: string }
/** A synthesis attempt failed and will be tried again. */
export interface SynthesisRetryingEvent extends Omit<SpecialistRetryingEvent, 'type' | 'id'> { type: 'synthesis.retrying' }
/** The synthesis ended (fulfilled or not). */
export interface SynthesisSettledEvent { type: 'synthesis.done' | 'synthesis.failed'; outcome: SpecialistOutcome }
/** The run reached a final state; `result` equals what the run's promise resolves to. */
export interface RunFinishedEvent { type: 'run.finished'; result: RunResult }

/** Every event a run emits, in order, on `run.events$` and through `actor.on(type, …)`. */
export type RunEvent =
  | SpecialistStartedEvent
  | SpecialistTokenEvent
  | SpecialistRetryingEvent
  | SpecialistSettledEvent
  | SynthesisStartedEvent
  | SynthesisTokenEvent
  | SynthesisRetryingEvent
  | SynthesisSettledEvent
  | RunFinishedEvent;

/** Events about one specialist's progress, as a specialist actor reports them to its parent. */
export type SpecialistProgressEvent = SpecialistStartedEvent | SpecialistTokenEvent | SpecialistRetryingEvent;

/** Maps a settled outcome to the event type announcing it. */
export function settledEventType(outcome: SpecialistOutcome): SpecialistSettledEvent['type'] {
  switch (outcome.status) {
    case 'fulfilled': return 'specialist.done';
    case 'rejected': return 'specialist.failed';
    case 'timedOut': return 'specialist.timedOut';
    case 'skipped': return 'specialist.skipped';
  }
}
