import type { FindingReport } from './findings/reportTool.ts';
import type { ErrorInfo } from './errors.ts';
import type { LoopLimit, ToolCallSummary } from './tools/types.ts';
import { emptyUsage, type Usage } from './usage.ts';

/**
 * How a specialist ended:
 * - `fulfilled` — it produced output;
 * - `rejected` — its attempts failed (see `error`); its policy decided whether the run went on;
 * - `timedOut` — the run's deadline arrived first; its call was aborted;
 * - `skipped` — the run stopped before it finished (cancelled, or failed elsewhere).
 */
export type OutcomeStatus = 'fulfilled' | 'rejected' | 'timedOut' | 'skipped';

/** Everything fanfold keeps about one specialist (or the synthesizer). Plain JSON. */
export interface SpecialistOutcome {
  id: string;
  /** The angle or role label used in prompts and reports. */
  angle: string;
  status: OutcomeStatus;
  /** The specialist's text (or a task function's result), when fulfilled. */
  output: string | null;
  error: ErrorInfo | null;
  /** Calls made for it: every model turn of its tool loop and every retry, across all models and restarts. 0 when it never started. */
  attempts: number;
  /** Model of the last attempt; `null` for task functions and for specialists that never started. */
  model: string | null;
  /** Tokens summed over all attempts. */
  usage: Usage;
  /** When its first attempt began (ms since epoch, from the run's clock); `null` if it never started. */
  startedAt: number | null;
  endedAt: number;
  /** For a sub-lead (N-level fan-out): its sub-specialists' outcomes. */
  subOutcomes?: SpecialistOutcome[];
  /** Model specialists: the model turns it ran (a specialist without tools has one per finished call). */
  turns?: number;
  /** Model specialists: the stop reason of its last model turn (`end_turn`, `max_tokens`, …); `null` when none finished. */
  stopReason?: string | null;
  /** Model specialists with tools: the limit that ended its loop, `null` when the model ended it. */
  loopLimit?: LoopLimit | null;
  /** Model specialists: every tool call it made, in the order they finished (server tools included). */
  toolCalls?: ToolCallSummary[];
  /** What it reported with its finding (the `report` tool, offered when the run weighs findings). */
  report?: FindingReport;
  /** Model specialists with tools or a report: the distinct sources (URLs) its tools returned or it cited, at most 50. */
  sources?: string[];
}

/** The outcome of a specialist that never made a call: no attempts, no model, no usage. */
export function unstartedOutcome(specialist: { id: string; angle: string }, status: Exclude<OutcomeStatus, 'fulfilled'>, error: ErrorInfo, endedAt: number): SpecialistOutcome {
  return { id: specialist.id, angle: specialist.angle, status, output: null, error, attempts: 0, model: null, usage: emptyUsage(), startedAt: null, endedAt };
}

/**
 * Whether an outcome is whole: fulfilled, and for a sub-lead, every sub-specialist whole too.
 * A sub-lead that synthesized on part of its angles is fulfilled but not whole.
 */
export function isComplete(outcome: SpecialistOutcome): boolean {
  return outcome.status === 'fulfilled' && (outcome.subOutcomes?.every(isComplete) ?? true);
}
