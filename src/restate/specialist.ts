/**
 * The specialist as a Restate promise actor (the lead runs its synthesizer this way): the same
 * attempt steps as a chunk's specialists (`core/attemptStep.ts`), one after another. Each
 * attempt's model call runs inside `ctx.run`, so a call that finished is replayed from the
 * journal after a crash and never made again; backoff waits are durable `ctx.sleep` timers and
 * jitter comes from `ctx.rand`, so a replay takes the same decisions.
 *
 * Nothing is thrown out of it: the adapter turns a thrown Error into `{}`, so every expected
 * failure comes back as an outcome (`rejected`, `timedOut`), exactly like in-process.
 */
import { fromPromise } from '@restatedev/xstate/promise';
import type { ObjectSharedContext } from '@restatedev/restate-sdk';
import type { SpecialistActorInput } from '../actors/specialist.ts';
import { afterAttempt, afterWait, firstAttempt, type AttemptStep, type SteppedOutcome } from '../core/attemptStep.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { callModelOnce } from './modelCall.ts';

/**
 * What the promise actor resolves with: the outcome, plus the retries it made, which the
 * client turns into `retrying` events and strips before the outcome reaches a result.
 */
export type RestateSpecialistOutput = SteppedOutcome;

/** What the Restate specialist needs from the service. */
export interface RestateSpecialistDependencies {
  provider: ModelProvider;
}

/** Runs a specialist's attempts to the end, journaling each; the body of the promise actor. */
export async function runSpecialist(ctx: ObjectSharedContext, provider: ModelProvider, input: SpecialistActorInput): Promise<RestateSpecialistOutput> {
  const { spec } = input;
  if (spec.kind !== 'model') {
    const what = spec.kind === 'task' ? 'a task function' : 'a nested sub-lead';
    return unstartedOutcome(spec, 'rejected', { kind: 'unknown', message: `specialist "${spec.id}" is ${what}, which the Restate runtime does not run` }, await ctx.date.now());
  }
  const call = { task: input.task, spec, ...(input.deadlineAt !== undefined ? { deadlineAt: input.deadlineAt } : {}), ...(input.outcomes ? { outcomes: input.outcomes } : {}) };
  let step: AttemptStep = firstAttempt(spec, input.deadlineAt);
  for (;;) {
    const { state, effect } = step;
    if (effect.type === 'settle') return effect.outcome;
    if (effect.type === 'wait') {
      await ctx.sleep(effect.ms);
      step = afterWait(state);
      continue;
    }
    // Journaled: after a crash a finished attempt is read back, never called again.
    const record = await ctx.run(`attempt ${effect.attempt} on ${effect.model}`, () => callModelOnce(provider, call, effect.model, effect.attempt));
    step = afterAttempt(state, record, () => ctx.rand.random());
  }
}

/**
 * Creates the specialist promise actor bound to a provider.
 *
 * @example
 * const specialist = createRestateSpecialist({ provider });
 */
export function createRestateSpecialist({ provider }: RestateSpecialistDependencies) {
  const logic = fromPromise<RestateSpecialistOutput, SpecialistActorInput>(({ input, ctx }) => runSpecialist(ctx, provider, input));
  return {
    ...logic,
    // The synthesizer's input is kept in the lead's snapshot while it runs and sent to its
    // invocation: only what its prompt reads of each outcome (at 10,000 findings, megabytes less).
    getInitialSnapshot: (scope: Parameters<typeof logic.getInitialSnapshot>[0], input: SpecialistActorInput) =>
      logic.getInitialSnapshot(scope, input.outcomes ? { ...input, outcomes: input.outcomes.map(promptFields) } : input),
  } as typeof logic;
}

/** What the synthesis prompt reads of an outcome (`buildSynthesisRequest`: findings, missing angles and why). */
function promptFields(outcome: SpecialistOutcome): SpecialistOutcome {
  const { id, angle, status, output, error, attempts, report, sources } = outcome;
  return { id, angle, status, output, error, attempts, ...(report ? { report } : {}), ...(sources ? { sources } : {}) } as SpecialistOutcome;
}
