/**
 * One model call of a specialist on Restate, made inside a journaled step. Its own deadline and
 * the run's deadline abort it from here, because no AbortSignal reaches a Restate step from the
 * lead: a straggler stops itself.
 */
import { SYNTHESIZER_ID, type SpecialistSpec } from '../config.ts';
import { toErrorInfo, type ErrorInfo } from '../errors.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { buildSpecialistRequest, buildSynthesisRequest } from '../prompts.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { emptyUsage, type Usage } from '../usage.ts';
import type { AttemptRecord } from '../core/attemptStep.ts';

/** What a call needs: the task, the specialist, the run's deadline and (for the synthesizer) the outcomes. */
export interface ModelCallInput {
  task: string;
  spec: SpecialistSpec;
  deadlineAt?: number;
  outcomes?: SpecialistOutcome[];
}

/** A call's aborts: its attempt timeout and the run's deadline, whichever comes first. */
export interface CallAborts {
  signal: AbortSignal;
  /** Why it was aborted, or `null` while it was not. */
  cutOff(): ErrorInfo | null;
  /** Clears the timers once the call ended. */
  clear(): void;
}

/**
 * Arms a call's aborts from inside its journaled step, where nothing else reaches it: attempt
 * `attempt`'s own timeout (`timeoutMs`, `null`: none) and the run's deadline (`deadlineAt`).
 */
export function armCallAborts(timeoutMs: number | null, attempt: number, deadlineAt: number | undefined): CallAborts {
  const controller = new AbortController();
  let cutOff: ErrorInfo | null = null;
  const abortWith = (error: ErrorInfo) => {
    cutOff ??= error;
    controller.abort();
  };
  const timers: NodeJS.Timeout[] = [];
  if (timeoutMs !== null) timers.push(setTimeout(() => abortWith({ kind: 'timeout', message: `attempt ${attempt} exceeded its ${timeoutMs} ms deadline` }), timeoutMs));
  if (deadlineAt !== undefined) timers.push(setTimeout(() => abortWith({ kind: 'deadline', message: "the run's deadline passed before it finished" }), Math.max(0, deadlineAt - Date.now())));
  return {
    signal: controller.signal,
    cutOff: () => cutOff,
    clear: () => {
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/** Makes attempt `attempt` on `model`; never throws: a failure is a record too. */
export async function callModelOnce(provider: ModelProvider, input: ModelCallInput, model: string, attempt: number): Promise<AttemptRecord> {
  const { spec, task } = input;
  const request = spec.id === SYNTHESIZER_ID && input.outcomes ? buildSynthesisRequest(task, spec, input.outcomes, model) : buildSpecialistRequest(task, spec, model);
  const aborts = armCallAborts(spec.policy.attemptTimeoutMs, attempt, input.deadlineAt);
  let inFlight: Usage = emptyUsage();
  const startedAt = Date.now();
  try {
    const response = await provider.stream(request, { signal: aborts.signal, onUsage: (usage) => (inFlight = { ...usage }), caller: { id: spec.id, attempt } });
    return { ok: true, text: response.text, model: response.model, stopReason: response.stopReason, usage: { ...response.usage }, startedAt, endedAt: Date.now() };
  } catch (error) {
    return { ok: false, error: aborts.cutOff() ?? toErrorInfo(error), usage: inFlight, startedAt, endedAt: Date.now() };
  } finally {
    aborts.clear();
  }
}
