/**
 * Aggregated progress for very large runs, for the inspector and recordings. A fan-out that
 * hosts its specialists lightly (more than `LIGHT_HOSTING_ABOVE` in the run) has no actor per
 * specialist, so the inspector sees no actor per specialist either; what it would still see one
 * of per specialist is the child's end arriving at the fan-out, and the fan-out's snapshot after
 * it. This stage leaves out the former (the fan-out's snapshot counts it) and passes the latter
 * at most once per interval per fan-out, the latest one: the fan-out's counts and outcomes,
 * bounded however many specialists there are. Everything else passes as it comes.
 *
 * A light child's end is recognised as XState relays it: an `xstate.done.actor.*` or
 * `xstate.error.actor.*` event with no source actor (an actor's own end names its source).
 */
import type { AnyEventObject, InspectionEvent } from 'xstate';

/** How often a large fan-out's snapshot goes out, at most. */
export const AGGREGATE_INTERVAL_MS = 250;

const isChildEnd = (type: string) => type.startsWith('xstate.done.actor.') || type.startsWith('xstate.error.actor.');

/**
 * Wraps an inspection observer so a very large run reaches it as aggregated progress (see the
 * module's comment). `intervalMs`: the most one fan-out's snapshots are sent per that time.
 *
 * @example
 * const inspect = aggregateLightChildren(server.inspect);
 */
export function aggregateLightChildren(inspect: (event: InspectionEvent) => void, intervalMs = AGGREGATE_INTERVAL_MS): (event: InspectionEvent) => void {
  /** Events that were a light child's end: the snapshots they caused are the ones held back. */
  const lightEnds = new WeakSet<AnyEventObject>();
  /** Per fan-out (by session): when its last snapshot went out, and the latest one held back. */
  const held = new Map<string, { sentAt: number; pending: InspectionEvent | null; timer: ReturnType<typeof setTimeout> | null }>();

  const send = (sessionId: string, event: InspectionEvent) => {
    const entry = held.get(sessionId);
    if (entry) {
      entry.sentAt = Date.now();
      entry.pending = null;
    }
    inspect(event);
  };

  return (event) => {
    if (event.type === '@xstate.event' && event.sourceRef === undefined && isChildEnd(event.event.type)) {
      lightEnds.add(event.event);
      return;
    }
    if (event.type !== '@xstate.snapshot') return inspect(event);
    const sessionId = event.actorRef.sessionId;
    const entry = held.get(sessionId);
    const final = (event.snapshot as { status?: string }).status !== 'active';
    if (!lightEnds.has(event.event) || final) {
      // Any other snapshot, or a final one, goes at once and supersedes one held back.
      if (entry) {
        if (entry.timer !== null) clearTimeout(entry.timer);
        entry.timer = null;
        entry.pending = null;
      }
      return send(sessionId, event);
    }
    const now = Date.now();
    if (!entry) {
      held.set(sessionId, { sentAt: now, pending: null, timer: null });
      return inspect(event);
    }
    if (now - entry.sentAt >= intervalMs && entry.timer === null) return send(sessionId, event);
    entry.pending = event;
    entry.timer ??= setTimeout(
      () => {
        entry.timer = null;
        if (entry.pending) send(sessionId, entry.pending);
      },
      Math.max(0, intervalMs - (now - entry.sentAt)),
    );
    entry.timer.unref?.();
  };
}
