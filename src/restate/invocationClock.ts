/**
 * A replay-safe "now" for the machines that run inside Restate virtual objects.
 *
 * Restate replays an invocation's journal after a crash and refuses to go on when the replayed
 * code writes something different from what it wrote the first time ("journal mismatch", error
 * 570): the invocation is then retried forever and the run never finishes. A machine that reads
 * `Date.now()` in a transition and puts the value into its snapshot (a specialist's start time)
 * or into a delayed send (the deadline timer's delay) does exactly that when its invocation is
 * replayed. So every handler that runs transitions first reads the time once through
 * `ctx.date.now()` (journaled: a replay reads back the same value) and the machines ask
 * {@link invocationNow} with their invocation's context (the adapter's actor system carries it)
 * instead of `Date.now()`. Kept by context object, not in an AsyncLocalStorage: that would make
 * every promise in the process pay for async hooks on Node 20.
 */
import * as restate from '@restatedev/restate-sdk';

const journaledNow = new WeakMap<object, number>();

/**
 * The time the Restate invocation with context `ctx` journaled when it began, in ms since
 * epoch; the same value on every replay. Without a journaled time (a test driving a machine
 * directly) it is `Date.now()`.
 */
export function invocationNow(ctx?: object): number {
  return (ctx && journaledNow.get(ctx)) ?? Date.now();
}

/** {@link invocationNow} for a machine running under the xstate adapter, from its actor system. */
export function systemNow(system: unknown): number {
  return invocationNow((system as { ctx?: object } | undefined)?.ctx);
}

/** The handlers of the xstate adapter's virtual object that run transitions. */
const TRANSITION_HANDLERS = ['create', 'send'] as const;

/** A virtual object handler, as the xstate adapter defines `create` and `send`. */
export type ObjectHandler = (ctx: restate.ObjectContext, request: unknown) => Promise<unknown>;
type ObjectDefinition = { name: string; object: Record<string, unknown>; options?: unknown; metadata?: unknown; description?: unknown };

/**
 * The same virtual object (built by `@restatedev/xstate`), with its transition handlers
 * (`create` and `send`) replaced by `wrap(original, handlerName)`; the others are untouched.
 * The wrapped handlers stay exclusive, like the adapter's own.
 *
 * @example
 * const logged = wrapTransitionHandlers(xstate('fanfold', machine), (original, name) => async (ctx, request) => {
 *   ctx.console.info(name);
 *   return original(ctx, request);
 * });
 */
export function wrapTransitionHandlers<T>(definition: T, wrap: (original: ObjectHandler, handlerName: 'create' | 'send') => ObjectHandler, extraOptions: Record<string, unknown> = {}): T {
  const { name, object, options, metadata, description } = definition as unknown as ObjectDefinition;
  const handlers: Record<string, unknown> = { ...object };
  for (const handlerName of TRANSITION_HANDLERS) {
    const original = object[handlerName];
    if (typeof original !== 'function') throw new Error(`the virtual object "${name}" has no "${handlerName}" handler to wrap`);
    // A plain function is an exclusive handler.
    handlers[handlerName] = wrap(original as ObjectHandler, handlerName);
  }
  return restate.object({ name, handlers, options: { ...(options as object | undefined), ...extraOptions }, metadata, description } as Parameters<typeof restate.object>[0]) as unknown as T;
}

/** Options of {@link withJournaledClock}. */
export interface JournaledClockOptions {
  /**
   * Rewrites a `create` request with the journaled time, e.g. to give the lead its `startedAt`
   * from the service's clock (the one its timers run on) rather than the caller's.
   */
  stampCreate?: (request: unknown, now: number) => unknown;
  /**
   * Send the object's state to an invocation only as it asks for each key, not all of it with
   * every invocation: the lead's promise invocations (the fan-out, the synthesizer) read none of
   * its large snapshot.
   */
  lazyState?: boolean;
  /**
   * Rewrites what `create` and `send` answer (the adapter answers with the whole snapshot): the
   * lead answers with its status only, since nothing reads more and at large N the snapshot is
   * megabytes on every event.
   */
  answer?: (result: unknown) => unknown;
  /**
   * `create` refuses a key that already holds a machine (HTTP 409) instead of wiping it: checked
   * inside the object's own exclusive handler, so two creates of one key cannot both pass.
   */
  refuseExisting?: boolean;
}

/** The answer (HTTP 409) of a `create` on a key that already holds a machine, with `refuseExisting`. */
export const ALREADY_EXISTS = 409;

/**
 * Makes a virtual object built by `@restatedev/xstate` replay-safe for {@link invocationNow}:
 * the same object, but its `create` and `send` handlers journal the time first and run the
 * machine with it. It costs one journaled step (a round trip to the Restate server) per event
 * the object handles.
 *
 * @example
 * endpoint.bind(withJournaledClock(xstate('fanfold', machine)));
 */
export function withJournaledClock<T>(definition: T, options: JournaledClockOptions = {}): T {
  return wrapTransitionHandlers(
    definition,
    (original, handlerName) => {
      const stamp = handlerName === 'create' ? options.stampCreate : undefined;
      return async (ctx, request) => {
        if (handlerName === 'create' && options.refuseExisting && (await ctx.get('snapshot')) != null) {
          throw new restate.TerminalError(`"${ctx.key}" already exists`, { errorCode: ALREADY_EXISTS });
        }
        const now = await ctx.date.now();
        journaledNow.set(ctx, now);
        const result = await original(ctx, stamp ? stamp(request, now) : request);
        return options.answer ? options.answer(result) : result;
      };
    },
    options.lazyState ? { enableLazyState: true } : {},
  );
}
