import type { ErrorInfo } from './errors.ts';
import type { SpecialistOutcome } from './outcome.ts';
import type { RunResult } from './result.ts';
import type { Usage } from './usage.ts';

/** A specialist's first attempt began (its concurrency slot opened). */
export interface SpecialistStartedEvent {
  type: 'specialist.started';
  id: string;
  model: string | null;
  at: number;
}
/**
 * A very large run's progress, in place of per-specialist `specialist.started` (and
 * `specialist.token`) events: a run of more than `LIGHT_HOSTING_ABOVE` specialists reports its
 * fan-out's counts once per report to the lead instead. Settled events still come one per
 * specialist.
 */
export interface SpecialistsProgressEvent {
  type: 'specialists.progress';
  /** Specialists in the fan-out so far. */
  total: number;
  /** Waiting to start (for a concurrency slot, or to start again). */
  queued: number;
  /** Running now. */
  running: number;
  fulfilled: number;
  /** Settled otherwise: failed, timed out or skipped. */
  unsuccessful: number;
  at: number;
}
/** A text delta streamed by a specialist's model. */
export interface SpecialistTokenEvent {
  type: 'specialist.token';
  id: string;
  text: string;
}
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
/**
 * A specialist's loop started a tool call: a client tool (code, MCP) it runs itself, or a
 * server tool the API runs inside the model call (`server: true`).
 */
export interface SpecialistToolStartedEvent {
  type: 'specialist.tool.started';
  id: string;
  /** The tool's name as the model called it. */
  tool: string;
  /** The call's id (`toolu_…`, `srvtoolu_…`). */
  callId: string;
  turn: number;
  server: boolean;
  /** The input as JSON text, redacted and capped at 1,000 characters. */
  input: string;
  at: number;
}
/** A tool call finished (an error is a result too: `isError`, with `error` saying why). */
export interface SpecialistToolDoneEvent {
  type: 'specialist.tool.done';
  id: string;
  tool: string;
  callId: string;
  turn: number;
  server: boolean;
  ms: number;
  isError: boolean;
  /** Why it failed (thrown, timed out, unknown tool, invalid input, limit), or `null`. */
  error: string | null;
  /** The result text, redacted and capped at 1,000 characters. */
  result: string;
  at: number;
}
/** A model turn of a specialist's loop finished. */
export interface SpecialistTurnEvent {
  type: 'specialist.turn';
  id: string;
  turn: number;
  model: string;
  /** `tool_use` (tools follow), `pause_turn` (the turn goes on), `end_turn`, `max_tokens`, … */
  stopReason: string | null;
  /** Client tool calls it asked for. */
  toolUses: number;
  /** True when it was the last turn the loop allows (no tools offered): a limit was reached. */
  final: boolean;
  /** Its text, redacted and capped at 1,000 characters. */
  text: string;
  /** What this turn's call cost. */
  usage: Usage;
  at: number;
}
/** A specialist ended; the event type says how, the outcome says everything else. */
export interface SpecialistSettledEvent {
  type: 'specialist.done' | 'specialist.failed' | 'specialist.timedOut' | 'specialist.skipped';
  id: string;
  outcome: SpecialistOutcome;
}
/** The synthesizer's first attempt began. */
export interface SynthesisStartedEvent {
  type: 'synthesis.started';
  model: string | null;
  at: number;
}
/** A text delta of the synthesis. */
export interface SynthesisTokenEvent {
  type: 'synthesis.token';
  text: string;
}
/** A synthesis attempt failed and will be tried again. */
export interface SynthesisRetryingEvent extends Omit<SpecialistRetryingEvent, 'type' | 'id'> {
  type: 'synthesis.retrying';
}
/** The synthesis ended (fulfilled or not). */
export interface SynthesisSettledEvent {
  type: 'synthesis.done' | 'synthesis.failed';
  outcome: SpecialistOutcome;
}
/** A model lead spawned a specialist with an `Agent` call: it starts in the background. */
export interface LeadSpawnedEvent {
  type: 'lead.spawned';
  /** The new specialist's id (`explorer-1`): its events and outcome carry it. */
  id: string;
  template: string;
  /** Its angle. */
  description: string;
  /** The brief the lead gave it. */
  prompt: string;
  /** The round of spawning, from 1. */
  round: number;
  callId: string;
  at: number;
}
/** A model lead called `Agent` to wait for specialists. */
export interface LeadJoiningEvent {
  type: 'lead.joining';
  callId: string;
  ids: string[];
  at: number;
}
/** A join was answered: every specialist in it had settled (or was stopped at its deadline). */
export interface LeadJoinedEvent {
  type: 'lead.joined';
  callId: string;
  ids: string[];
  statuses: Array<{ id: string; status: SpecialistOutcome['status'] }>;
  at: number;
}
/** How many of a batch's requests are where (the API's `request_counts`). */
export interface BatchRequestCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

/**
 * Batch mode: a batch of specialists' calls was created (its id is journaled in a checkpointed
 * run before this is emitted).
 */
export interface BatchSubmittedEvent {
  type: 'batch.submitted';
  batchId: string;
  /** Requests in it. */
  requests: number;
  /** Its create body's size. */
  bytes: number;
  at: number;
}
/**
 * Batch mode: a poll of a batch found it changed (status or counts; the API may report every
 * request `processing` until the batch ends). `kept`: the batch was created before a resume.
 */
export interface BatchProgressEvent {
  type: 'batch.progress';
  batchId: string;
  status: 'in_progress' | 'canceling' | 'ended';
  requests: number;
  counts: BatchRequestCounts;
  kept: boolean;
  at: number;
}
/**
 * Batch mode: a batch ended and its results were read (`counts` from the results). `canceled`
 * says why fanfold canceled it, if it did: the run's deadline was near, the run was cancelled, or
 * nobody waited for its results any more.
 */
export interface BatchEndedEvent {
  type: 'batch.ended';
  batchId: string;
  requests: number;
  counts: BatchRequestCounts;
  canceled: 'deadline' | 'run' | 'unused' | null;
  kept: boolean;
  at: number;
}

/** The run reached a final state; `result` equals what the run's promise resolves to. */
export interface RunFinishedEvent {
  type: 'run.finished';
  result: RunResult;
}

/** Every event a run emits, in order, on `run.events$` and through `actor.on(type, …)`. */
export type RunEvent =
  | SpecialistStartedEvent
  | SpecialistsProgressEvent
  | SpecialistTokenEvent
  | SpecialistRetryingEvent
  | SpecialistToolStartedEvent
  | SpecialistToolDoneEvent
  | SpecialistTurnEvent
  | SpecialistSettledEvent
  | SynthesisStartedEvent
  | SynthesisTokenEvent
  | SynthesisRetryingEvent
  | SynthesisSettledEvent
  | LeadSpawnedEvent
  | LeadJoiningEvent
  | LeadJoinedEvent
  | BatchSubmittedEvent
  | BatchProgressEvent
  | BatchEndedEvent
  | RunFinishedEvent;

/** Events of batch mode's batches (they come from the batch provider, not from an actor). */
export type BatchEvent = BatchSubmittedEvent | BatchProgressEvent | BatchEndedEvent;

/** Events about one specialist's progress, as a specialist actor reports them to its parent. */
export type SpecialistProgressEvent = SpecialistStartedEvent | SpecialistTokenEvent | SpecialistRetryingEvent | SpecialistToolStartedEvent | SpecialistToolDoneEvent | SpecialistTurnEvent;

/** Maps a settled outcome to the event type announcing it. */
export function settledEventType(outcome: SpecialistOutcome): SpecialistSettledEvent['type'] {
  switch (outcome.status) {
    case 'fulfilled':
      return 'specialist.done';
    case 'rejected':
      return 'specialist.failed';
    case 'timedOut':
      return 'specialist.timedOut';
    case 'skipped':
      return 'specialist.skipped';
  }
}
