/**
 * A run's budget estimate from its normalised config: the first request of every model
 * specialist (sub-leads' included; a model lead's own first request instead, since it decides
 * the rest), and the synthesis's worst case — for the check before the first call.
 */
import type { NormalizedConfig, SpecialistSpec } from '../config.ts';
import type { PriceTable } from '../pricing/prices.ts';
import { buildSpecialistRequest } from '../prompts.ts';
import type { ModelProvider, ModelRequest } from '../providers/provider.ts';
import type { Toolbox } from '../tools/toolbox.ts';
import { estimateBudget, type BudgetEstimate } from './estimate.ts';

/** What the estimate reads besides the config. */
export interface RunEstimateOptions {
  /** Counts tokens when it can (`countTokens`); else the text is measured. */
  provider: ModelProvider | undefined;
  prices: PriceTable;
  /** Resolves the specialists' tools (their definitions are part of the first request). */
  toolbox: Toolbox;
  signal?: AbortSignal;
}

/** Overhead of a synthesis prompt besides the task and the findings, in tokens (headers, tags, instructions). */
const SYNTHESIS_OVERHEAD_TOKENS = 400;

/**
 * Estimates what a run cannot avoid spending (see `estimate.ts`).
 *
 * @example
 * const estimate = await estimateRunBudget(normalizeConfig(config), { provider, prices: DEFAULT_PRICES, toolbox });
 * console.log(estimate.total.usd);
 */
export async function estimateRunBudget(normalized: Pick<NormalizedConfig, 'input'>, options: RunEstimateOptions): Promise<BudgetEstimate> {
  const { input } = normalized;
  const budget = input.budget ?? { caps: { usd: null, inputTokens: null, outputTokens: null }, reserve: null };
  const first = (spec: SpecialistSpec): ModelRequest => {
    const model = spec.models[0]!;
    const request =
      spec.tools.length > 0
        ? buildSpecialistRequest(input.task, spec, model, { messages: [], tools: options.toolbox.resolve(spec.tools).definitions, final: false })
        : buildSpecialistRequest(input.task, spec, model);
    if (input.context !== undefined) request.context = input.context;
    return request;
  };
  const requests: ModelRequest[] = [];
  const visit = (spec: SpecialistSpec) => {
    if (spec.kind === 'model') requests.push(first(spec));
    spec.fanOut?.specialists.forEach(visit);
  };
  if (input.lead) requests.push(first(input.lead.agent));
  else input.specialists.forEach(visit);
  // The synthesis reads every finding at its longest, and writes at most its maxTokens.
  const writer = input.lead && input.lead.synthesize === 'lead' ? input.lead.agent : input.synthesizer;
  const findings = input.lead
    ? input.lead.templates.reduce((most, template) => Math.max(most, template.maxTokens), 0) * Math.min(input.lead.maxSpecialists, 5)
    : input.specialists.reduce((sum, spec) => sum + spec.maxTokens, 0);
  const synthesis = writer.kind === 'model' ? { inputTokens: Math.ceil(input.task.length / 3) + findings + SYNTHESIS_OVERHEAD_TOKENS, model: writer.models[0]!, maxTokens: writer.maxTokens } : null;
  return estimateBudget({
    caps: budget.caps,
    reserveShare: budget.reserve,
    firstRequests: requests,
    synthesis,
    context: input.context,
    provider: options.provider,
    prices: options.prices,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
