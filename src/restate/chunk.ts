/**
 * Chunks of a large fan-out: each runs as its own virtual object instance (its own key, its own
 * snapshot, its own queue of transitions), so outcomes are gathered in parallel instead of one
 * at a time by the top lead. The top fan-out starts a chunk through a promise actor that creates
 * the chunk's object and waits (durably) for it to finish.
 */
import { fromPromise } from '@restatedev/xstate/promise';
import { xstate } from '@restatedev/xstate';
import { assign, sendTo, setup, type AnyActorLogic } from 'xstate';
import type { FanOutInput } from '../actors/fanOut.ts';
import { restateDeadlineTimer } from './deadlineTimer.ts';
import { withJournaledClock } from './invocationClock.ts';
import type { ChunkInput, RestateFanOutOutput } from './fanOut.ts';

/** The chunk objects' service name. */
export const CHUNK_SERVICE = 'fanfoldChunk';

/** A chunk's key: its run's key and its index (`~` never appears in a run id). */
export function chunkKey(runId: string, index: number): string {
  return `${runId}~${index}`;
}

/**
 * The machine a chunk object runs: a flat fan-out over the chunk's specialists, with its own
 * deadline timer (the run's `deadlineAt`) so it stops in time even if the top's forwarded stop
 * never arrives. Its output is the fan-out's.
 */
export function createChunkMachine(flatFanOut: AnyActorLogic) {
  return setup({
    types: { input: {} as FanOutInput, context: {} as { input: FanOutInput; output: RestateFanOutOutput | null }, output: {} as RestateFanOutOutput | null },
    actors: { fanOut: flatFanOut, deadlineTimer: restateDeadlineTimer },
  }).createMachine({
    id: 'fanfoldChunk',
    context: ({ input }) => ({ input, output: null }),
    initial: 'gathering',
    states: {
      gathering: {
        invoke: [
          { id: 'deadline', src: 'deadlineTimer', input: ({ context }) => ({ deadlineAt: context.input.deadlineAt }) },
          {
            id: 'fanOut',
            src: 'fanOut',
            input: ({ context }: { context: { input: FanOutInput } }) => context.input,
            onDone: { target: 'finished', actions: assign({ output: ({ event }) => event.output as RestateFanOutOutput }) },
          },
        ],
        on: {
          'run.deadline': { actions: sendTo('fanOut', { type: 'fanOut.deadline' }) },
          'fanOut.deadline': { actions: sendTo('fanOut', { type: 'fanOut.deadline' }) },
          'fanOut.cancel': { actions: sendTo('fanOut', ({ event }) => event) },
        },
      },
      finished: { type: 'final' },
    },
    output: ({ context }) => context.output,
  });
}

/** The chunk virtual object. */
export function createChunkObject(flatFanOut: AnyActorLogic) {
  return withJournaledClock(xstate(CHUNK_SERVICE, createChunkMachine(flatFanOut)));
}

type ChunkObject = ReturnType<typeof createChunkObject>;

/** The two handlers of a chunk object the top calls. */
interface ChunkClient {
  create(request: { input: FanOutInput }): PromiseLike<unknown>;
  waitFor(request: { condition: 'done' }): PromiseLike<unknown>;
}

/**
 * The promise actor the top fan-out starts per chunk: creates the chunk's object, then waits
 * for it to finish. Both calls are journaled, so a replay neither re-creates nor re-runs it.
 */
export function createChunkActor(chunkObject: ChunkObject) {
  return fromPromise<RestateFanOutOutput, ChunkInput>(async ({ input, ctx }) => {
    const client = ctx.objectClient(chunkObject, chunkKey(ctx.key, input.index)) as unknown as ChunkClient;
    await client.create({ input: input.fanOut });
    const snapshot = (await client.waitFor({ condition: 'done' })) as { output?: RestateFanOutOutput | null };
    if (!snapshot.output) throw new Error(`chunk ${input.index} ended without an output`);
    return snapshot.output;
  });
}

/** Sends an event to a running chunk's object (from inside a transition of the top lead). */
export function forwardToChunk(chunkObject: ChunkObject) {
  return (system: unknown, index: number, event: { type: string }) => {
    const { ctx } = system as { ctx: { key: string; objectSendClient: (api: ChunkObject, key: string) => { send: (request: { event: { type: string } }) => void } } };
    ctx.objectSendClient(chunkObject, chunkKey(ctx.key, index)).send({ event });
  };
}
