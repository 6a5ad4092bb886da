/**
 * The specialist as a Restate promise actor: the same attempts, retries and fallbacks as the
 * in-process specialist (both ask `decideAfterFailure`), but every step is journaled. Each
 * attempt's model call runs inside `ctx.run`, so a call that finished is replayed from the
 * journal after a crash and never made again; backoff waits are durable `ctx.sleep` timers and
 * jitter comes from `ctx.rand`, so a replay takes the same decisions.
 *
 * Nothing is thrown out of it: the adapter turns a thrown Error into `{}`, so every expected
 * failure comes back as an outcome (`rejected`, `timedOut`), exactly like in-process.
 */
import { fromPromise } from '@restatedev/xstate/promise';
import type { ObjectSharedContext } from '@restatedev/restate-sdk';
import { SYNTHESIZER_ID, type SpecialistSpec } from '../config.ts';
import { toErrorInfo, type ErrorInfo } from '../errors.ts';
import type { SpecialistRetryingEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { decideAfterFailure } from '../policy.ts';
import { buildSpecialistRequest, buildSynthesisRequest } from '../prompts.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import type { SpecialistActorInput } from '../actors/specialist.ts';

/**
 * What the promise actor resolves with: the outcome, plus the retries it made, which the
 * fan-out (or the client, for the synthesizer) turns into `specialist.retrying` events and
 * strips before the outcome reaches a result.
 */
export type RestateSpecialistOutput = SpecialistOutcome & { retries?: SpecialistRetryingEvent[] };

/**
 * One attempt's result as journaled by `ctx.run`: plain JSON either way. It carries its own
 * start and end times, so the outcome's timestamps cost no journal entries of their own.
 */
type AttemptRecord = { startedAt: number; endedAt: number; usage: Usage } & ({ ok: true; text: string; model: string; stopReason?: string | null } | { ok: false; error: ErrorInfo });

/** What the Restate specialist needs from the service. */
export interface RestateSpecialistDependencies {
  provider: ModelProvider;
}

/**
 * Makes one model call with the attempt's own deadline and the run's deadline as aborts: a
 * straggler stops itself at the run's deadline even though no AbortSignal reaches it from the lead.
 */
async function callOnce(provider: ModelProvider, input: SpecialistActorInput, model: string, attempt: number): Promise<AttemptRecord> {
  const { spec, task } = input;
  const request = spec.id === SYNTHESIZER_ID && input.outcomes ? buildSynthesisRequest(task, spec, input.outcomes, model) : buildSpecialistRequest(task, spec, model);
  const controller = new AbortController();
  let cutOff: ErrorInfo | null = null;
  const abortWith = (error: ErrorInfo) => {
    cutOff ??= error;
    controller.abort();
  };
  const timers: NodeJS.Timeout[] = [];
  const timeoutMs = spec.policy.attemptTimeoutMs;
  if (timeoutMs !== null) timers.push(setTimeout(() => abortWith({ kind: 'timeout', message: `attempt ${attempt} exceeded its ${timeoutMs} ms deadline` }), timeoutMs));
  if (input.deadlineAt !== undefined) {
    const left = Math.max(0, input.deadlineAt - Date.now());
    timers.push(setTimeout(() => abortWith({ kind: 'deadline', message: "the run's deadline passed before it finished" }), left));
  }
  let inFlight: Usage = emptyUsage();
  const startedAt = Date.now();
  try {
    const response = await provider.stream(request, { signal: controller.signal, onUsage: (usage) => (inFlight = { ...usage }), caller: { id: spec.id, attempt } });
    return { ok: true, text: response.text, model: response.model, stopReason: response.stopReason, usage: { ...response.usage }, startedAt, endedAt: Date.now() };
  } catch (error) {
    return { ok: false, error: cutOff ?? toErrorInfo(error), usage: inFlight, startedAt, endedAt: Date.now() };
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
}

/** The outcome of a specialist this runtime cannot run (task functions, nested sub-leads). */
function unsupported(spec: SpecialistSpec, now: number): RestateSpecialistOutput {
  const what = spec.kind === 'task' ? 'a task function' : 'a nested sub-lead';
  return { id: spec.id, angle: spec.angle, status: 'rejected', output: null, error: { kind: 'unknown', message: `specialist "${spec.id}" is ${what}, which the Restate runtime does not run` }, attempts: 0, model: null, usage: emptyUsage(), startedAt: null, endedAt: now };
}

/** Runs a specialist's attempts to the end, journaling each; the body of the promise actor. */
export async function runSpecialist(ctx: ObjectSharedContext, provider: ModelProvider, input: SpecialistActorInput): Promise<RestateSpecialistOutput> {
  const { spec } = input;
  if (spec.kind !== 'model') return unsupported(spec, await ctx.date.now());
  const usage = emptyUsage();
  let startedAt: number | null = null;
  let endedAt = 0;
  const retries: SpecialistRetryingEvent[] = [];
  let attempt = 1;
  let attemptsOnModel = 1;
  let modelIndex = 0;
  // One call, no tools (Restate runs no tool loops yet): the loop fields in-process outcomes have.
  const settle = (fields: Pick<SpecialistOutcome, 'status' | 'output' | 'error' | 'model'>, stopReason: string | null = null): RestateSpecialistOutput => ({
    id: spec.id,
    angle: spec.angle,
    ...fields,
    attempts: attempt,
    usage,
    startedAt,
    endedAt,
    turns: fields.status === 'fulfilled' ? 1 : 0,
    stopReason,
    loopLimit: null,
    toolCalls: [],
    ...(retries.length > 0 ? { retries } : {}),
  });
  for (;;) {
    const model = spec.models[modelIndex]!;
    // Journaled: after a crash a finished attempt is read back, never called again.
    const record = await ctx.run(`attempt ${attempt} on ${model}`, () => callOnce(provider, input, model, attempt));
    addUsageInto(usage, record.usage);
    startedAt ??= record.startedAt;
    endedAt = record.endedAt;
    if (record.ok) return settle({ status: 'fulfilled', output: record.text, error: null, model: record.model }, record.stopReason ?? null);
    const error = record.error;
    if (error.kind === 'deadline') return settle({ status: 'timedOut', output: null, error, model });
    const decision = decideAfterFailure(spec.policy, { attemptsOnModel, modelIndex, modelCount: spec.models.length }, error, () => ctx.rand.random());
    if (decision.action === 'giveUp') return settle({ status: 'rejected', output: null, error, model });
    const sameModel = decision.modelIndex === modelIndex;
    attempt++;
    attemptsOnModel = sameModel ? attemptsOnModel + 1 : 1;
    modelIndex = decision.modelIndex;
    const at = record.endedAt;
    retries.push({ type: 'specialist.retrying', id: spec.id, attempt, model: spec.models[modelIndex] ?? null, delayMs: decision.delayMs, reason: decision.reason, error, at });
    if (decision.delayMs > 0) {
      // A backoff that would outlast the run's deadline ends the specialist there instead.
      if (input.deadlineAt !== undefined && at + decision.delayMs >= input.deadlineAt) {
        await ctx.sleep(Math.max(0, input.deadlineAt - at));
        endedAt = input.deadlineAt;
        attempt--;
        return settle({ status: 'timedOut', output: null, error: { kind: 'deadline', message: "the run's deadline passed while it waited to retry" }, model });
      }
      await ctx.sleep(decision.delayMs);
    }
  }
}

/**
 * Creates the specialist promise actor bound to a provider.
 *
 * @example
 * const specialist = createRestateSpecialist({ provider });
 */
export function createRestateSpecialist({ provider }: RestateSpecialistDependencies) {
  return fromPromise<RestateSpecialistOutput, SpecialistActorInput>(({ input, ctx }) => runSpecialist(ctx, provider, input));
}
