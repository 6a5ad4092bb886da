/**
 * A run's budget, kept while it runs: what finished calls cost, the worst case of the calls in
 * flight, and the part held back for the synthesis. No new call starts once what was spent plus
 * the worst case of the calls in flight would pass the cap less the reserve (the line): so the
 * fan-out ends at most one call's worst case past the line, and the synthesis has its share. The first refusal exhausts the budget: no new specialist starts,
 * and the fan-out stops (see `fanOut.ts`); running ones go on only while their calls fit under
 * the line. The synthesis (and a model lead's answer after its fan-out) must fit whole, its
 * worst case included, under the cap.
 */
import type { ModelRequest } from '../providers/provider.ts';
import { estimateCostUsd, priceOf } from '../pricing/cost.ts';
import type { PriceTable } from '../pricing/prices.ts';
import { WEB_SEARCH_USD_PER_REQUEST } from '../tools/serverTools.ts';
import type { Usage } from '../usage.ts';

/** Caps of a run or a specialist; `null`: none on that measure. */
export interface BudgetCaps {
  usd: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
}

/** Money and tokens, spent or at stake. */
export interface Spend {
  usd: number;
  inputTokens: number;
  outputTokens: number;
}

export const NO_SPEND: Readonly<Spend> = Object.freeze({ usd: 0, inputTokens: 0, outputTokens: 0 });

const add = (a: Spend, b: Spend): Spend => ({ usd: a.usd + b.usd, inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens });

/** Whether `spend` fits under `caps` (a cap of `null` always fits). */
export function fits(spend: Spend, caps: BudgetCaps): boolean {
  // A hair of slack for floating-point sums of many small prices.
  return (
    (caps.usd === null || spend.usd <= caps.usd + 1e-9) &&
    (caps.inputTokens === null || spend.inputTokens <= caps.inputTokens) &&
    (caps.outputTokens === null || spend.outputTokens <= caps.outputTokens)
  );
}

/** Whether `spend` is at (or past) a cap on some measure. */
function reached(spend: Spend, caps: BudgetCaps): boolean {
  return (
    (caps.usd !== null && spend.usd >= caps.usd - 1e-9) ||
    (caps.inputTokens !== null && spend.inputTokens >= caps.inputTokens) ||
    (caps.outputTokens !== null && spend.outputTokens >= caps.outputTokens)
  );
}

/**
 * Input tokens of a request, from above: about three characters a token (English text runs
 * nearer four), plus room for the request's framing. An upper bound keeps the cap a cap.
 */
export function inputTokensAtMost(request: Pick<ModelRequest, 'system' | 'context' | 'messages' | 'tools'>): number {
  let chars = (request.system?.length ?? 0) + (request.context?.length ?? 0);
  for (const message of request.messages) chars += typeof message.content === 'string' ? message.content.length : JSON.stringify(message.content).length;
  if (request.tools) chars += JSON.stringify(request.tools).length;
  return Math.ceil(chars / 3) + 64;
}

/**
 * The most one call can cost: its input (all of it written to the cache, the dearest way to
 * send it), `maxTokens` of output, and every web search it may make. `null` USD when the model
 * is not priced (then only token caps apply to it).
 */
export function worstCaseOf(request: ModelRequest, prices: PriceTable): Spend & { priced: boolean } {
  const inputTokens = inputTokensAtMost(request);
  const searches = (request.tools ?? []).reduce((sum, tool) => sum + (tool.kind === 'server' && tool.name === 'web_search' ? (tool.maxUses ?? 10) : 0), 0);
  const price = priceOf(request.model, prices);
  const usd = price ? (inputTokens * Math.max(price.input, price.cacheWrite) + request.maxTokens * price.output) / 1_000_000 + searches * WEB_SEARCH_USD_PER_REQUEST : 0;
  return { usd, inputTokens, outputTokens: request.maxTokens, priced: price !== undefined };
}

/** What a finished (or stopped) call cost, from its usage. */
export function spendOf(usage: Usage, model: string, prices: PriceTable): Spend {
  return {
    usd: estimateCostUsd(usage, model, prices) ?? 0,
    inputTokens: usage.inputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens,
    outputTokens: usage.outputTokens,
  };
}

/** Why a call was refused, in words for the outcome and the synthesis. */
export interface Refusal {
  message: string;
}

/** The run's budget while it runs. One per run, shared by every level (sub-leads included). */
export class BudgetLedger {
  readonly caps: BudgetCaps;
  readonly prices: PriceTable;
  /** What finished and stopped calls cost. */
  spent: Spend = { ...NO_SPEND };
  /** Held for the synthesis until it starts. */
  reserved: Spend;
  /** Set by the first refusal: no new specialist starts after it. */
  exhausted = false;
  /** When it was exhausted: what was spent and what was in flight (at its worst) then. */
  atExhaustion: { spent: Spend; inFlight: Spend } | null = null;
  readonly #inFlight = new Map<string, Spend>();
  /** Keys of the calls in flight that are not the synthesis's (specialists', digests'). */
  readonly #fanOutCalls = new Set<string>();
  readonly #listeners = new Set<() => void>();

  constructor(caps: BudgetCaps, prices: PriceTable, reserved: Spend = NO_SPEND) {
    this.caps = caps;
    this.prices = prices;
    this.reserved = { ...reserved };
  }

  /** Everything in flight, at its worst; `synthesisOnly`: the synthesis's calls alone. */
  inFlight(synthesisOnly = false): Spend {
    let sum = { ...NO_SPEND };
    for (const [key, spend] of this.#inFlight) if (!synthesisOnly || !this.#fanOutCalls.has(key)) sum = add(sum, spend);
    return sum;
  }

  /**
   * Admits a call at its worst case, or says why not. A specialist's call starts while what was
   * spent and what is in flight stay under the cap less the reserve (the line): so specialists
   * pass the line by at most the worst case of the calls in flight when the last one started.
   * `synthesis`: the call may use the reserve (the synthesizer, a model lead's turns) and must
   * fit whole — what was spent, the synthesis's own calls in flight and its worst case, within
   * the cap. Specialists' calls in flight do not hold it back (a lead goes on beside them); once
   * they have ended, the answer cannot take the run past its cap.
   */
  admit(key: string, worst: Spend, options: { synthesis?: boolean } = {}): Refusal | null {
    let refused: boolean;
    if (options.synthesis) {
      refused = !fits(add(add(this.spent, this.inFlight(true)), worst), this.caps);
    } else {
      const committed = add(add(this.spent, this.inFlight()), this.reserved);
      // At the line (not only past it): nothing more starts once the cap is reached.
      refused = !fits(committed, this.caps) || reached(committed, this.caps);
    }
    if (refused) {
      const refusal = { message: options.synthesis ? this.describeWhole(worst) : this.describe(this.reserved) };
      if (!options.synthesis) this.exhaust();
      return refusal;
    }
    this.#inFlight.set(key, worst);
    if (!options.synthesis) this.#fanOutCalls.add(key);
    return null;
  }

  /** A call ended (or was stopped): it cost `spend`, no longer its worst case. */
  settle(key: string, spend: Spend): void {
    if (!this.#inFlight.delete(key)) return;
    this.#fanOutCalls.delete(key);
    this.spent = add(this.spent, spend);
  }

  /** Books what was spent outside any admitted call (a resumed run's kept outcomes). */
  book(spend: Spend): void {
    this.spent = add(this.spent, spend);
  }

  /** The synthesis is starting: what was held for it is its to use. */
  release(): void {
    this.reserved = { ...NO_SPEND };
  }

  /** Calls `listener` once the budget is exhausted (at once if it is). Returns an unsubscribe. */
  onExhausted(listener: () => void): () => void {
    if (this.exhausted) {
      listener();
      return () => {};
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  private exhaust(): void {
    if (this.exhausted) return;
    this.exhausted = true;
    this.atExhaustion = { spent: { ...this.spent }, inFlight: this.inFlight() };
    for (const listener of [...this.#listeners]) listener();
    this.#listeners.clear();
  }

  /** Why a call that must fit whole does not: what was spent, and the call at its worst. */
  private describeWhole(worst: Spend): string {
    const cap = [
      this.caps.usd !== null ? `$${this.caps.usd.toFixed(4)}` : null,
      this.caps.inputTokens !== null ? `${this.caps.inputTokens} input tokens` : null,
      this.caps.outputTokens !== null ? `${this.caps.outputTokens} output tokens` : null,
    ]
      .filter(Boolean)
      .join(', ');
    return `budget: what is left of the run's ${cap} cannot pay for this call (spent ${describeSpend(this.spent)}; the call up to ${describeSpend(worst)})`;
  }

  private describe(held: Spend): string {
    const caps = this.caps;
    const money = (usd: number) => `$${usd.toFixed(4)}`;
    if (caps.usd !== null) {
      const inFlight = this.inFlight().usd;
      return `budget: the run's ${money(caps.usd)} is committed (spent ${money(this.spent.usd)}, in flight up to ${money(inFlight)}${held.usd > 0 ? `, ${money(held.usd)} kept for the synthesis` : ''})`;
    }
    const measure = caps.inputTokens !== null ? 'inputTokens' : 'outputTokens';
    return `budget: the run's ${caps[measure]} ${measure === 'inputTokens' ? 'input' : 'output'} tokens are committed`;
  }
}

/** "$0.0123, 4,210 in / 512 out tokens". */
export function describeSpend(spend: Spend): string {
  return `$${spend.usd.toFixed(4)}, ${spend.inputTokens.toLocaleString('en-US')} in / ${spend.outputTokens.toLocaleString('en-US')} out tokens`;
}

/**
 * Lowers a request's `maxTokens` so its worst case fits what is left of the run's caps (spent
 * and in flight taken off): a synthesis writes a shorter answer rather than none. Leaves it as
 * it is when it fits, or when not even a short answer would (then `admit` refuses it).
 */
export function fitOutputTo(ledger: BudgetLedger, request: ModelRequest): void {
  const used = add(ledger.spent, ledger.inFlight(true));
  let most = request.maxTokens;
  if (ledger.caps.outputTokens !== null) most = Math.min(most, ledger.caps.outputTokens - used.outputTokens);
  const price = priceOf(request.model, ledger.prices);
  if (ledger.caps.usd !== null && price) {
    // Its input and searches at their worst, with no output: what is left pays for the output.
    const fixed = worstCaseOf({ ...request, maxTokens: 0 }, ledger.prices).usd;
    most = Math.min(most, Math.floor(((ledger.caps.usd - used.usd - fixed) * 1_000_000) / price.output));
  }
  // Below this a synthesis is not worth writing: the call is refused instead.
  if (most >= MIN_SYNTHESIS_TOKENS && most < request.maxTokens) request.maxTokens = most;
}

/** The shortest answer a synthesis squeezed by the budget is still asked to write. */
const MIN_SYNTHESIS_TOKENS = 256;
