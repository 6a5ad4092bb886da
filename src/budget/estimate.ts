/**
 * A budget's check before the run: what the run cannot avoid spending — the inputs of its first
 * calls (counted with the provider's count_tokens where it has one) and the share kept for the
 * synthesis — against its caps. A run that cannot fit is refused before any call, with the
 * estimate; one that may fit starts, and its ledger keeps the cap while it runs.
 */
import { FanfoldError } from '../errors.ts';
import { priceOf } from '../pricing/cost.ts';
import type { PriceTable } from '../pricing/prices.ts';
import type { ModelProvider, ModelRequest } from '../providers/provider.ts';
import { describeSpend, fits, inputTokensAtMost, NO_SPEND, type BudgetCaps, type Spend } from './ledger.ts';

/** At most this many distinct first requests are counted by the backend; the rest are scaled from them. */
const COUNTED_REQUESTS = 16;

/** What the check found. */
export interface BudgetEstimate {
  /** The first calls' inputs: unavoidable. */
  firstCalls: Spend & { calls: number; counted: number };
  /** Kept for the synthesis (its worst case, at most the configured share of the cap). */
  reserve: Spend;
  /** Both together: what the run cannot avoid. */
  total: Spend;
}

/** A run refused before any call: its unavoidable cost already passes its budget. */
export class BudgetExceededError extends FanfoldError {
  readonly estimate: BudgetEstimate;
  readonly caps: BudgetCaps;
  constructor(source: string, estimate: BudgetEstimate, caps: BudgetCaps) {
    const cap = [
      caps.usd !== null ? `$${caps.usd}` : null,
      caps.inputTokens !== null ? `${caps.inputTokens} input tokens` : null,
      caps.outputTokens !== null ? `${caps.outputTokens} output tokens` : null,
    ]
      .filter(Boolean)
      .join(', ');
    super(
      'budget',
      `Refused before any call (${source}): the run's unavoidable cost is estimated at ${describeSpend(estimate.total)} — its ${estimate.firstCalls.calls} first calls' inputs ${describeSpend(estimate.firstCalls)} (${estimate.firstCalls.counted} counted with count_tokens) and ${describeSpend(estimate.reserve)} kept for the synthesis — over its budget of ${cap}. Raise the budget, or lower maxTokens (the synthesis's share grows with it).`,
    );
    this.name = 'BudgetExceededError';
    this.estimate = estimate;
    this.caps = caps;
  }
}

/** What the estimate needs to know of the run. */
export interface EstimateInput {
  caps: BudgetCaps;
  /** Share of the USD cap the synthesis may keep at most; `null`: half. */
  reserveShare: number | null;
  /** Every first call the run will make (its specialists', or a model lead's). */
  firstRequests: ModelRequest[];
  /** The synthesis's worst case: its request's input size in tokens, its model and `maxTokens`. */
  synthesis: { inputTokens: number; model: string; maxTokens: number } | null;
  /** The shared context's text, when the run has one (one call writes its cache, the rest read it). */
  context: string | undefined;
  provider: ModelProvider | undefined;
  prices: PriceTable;
  signal?: AbortSignal;
}

/** Estimates what a run cannot avoid spending. */
export async function estimateBudget(input: EstimateInput): Promise<BudgetEstimate> {
  const { firstRequests, prices } = input;
  // Count a few distinct requests with the backend; scale the others by their length.
  const counted = new Map<string, number>();
  let countedChars = 0;
  let countedTokens = 0;
  if (input.provider?.countTokens) {
    for (const request of firstRequests) {
      if (counted.size >= COUNTED_REQUESTS) break;
      const key = JSON.stringify([request.model, request.context === undefined ? 0 : request.context.length, request.system, request.messages, request.tools]);
      if (counted.has(key)) continue;
      let tokens: number;
      try {
        tokens = await input.provider.countTokens(request, input.signal ? { signal: input.signal } : {});
      } catch (error) {
        // Counting is a refinement: without it (a backend with no count_tokens, say) the
        // text is measured, from above. A cancel is still a cancel.
        if (input.signal?.aborted) throw error;
        break;
      }
      counted.set(key, tokens);
      countedChars += charsOf(request);
      countedTokens += tokens;
    }
  }
  const tokensPerChar = countedChars > 0 ? countedTokens / countedChars : null;
  const contextTokens = input.context === undefined ? 0 : Math.ceil(input.context.length * (tokensPerChar ?? 0.25));
  let usd = 0;
  let inputTokens = 0;
  firstRequests.forEach((request, index) => {
    const tokens = tokensPerChar === null ? inputTokensAtMost(request) : Math.ceil(charsOf(request) * tokensPerChar);
    inputTokens += tokens;
    const price = priceOf(request.model, prices);
    if (!price) return;
    // With a shared context, the first call writes its cache and the others read it.
    const shared = request.context === undefined ? 0 : Math.min(contextTokens, tokens);
    const contextRate = index === 0 ? price.cacheWrite : price.cacheRead;
    usd += ((tokens - shared) * price.input + shared * contextRate) / 1_000_000;
  });
  const firstCalls = { usd, inputTokens, outputTokens: 0, calls: firstRequests.length, counted: counted.size };
  const reserve = reserveFor(input);
  const total = { usd: firstCalls.usd + reserve.usd, inputTokens: firstCalls.inputTokens + reserve.inputTokens, outputTokens: reserve.outputTokens };
  return { firstCalls, reserve, total };
}

/** The synthesis's worst case, its USD share capped (the rest of its tokens stay reserved). */
export function reserveFor(input: Pick<EstimateInput, 'synthesis' | 'prices' | 'reserveShare' | 'caps'>): Spend {
  if (!input.synthesis) return { ...NO_SPEND };
  const { inputTokens, model, maxTokens } = input.synthesis;
  const price = priceOf(model, input.prices);
  // As the ledger admits it: its input at the dearer of the plain and the cache-write price.
  const worst = price ? (inputTokens * Math.max(price.input, price.cacheWrite) + maxTokens * price.output) / 1_000_000 : 0;
  const share = input.reserveShare ?? 0.5;
  const usd = input.caps.usd === null ? worst : Math.min(worst, input.caps.usd * share);
  return { usd, inputTokens, outputTokens: maxTokens };
}

/** Throws {@link BudgetExceededError} when the estimate does not fit the caps. */
export function checkEstimate(estimate: BudgetEstimate, caps: BudgetCaps, source: string): void {
  if (!fits(estimate.total, caps)) throw new BudgetExceededError(source, estimate, caps);
}

function charsOf(request: ModelRequest): number {
  let chars = (request.system?.length ?? 0) + (request.context?.length ?? 0);
  for (const message of request.messages) chars += typeof message.content === 'string' ? message.content.length : JSON.stringify(message.content).length;
  if (request.tools) chars += JSON.stringify(request.tools).length;
  return chars;
}
