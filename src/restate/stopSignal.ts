/**
 * A run's stop signal on Restate: one small virtual object per run (`fanfoldStop/<runId>`).
 * Whoever decides a stop first — the lead (deadline, cancel), a chunk (a failure that
 * escalates), this object itself (the failures chunks report put the quorum out of reach) —
 * records it here; the fan-out, watching with an awakeable, hears it at once and cancels the
 * chunks, which ask here why they were cancelled. Chunks run as separate invocations, possibly on
 * other instances, so this is how they stop together without a shared snapshot, and it costs
 * nothing per specialist while nothing goes wrong.
 */
import * as restate from '@restatedev/restate-sdk';
import type { FanOutStop } from '../core/fanOutStep.ts';
import { quorumStopIfLost } from '../core/stops.ts';

/** The stop objects' service name. */
export const STOP_SERVICE = 'fanfoldStop';

const STOP = 'stop';
const WATCHER = 'watcher';
const FAILED = 'failed';
const CLOSED = 'closed';

/** What a chunk reports when specialists fail: how many, and the run's quorum and size. */
export interface FailureReport {
  count: number;
  quorum: number;
  total: number;
}

/** The stop object. */
export const stopSignalObject = restate.object({
  name: STOP_SERVICE,
  handlers: {
    /** Resolves the awakeable with the stop: now if there is one, else when it comes. */
    watch: async (ctx: restate.ObjectContext, request: { awakeableId: string }): Promise<void> => {
      if (await ctx.get<boolean>(CLOSED)) return;
      const stop = await ctx.get<FanOutStop>(STOP);
      if (stop) return ctx.resolveAwakeable(request.awakeableId, stop);
      ctx.set(WATCHER, request.awakeableId);
    },
    /** The first stop wins; the watcher hears it. */
    stop: async (ctx: restate.ObjectContext, stop: FanOutStop): Promise<void> => {
      if ((await ctx.get<boolean>(CLOSED)) || (await ctx.get<FanOutStop>(STOP))) return;
      ctx.set(STOP, stop);
      const watcher = await ctx.get<string>(WATCHER);
      if (watcher) ctx.resolveAwakeable(watcher, stop);
    },
    /** Failures so far, across chunks: once the quorum is out of reach, that is the stop. */
    failed: async (ctx: restate.ObjectContext, report: FailureReport): Promise<void> => {
      if ((await ctx.get<boolean>(CLOSED)) || (await ctx.get<FanOutStop>(STOP))) return;
      const failed = ((await ctx.get<number>(FAILED)) ?? 0) + report.count;
      ctx.set(FAILED, failed);
      const stop = quorumStopIfLost(report.quorum, { total: report.total, fulfilled: 0, unsuccessful: failed });
      if (!stop) return;
      ctx.set(STOP, stop);
      const watcher = await ctx.get<string>(WATCHER);
      if (watcher) ctx.resolveAwakeable(watcher, stop);
    },
    /** The stop, if any (a cancelled chunk asks why). */
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<FanOutStop | null> => (await ctx.get<FanOutStop>(STOP)) ?? null),
    /** The fan-out ended: forget everything, ignore later stops. */
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

/** Reports failed specialists to run `runKey`'s stop object. */
export function reportFailures(ctx: Sender, runKey: string, report: FailureReport): void {
  ctx.objectSendClient(stopSignalObject, runKey).failed(report);
}

/** Watches run `runKey`'s stop: a promise that resolves with the stop when one comes. */
export function watchStop(ctx: Sender & { awakeable: restate.Context['awakeable'] }, runKey: string): restate.RestatePromise<FanOutStop> {
  const { id, promise } = ctx.awakeable<FanOutStop>();
  ctx.objectSendClient(stopSignalObject, runKey).watch({ awakeableId: id });
  return promise;
}

/** Asks run `runKey`'s stop object for its stop. */
export function readStop(ctx: { objectClient: restate.Context['objectClient'] }, runKey: string): PromiseLike<FanOutStop | null> {
  return ctx.objectClient(stopSignalObject, runKey).get();
}

/** Tells run `runKey`'s stop object the fan-out ended. */
export function closeStop(ctx: Sender, runKey: string): void {
  ctx.objectSendClient(stopSignalObject, runKey).close();
}
