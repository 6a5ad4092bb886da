/**
 * The result of a run: what the run's promise resolves to, the lead machine's output, and
 * (later) the CLI's `--json`. Built by a pure function from the lead's context.
 */
import type { ErrorInfo } from './errors.ts';
import type { SpawnRecord } from './lead/agentCalls.ts';
import { weighFindings, type WeightRule } from './findings/weights.ts';
import type { BudgetCaps, Spend } from './budget/ledger.ts';
import type { SpecialistOutcome } from './outcome.ts';
import { describeMissing } from './prompts.ts';
import { addUsageInto, emptyUsage, type Usage } from './usage.ts';

/**
 * - `done` — every specialist succeeded and the synthesis was written;
 * - `partial` — the synthesis was written on what arrived; `missing` names the rest;
 * - `failed` — quorum not met, an escalating specialist failed, or the synthesis failed;
 * - `cancelled` — the run was cancelled.
 */
export type RunStatus = 'done' | 'partial' | 'failed' | 'cancelled';

/** An angle the synthesis had to do without. */
export interface MissingAngle {
  /** The specialist's id; below a sub-lead, its path (`technical/plasma`). */
  id: string;
  angle: string;
  status: SpecialistOutcome['status'];
  reason: string;
}

/** Everything a finished run produced. Plain JSON; no finished work is dropped, whatever the status. */
export interface RunResult {
  status: RunStatus;
  task: string;
  /** The synthesis text; `null` when the run failed or was cancelled before it. */
  synthesis: string | null;
  /** Every specialist's outcome, in config order. */
  outcomes: SpecialistOutcome[];
  /** The synthesizer's outcome; `null` if synthesis never started. */
  synthesizer: SpecialistOutcome | null;
  missing: MissingAngle[];
  /** Why the run failed or was cancelled; `null` otherwise. */
  error: ErrorInfo | null;
  /** Tokens over every attempt of every specialist and the synthesizer. */
  usage: Usage;
  /** Model calls made (attempts of model specialists and of the synthesizer). */
  modelCalls: number;
  startedAt: number;
  endedAt: number;
  elapsedMs: number;
  /**
   * A model lead's run: the lead's own outcome (its last turn's text is the synthesis unless a
   * synthesizer folds instead), and every specialist it spawned, with its brief and round, in
   * the order of `outcomes`.
   */
  lead?: { outcome: SpecialistOutcome | null; spawned: SpawnRecord[] };
  /** A run that weighs findings: each fulfilled finding's weight (0–1) by id, as the synthesis prompt gave it. */
  weights?: Record<string, number>;
  /** `budget` when the run's budget stopped the fan-out (the synthesis ran on what arrived). */
  stop?: 'budget';
  /** A run with a budget: its caps, the estimate it was admitted on, and what it spent (from `runFanOut`). */
  budget?: RunBudgetReport;
}

/** What a run with a budget reports about it. */
export interface RunBudgetReport {
  caps: BudgetCaps;
  /** The unavoidable cost estimated before the run (first calls' inputs and the synthesis's share). */
  estimate: Spend;
  /** Kept for the synthesis. */
  reserve: Spend;
  /** What every model call cost, as booked when it ended. */
  spent: Spend;
  /**
   * When the budget was exhausted (a call refused): what was spent and what was in flight, at
   * its worst, then. What the run spent past its cap is at most that in-flight part.
   */
  atExhaustion: { spent: Spend; inFlight: Spend } | null;
}

/** The angles a fulfilled sub-lead had to do without, with their path (`technical/plasma`). */
function addMissingBelow(outcome: SpecialistOutcome, path: string, missing: MissingAngle[]): void {
  for (const sub of outcome.subOutcomes ?? []) {
    const id = `${path}/${sub.id}`;
    if (sub.status !== 'fulfilled') missing.push({ id, angle: sub.angle, status: sub.status, reason: describeMissing(sub) });
    else addMissingBelow(sub, id, missing);
  }
}

/** Folds outcomes into a {@link RunResult}. `endedAt` defaults to the latest time seen in them. */
export function buildRunResult(parts: {
  status: RunStatus;
  task: string;
  outcomes: readonly SpecialistOutcome[];
  synthesizer: SpecialistOutcome | null;
  error: ErrorInfo | null;
  startedAt: number;
  modelKinds: readonly boolean[];
  synthesizerIsModel: boolean;
  endedAt?: number;
  /** A model lead: its outcome and its spawns. */
  lead?: { outcome: SpecialistOutcome | null; spawned: readonly SpawnRecord[] };
  /** How findings are weighed, when they are. */
  weights?: WeightRule;
  stop?: 'budget';
}): RunResult {
  const usage = emptyUsage();
  let modelCalls = 0;
  let latest = parts.startedAt;
  const missing: MissingAngle[] = [];
  parts.outcomes.forEach((outcome, index) => {
    addUsageInto(usage, outcome.usage);
    if (parts.modelKinds[index]) modelCalls += outcome.attempts;
    if (outcome.endedAt > latest) latest = outcome.endedAt;
    if (outcome.status !== 'fulfilled') missing.push({ id: outcome.id, angle: outcome.angle, status: outcome.status, reason: describeMissing(outcome) });
    else addMissingBelow(outcome, outcome.id, missing);
  });
  if (parts.synthesizer) {
    addUsageInto(usage, parts.synthesizer.usage);
    if (parts.synthesizerIsModel) modelCalls += parts.synthesizer.attempts;
    if (parts.synthesizer.endedAt > latest) latest = parts.synthesizer.endedAt;
  }
  const leadOutcome = parts.lead?.outcome ?? null;
  // The lead's calls count once: when its text is the synthesis, they were counted as the synthesizer's.
  if (leadOutcome && parts.synthesizer?.id !== leadOutcome.id) {
    addUsageInto(usage, leadOutcome.usage);
    modelCalls += leadOutcome.attempts;
    if (leadOutcome.endedAt > latest) latest = leadOutcome.endedAt;
  }
  const endedAt = Math.max(parts.endedAt ?? latest, latest);
  return {
    ...(parts.lead ? { lead: { outcome: leadOutcome, spawned: [...parts.lead.spawned] } } : {}),
    ...(parts.weights ? { weights: Object.fromEntries(weighFindings(parts.outcomes, parts.weights)) } : {}),
    ...(parts.stop ? { stop: parts.stop } : {}),
    status: parts.status,
    task: parts.task,
    synthesis: parts.synthesizer?.status === 'fulfilled' ? parts.synthesizer.output : null,
    outcomes: [...parts.outcomes],
    synthesizer: parts.synthesizer,
    missing,
    error: parts.error,
    usage,
    modelCalls,
    startedAt: parts.startedAt,
    endedAt,
    elapsedMs: endedAt - parts.startedAt,
  };
}
