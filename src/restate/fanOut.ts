/**
 * The fan-out on Restate: one promise actor under the lead machine (which stays the statechart
 * it is in-process) that splits the specialists into chunks, calls the chunk service once per
 * chunk — the Restate server spreads those calls over every instance of the service — and
 * gathers their answers with Restate's own combinators. Nothing is loaded or saved per
 * specialist: each chunk journals its own model calls, and this actor journals one answer per
 * chunk. It takes the in-process fan-out's input and ends with its output, so the lead machine
 * runs unchanged.
 *
 * Stops travel through the run's stop signal (`stopSignal.ts`): the lead's deadline or cancel
 * reaches this actor as an event and is sent there; a chunk whose specialist escalates sends its
 * own; every chunk and this actor hear the first one. A quorum out of reach is seen by a chunk
 * when its own failures lose it, and here when a chunk answers.
 *
 * What differs from in-process: a specialist cut short by a stop is not aborted (its call runs
 * on until its own deadline and its late result is dropped), so its outcome counts the attempt
 * in flight with no tokens; no token events; `specialist.restart` is ignored; events reach a
 * follower when each chunk answers, not as each specialist settles.
 */
import * as restate from '@restatedev/restate-sdk';
import { fromPromise, type PromiseActorLogic } from '@restatedev/xstate/promise';
import type { AnyEventObject } from 'xstate';
import type { FanOutInput, FanOutOutput } from '../actors/fanOut.ts';
import type { FanOutStop } from '../core/fanOutStep.ts';
import type { SpecialistSpec } from '../config.ts';
import { FanfoldError } from '../errors.ts';
import { cancelStop, deadlineStop, escalates, escalationStop, quorumStopIfLost } from '../core/stops.ts';
import type { SteppedOutcome } from '../core/attemptStep.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import type { ChunkRequest, ChunkResult, ChunkService } from './chunkService.ts';
import { compactSpecs, expandSpecs, type CompactSpecs } from './compactSpecs.ts';
import { closeStop, sendStop, watchStop } from './stopSignal.ts';
import { clearProgress, progressInterval } from './progress.ts';

/**
 * The Restate fan-out's output: the in-process one's. Outcomes keep the `retries` their
 * specialist made; the client turns them into events and strips them.
 */
export type RestateFanOutOutput = FanOutOutput;

/** Default most specialists one chunk invocation runs. */
export const DEFAULT_CHUNK_SIZE = 25;

/** What the fan-out is built from. */
export interface RestateFanOutDependencies {
  /** The chunk service (its definition: calls go through the Restate server). */
  chunkService: ChunkService;
  /** Most specialists one chunk runs. Default {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
}

/** A chunk's answer, or why there is none. */
type Answer = { result: ChunkResult | null; failure: string | null };

/** The chunk requests of a fan-out: ranges of `chunkSize`, each with a share of the concurrency limit. */
export function chunkRequests(runKey: string, input: FanOutInput, chunkSize: number): Array<{ from: number; specs: SpecialistSpec[]; request: ChunkRequest }> {
  const total = input.specialists.length;
  const chunks = Math.max(1, Math.ceil(total / chunkSize));
  const share = input.maxConcurrency === null ? null : Math.max(1, Math.floor(input.maxConcurrency / chunks));
  const requests: Array<{ from: number; specs: SpecialistSpec[]; request: ChunkRequest }> = [];
  for (let index = 0; index * chunkSize < total; index++) {
    const from = index * chunkSize;
    const specs = input.specialists.slice(from, from + chunkSize);
    requests.push({
      from,
      specs,
      request: {
        runKey,
        index,
        from,
        task: input.task,
        specs: compactSpecs(specs),
        deadlineAt: input.deadlineAt,
        deadlineMs: input.deadlineMs,
        maxConcurrency: share,
        quorum: input.quorum,
        runTotal: total,
        progressEveryMs: progressInterval(chunks),
      },
    });
  }
  return requests;
}

/** Runs the fan-out to the end: the body of the promise actor. */
export async function runRestateFanOut(ctx: restate.ObjectSharedContext, chunkService: ChunkService, input: FanOutInput, chunkSize: number): Promise<RestateFanOutOutput> {
  const runKey = ctx.key;
  const specs = input.specialists;
  const stopSignal = watchStop(ctx, runKey);
  const chunks = chunkRequests(runKey, input, chunkSize);
  const client = ctx.serviceClient(chunkService);
  const invocations: Array<PromiseLike<restate.InvocationId>> = [];
  const calls = chunks
    .map(({ request }) => {
      const call = client.run(request);
      invocations.push(call.invocationId);
      return call;
    })
    .map((call) => call.map((result, failure): Answer => ({ result: result ?? null, failure: failure ? failure.message : null })));
  // Each chunk's answer in turn (a combinator over all of them would look at every unanswered
  // chunk on each answer), racing the run's stop: on a stop, cancel the chunks; each answers with what it kept.
  const stopped = stopSignal.map((value): { stop: FanOutStop } => ({ stop: value! }));
  let stop: FanOutStop | null = null;
  const all: Answer[] = [];
  for (const call of calls) {
    const next: Answer | { stop: FanOutStop } = stop ? await call : await restate.RestatePromise.race([call, stopped]);
    if ('stop' in next) {
      stop = next.stop;
      for (const invocation of invocations) ctx.invocation(await invocation).cancel();
      all.push(await call);
    } else {
      all.push(next);
    }
  }
  closeStop(ctx, runKey);
  clearProgress(ctx, runKey);

  // The time only a chunk that gave no answer needs (its specialists' outcomes end then).
  let now: number | undefined;
  const outcomes: SpecialistOutcome[] = [];
  let fulfilled = 0;
  let escalatedBy: SpecialistOutcome | undefined;
  let crashed: FanOutStop | null = null;
  let decided: FanOutStop | null = null;
  let timedOut: FanOutStop | null = null;
  for (const [index, { specs: chunkSpecs }] of chunks.entries()) {
    const { result, failure } = all[index]!;
    if (!result) now ??= await ctx.date.now();
    if (!result) crashed ??= { reason: 'crashed', by: `chunk ${index}`, message: `internal error in chunk ${index} on Restate: ${failure ?? 'no answer'}` };
    else if (result.stop?.reason === 'deadline' || result.stop?.reason === 'cancelled') timedOut ??= result.stop;
    else if (result.stop) decided ??= result.stop;
    chunkSpecs.forEach((spec, offset) => {
      const outcome: SteppedOutcome =
        result?.outcomes[offset] ?? unstartedOutcome(spec, 'rejected', { kind: 'unknown', message: `internal error in chunk ${index} on Restate: ${failure ?? 'no answer'}` }, now!);
      outcomes.push(outcome);
      if (outcome.status === 'fulfilled') fulfilled++;
      if (escalates(spec, outcome)) escalatedBy ??= outcome;
    });
  }
  // A stop heard from the signal wins; else what a chunk decided, an escalation, or the quorum judged over all.
  stop ??= crashed ?? decided ?? timedOut ?? (escalatedBy ? escalationStop(escalatedBy) : quorumStopIfLost(input.quorum, { total: specs.length, fulfilled, unsuccessful: specs.length - fulfilled }));
  return { outcomes, stop };
}

/** The fan-out's input as the promise actor keeps it: specialists with their policies pooled. */
type StoredInput = Omit<FanOutInput, 'specialists'> & { specialists: CompactSpecs };

/** A minimal view of the adapter's actor system: the Restate context of the transition. */
interface RestateSystem {
  ctx: { key: string; objectSendClient: restate.Context['objectSendClient'] };
}

/**
 * Creates the fan-out promise actor. Events the lead sends it (`fanOut.deadline`,
 * `fanOut.cancel`) become the run's stop signal, sent from inside the lead's transition.
 *
 * @example
 * const fanOut = createRestateFanOut({ chunkService: createChunkService(provider) });
 */
export function createRestateFanOut({ chunkService, chunkSize = DEFAULT_CHUNK_SIZE }: RestateFanOutDependencies): PromiseActorLogic<RestateFanOutOutput, FanOutInput> {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new FanfoldError('config', `chunkSize must be an integer from 1 and up, got ${chunkSize}`);
  const logic = fromPromise<RestateFanOutOutput, StoredInput>(({ input, ctx }) => runRestateFanOut(ctx, chunkService, { ...input, specialists: expandSpecs(input.specialists) }, chunkSize));
  const transition = logic.transition;
  type Logic = typeof logic;
  return {
    ...logic,
    // The input is kept in the lead's snapshot until the fan-out answers, and sent to its invocation: pooled.
    getInitialSnapshot: (scope: Parameters<Logic['getInitialSnapshot']>[0], input: FanOutInput) => logic.getInitialSnapshot(scope, { ...input, specialists: compactSpecs(input.specialists) }),
    transition: (snapshot: Parameters<Logic['transition']>[0], event: AnyEventObject, scope: Parameters<Logic['transition']>[2]) => {
      if (snapshot.status === 'active' && (event.type === 'fanOut.deadline' || event.type === 'fanOut.cancel')) {
        const { ctx } = scope.system as unknown as RestateSystem;
        const { input } = snapshot;
        const stop = event.type === 'fanOut.deadline' ? deadlineStop(input?.deadlineMs ?? 0) : cancelStop((event as { reason?: string }).reason);
        sendStop(ctx, ctx.key, stop);
      }
      return transition(snapshot, event, scope);
    },
  } as unknown as PromiseActorLogic<RestateFanOutOutput, FanOutInput>;
}
