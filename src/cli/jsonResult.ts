/**
 * The structured result `--json` prints: status, every specialist with its usage and estimated
 * cost, the synthesis, totals. Stable field names; plain JSON.
 */
import type { ErrorInfo } from '../errors.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { costOfOutcome, costOfRun } from '../pricing/cost.ts';
import type { PriceTable } from '../pricing/prices.ts';
import type { MissingAngle, RunBudgetReport, RunResult, RunStatus } from '../result.ts';
import type { Usage } from '../usage.ts';
import type { LoopLimit, ToolCallSummary } from '../tools/types.ts';
import { metadataOf, type FindingMetadata } from '../findings/weights.ts';

/** One specialist (or the synthesizer) in the JSON result. */
export interface JsonSpecialist {
  id: string;
  angle: string;
  status: SpecialistOutcome['status'];
  attempts: number;
  model: string | null;
  usage: Usage;
  /** Estimated USD at the price table; `null` when the model is not priced. */
  costUsd: number | null;
  elapsedMs: number | null;
  error: ErrorInfo | null;
  output: string | null;
  /** Model specialists: model turns run (1 without tools). */
  turns?: number;
  /** Model specialists: the stop reason of the last turn. */
  stopReason?: string | null;
  /** Model specialists with tools: the limit that ended the loop, `null` when the model did. */
  loopLimit?: LoopLimit | null;
  /** Model specialists: every tool call, in the order they finished (server tools marked `server`). */
  toolCalls?: ToolCallSummary[];
  /** A sub-lead's own specialists. */
  specialists?: JsonSpecialist[];
  /** A finding's metadata: reported confidence, distinct sources, words, seconds, attempts, model. */
  metadata?: FindingMetadata;
  /** Its weight in the synthesis (0–1), when the run weighs findings and it was fulfilled. */
  weight?: number;
}

/** What `fanfold … --json` prints. */
export interface JsonRunResult {
  status: RunStatus;
  /** `simulator` when the replies came from the built-in simulator. */
  backend: 'anthropic' | 'simulator';
  task: string;
  synthesis: string | null;
  specialists: JsonSpecialist[];
  synthesizer: JsonSpecialist | null;
  missing: MissingAngle[];
  error: ErrorInfo | null;
  usage: Usage;
  /** Estimated USD over every call; models missing from the price table count 0 (see `unpricedModels`). */
  costUsd: number;
  unpricedModels: string[];
  modelCalls: number;
  elapsedMs: number;
  startedAt: string;
  endedAt: string;
  /** The run's checkpoint id (`fanfold resume <runId>`); `null` when not checkpointed. */
  runId: string | null;
  /**
   * A model lead's run: the lead itself (its calls, turns and `Agent` calls; its text is the
   * synthesis unless a synthesizer folded), and every specialist it spawned with the brief it
   * gave and the round it came in, in the order of `specialists`.
   */
  lead?: { agent: JsonSpecialist | null; spawned: Array<{ id: string; template: string; description: string; prompt: string; round: number; status: SpecialistOutcome['status'] | null }> };
  /** `budget` when the run's budget stopped the fan-out. */
  stop?: 'budget';
  /** A run with a budget: the caps, the estimate before the run, the synthesis's share and the spend. */
  budget?: RunBudgetReport;
}

/** Builds the `--json` document from a run's result. */
export function toJsonResult(result: RunResult, backend: JsonRunResult['backend'], prices: PriceTable, runId: string | null = null): JsonRunResult {
  const cost = costOfRun(result, prices);
  const specialist = (outcome: SpecialistOutcome, costUsd: number | null): JsonSpecialist => {
    const entry: JsonSpecialist = {
      id: outcome.id,
      angle: outcome.angle,
      status: outcome.status,
      attempts: outcome.attempts,
      model: outcome.model,
      usage: outcome.usage,
      costUsd,
      elapsedMs: outcome.startedAt === null ? null : outcome.endedAt - outcome.startedAt,
      error: outcome.error,
      output: outcome.output,
    };
    if (outcome.turns !== undefined) entry.turns = outcome.turns;
    if (outcome.stopReason !== undefined) entry.stopReason = outcome.stopReason;
    if (outcome.loopLimit !== undefined) entry.loopLimit = outcome.loopLimit;
    if (outcome.toolCalls !== undefined) entry.toolCalls = outcome.toolCalls;
    if (outcome.subOutcomes) entry.specialists = outcome.subOutcomes.map((sub) => specialist(sub, costOfOutcome(sub, prices)));
    return entry;
  };
  // Findings (not the synthesizer or the lead) carry their metadata, and their weight when weighed.
  const finding = (outcome: SpecialistOutcome, costUsd: number | null): JsonSpecialist => {
    const entry = specialist(outcome, costUsd);
    entry.metadata = metadataOf(outcome);
    const weight = result.weights?.[outcome.id];
    if (weight !== undefined) entry.weight = weight;
    return entry;
  };
  return {
    status: result.status,
    backend,
    task: result.task,
    synthesis: result.synthesis,
    specialists: result.outcomes.map((outcome, index) => finding(outcome, cost.specialists[index]?.costUsd ?? null)),
    synthesizer: result.synthesizer ? specialist(result.synthesizer, cost.synthesizer?.costUsd ?? null) : null,
    missing: result.missing,
    error: result.error,
    usage: result.usage,
    costUsd: roundUsd(cost.total.costUsd),
    unpricedModels: cost.unpricedModels,
    modelCalls: result.modelCalls,
    elapsedMs: result.elapsedMs,
    startedAt: new Date(result.startedAt).toISOString(),
    endedAt: new Date(result.endedAt).toISOString(),
    runId,
    ...(result.stop ? { stop: result.stop } : {}),
    ...(result.budget ? { budget: result.budget } : {}),
    ...(result.lead
      ? {
          lead: {
            // Its own cost line, unless its text is the synthesis (then the synthesizer's line is its).
            agent: result.lead.outcome ? specialist(result.lead.outcome, cost.lead ? cost.lead.costUsd : (cost.synthesizer?.costUsd ?? null)) : null,
            spawned: result.lead.spawned.map((spawn, index) => ({
              id: spawn.id,
              template: spawn.template,
              description: spawn.description,
              prompt: spawn.prompt,
              round: spawn.round,
              status: result.outcomes[index]?.status ?? null,
            })),
          },
        }
      : {}),
  };
}

/** Rounds to a millionth of a dollar, so sums print without float noise. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}
