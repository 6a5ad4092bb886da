/**
 * A run's stop signal on Restate: one small virtual object per run (`fanfoldStop/<runId>`) that
 * every part of the fan-out watches with an awakeable. Whoever decides a stop first — the lead
 * (deadline, cancel), a chunk (a failure that escalates, a quorum out of reach) — sends it here,
 * and every watcher hears the same stop at once; a watcher that arrives later hears it as soon
 * as it asks. Chunks run as separate invocations, possibly on other instances, so this is how
 * they stop together without a shared snapshot.
 */
import * as restate from '@restatedev/restate-sdk';
import type { FanOutStop } from '../actors/fanOut.ts';

/** The stop objects' service name. */
export const STOP_SERVICE = 'fanfoldStop';

const STOP = 'stop';
const WATCHERS = 'watchers';
const CLOSED = 'closed';

/** The stop object: `watch` with an awakeable id, `stop` once, `close` when the fan-out ended. */
export const stopSignalObject = restate.object({
  name: STOP_SERVICE,
  handlers: {
    /** Resolves the awakeable with the stop: now if there is one, else when it comes. */
    watch: async (ctx: restate.ObjectContext, request: { awakeableId: string }): Promise<void> => {
      if (await ctx.get<boolean>(CLOSED)) return;
      const stop = await ctx.get<FanOutStop>(STOP);
      if (stop) return ctx.resolveAwakeable(request.awakeableId, stop);
      const watchers = (await ctx.get<string[]>(WATCHERS)) ?? [];
      watchers.push(request.awakeableId);
      ctx.set(WATCHERS, watchers);
    },
    /** The first stop wins; every watcher hears it. */
    stop: async (ctx: restate.ObjectContext, stop: FanOutStop): Promise<void> => {
      if ((await ctx.get<boolean>(CLOSED)) || (await ctx.get<FanOutStop>(STOP))) return;
      ctx.set(STOP, stop);
      for (const id of (await ctx.get<string[]>(WATCHERS)) ?? []) ctx.resolveAwakeable(id, stop);
      ctx.clear(WATCHERS);
    },
    /** The fan-out ended: forget the watchers, ignore later stops. */
    close: async (ctx: restate.ObjectContext): Promise<void> => {
      ctx.clearAll();
      ctx.set(CLOSED, true);
    },
  },
});

/** The stop object's type, for clients. */
export type StopSignalObject = typeof stopSignalObject;

/** Anything that can send to a virtual object (any Restate context). */
interface Sender {
  objectSendClient: restate.Context['objectSendClient'];
}

/** Sends `stop` to run `runKey`'s stop object. */
export function sendStop(ctx: Sender, runKey: string, stop: FanOutStop): void {
  ctx.objectSendClient(stopSignalObject, runKey).stop(stop);
}

/** Watches run `runKey`'s stop: a promise that resolves with the stop when one comes. */
export function watchStop(ctx: Sender & { awakeable: restate.Context['awakeable'] }, runKey: string): restate.RestatePromise<FanOutStop> {
  const { id, promise } = ctx.awakeable<FanOutStop>();
  ctx.objectSendClient(stopSignalObject, runKey).watch({ awakeableId: id });
  return promise;
}

/** Tells run `runKey`'s stop object the fan-out ended. */
export function closeStop(ctx: Sender, runKey: string): void {
  ctx.objectSendClient(stopSignalObject, runKey).close();
}
