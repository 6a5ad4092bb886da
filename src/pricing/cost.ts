/**
 * Estimated cost of a run: tokens × the price table, per specialist and in total.
 */
import type { SpecialistOutcome } from '../outcome.ts';
import type { RunResult } from '../result.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import { BATCH_PRICE_FACTOR, DEFAULT_PRICES, type ModelPrice, type PriceTable } from './prices.ts';
import { WEB_SEARCH_USD_PER_REQUEST } from '../tools/serverTools.ts';

/** The price entry for a model: an exact id, else the longest id it starts with (dated variants). */
export function priceOf(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const id of Object.keys(table)) if (model.startsWith(`${id}-`) && (!best || id.length > best.length)) best = id;
  return best ? table[best] : undefined;
}

/**
 * Estimated USD for `usage` on `model` — tokens, plus web searches at $10 per 1,000; `null`
 * when the model is not in the table. The share of the tokens that went through a Message Batch
 * (`usage.batched`) is priced at {@link BATCH_PRICE_FACTOR} of the rest.
 */
export function estimateCostUsd(usage: Usage, model: string | null, table: PriceTable = DEFAULT_PRICES): number | null {
  if (!model) return null;
  const price = priceOf(model, table);
  if (!price) return null;
  const batchedSaving = usage.batched ? (1 - BATCH_PRICE_FACTOR) * tokenCost(usage.batched, price) : 0;
  return (tokenCost(usage, price) - batchedSaving) / 1_000_000 + (usage.serverToolUse?.webSearchRequests ?? 0) * WEB_SEARCH_USD_PER_REQUEST;
}

/** Tokens × prices, in USD × 1,000,000. */
function tokenCost(usage: Pick<Usage, 'inputTokens' | 'outputTokens' | 'cacheCreationInputTokens' | 'cacheReadInputTokens'>, price: ModelPrice): number {
  return usage.inputTokens * price.input + usage.outputTokens * price.output + usage.cacheCreationInputTokens * price.cacheWrite + usage.cacheReadInputTokens * price.cacheRead;
}

/** One line of the cost report. */
export interface CostLine {
  id: string;
  model: string | null;
  usage: Usage;
  /** `null` when the model is not priced (or no model was called). */
  costUsd: number | null;
}

/** Cost per specialist, the synthesizer, and in total. */
export interface CostReport {
  specialists: CostLine[];
  synthesizer: CostLine | null;
  /** A model lead's own calls, when its text is not the synthesizer's line already. */
  lead: CostLine | null;
  total: { usage: Usage; costUsd: number };
  /** Models that had usage but no price: their tokens are not in `total.costUsd`. */
  unpricedModels: string[];
}

/**
 * Prices a run's result. Each outcome is priced at the model of its last attempt (a specialist
 * that fell back to another model is priced at the fallback).
 */
export function costOfRun(result: Pick<RunResult, 'outcomes' | 'synthesizer'> & Partial<Pick<RunResult, 'lead'>>, table: PriceTable = DEFAULT_PRICES): CostReport {
  const unpriced = new Set<string>();
  const totalUsage = emptyUsage();
  let totalCost = 0;
  const line = (outcome: SpecialistOutcome): CostLine => {
    const costUsd = pricedCost(outcome, table, unpriced);
    addUsageInto(totalUsage, outcome.usage);
    totalCost += costUsd ?? 0;
    return { id: outcome.id, model: outcome.model, usage: outcome.usage, costUsd };
  };
  const specialists = result.outcomes.map(line);
  const synthesizer = result.synthesizer ? line(result.synthesizer) : null;
  const leadOutcome = result.lead?.outcome ?? null;
  const lead = leadOutcome && leadOutcome.id !== result.synthesizer?.id ? line(leadOutcome) : null;
  return { specialists, synthesizer, lead, total: { usage: totalUsage, costUsd: totalCost }, unpricedModels: [...unpriced] };
}

/**
 * Estimated USD of one outcome; a sub-lead's includes its sub-tree. `null` when nothing in it
 * could be priced.
 */
export function costOfOutcome(outcome: SpecialistOutcome, table: PriceTable = DEFAULT_PRICES): number | null {
  return pricedCost(outcome, table, new Set());
}

/**
 * A sub-lead's cost: its sub-specialists' costs plus its own synthesis, which is the rest of its
 * usage, priced at its synthesizer's model (`outcome.model`).
 */
function pricedCost(outcome: SpecialistOutcome, table: PriceTable, unpriced: Set<string>): number | null {
  if (outcome.subOutcomes) {
    let sum = 0;
    let priced = false;
    const subUsage = emptyUsage();
    for (const sub of outcome.subOutcomes) {
      addUsageInto(subUsage, sub.usage);
      const cost = pricedCost(sub, table, unpriced);
      if (cost !== null) {
        sum += cost;
        priced = true;
      }
    }
    const own = ownCost({ ...outcome, usage: subtractUsage(outcome.usage, subUsage) }, table, unpriced);
    return priced || own !== null ? sum + (own ?? 0) : null;
  }
  return ownCost(outcome, table, unpriced);
}

function ownCost(outcome: Pick<SpecialistOutcome, 'usage' | 'model'>, table: PriceTable, unpriced: Set<string>): number | null {
  const cost = estimateCostUsd(outcome.usage, outcome.model, table);
  const used = outcome.usage.inputTokens + outcome.usage.outputTokens > 0;
  if (cost === null && used && outcome.model) unpriced.add(outcome.model);
  return cost;
}

function subtractUsage(a: Usage, b: Usage): Usage {
  const out: Usage = {
    inputTokens: Math.max(0, a.inputTokens - b.inputTokens),
    outputTokens: Math.max(0, a.outputTokens - b.outputTokens),
    cacheCreationInputTokens: Math.max(0, a.cacheCreationInputTokens - b.cacheCreationInputTokens),
    cacheReadInputTokens: Math.max(0, a.cacheReadInputTokens - b.cacheReadInputTokens),
  };
  if (a.serverToolUse) {
    out.serverToolUse = {
      webSearchRequests: Math.max(0, a.serverToolUse.webSearchRequests - (b.serverToolUse?.webSearchRequests ?? 0)),
      webFetchRequests: Math.max(0, a.serverToolUse.webFetchRequests - (b.serverToolUse?.webFetchRequests ?? 0)),
    };
  }
  if (a.batched) {
    const sub = b.batched;
    out.batched = {
      inputTokens: Math.max(0, a.batched.inputTokens - (sub?.inputTokens ?? 0)),
      outputTokens: Math.max(0, a.batched.outputTokens - (sub?.outputTokens ?? 0)),
      cacheCreationInputTokens: Math.max(0, a.batched.cacheCreationInputTokens - (sub?.cacheCreationInputTokens ?? 0)),
      cacheReadInputTokens: Math.max(0, a.batched.cacheReadInputTokens - (sub?.cacheReadInputTokens ?? 0)),
    };
  }
  return out;
}
