/**
 * The run deadline as an actor: it sends `run.deadline` to its parent at `deadlineAt` on the
 * run's clock. XState does not persist delayed events (`after`), so a lead restored from a
 * snapshot would never time out; this actor is restored with the lead and re-arms itself from
 * the stored timestamp when it starts again.
 */
import type { ActorLogic, AnyActorRef, Snapshot } from 'xstate';
import type { Clock } from '../clock.ts';

/** When the deadline passes, in ms since epoch on the run's clock. */
export interface DeadlineTimerInput {
  deadlineAt: number;
  /** The event it sends then. Default `run.deadline`. */
  event?: 'run.deadline' | 'lead.deadline';
}

export type DeadlineTimerSnapshot = Snapshot<undefined> & { input: DeadlineTimerInput };
export type DeadlineTimerLogic = ActorLogic<DeadlineTimerSnapshot, { type: 'xstate.stop' }, DeadlineTimerInput>;

/**
 * Creates the deadline timer logic bound to a clock.
 *
 * @example
 * const deadline = createDeadlineTimerLogic(systemClock);
 */
export function createDeadlineTimerLogic(clock: Clock): DeadlineTimerLogic {
  const timers = new WeakMap<AnyActorRef, unknown>();
  return {
    getInitialSnapshot: (_scope, input) => ({ status: 'active', output: undefined, error: undefined, input }),
    start: (snapshot, { self }) => {
      if (snapshot.status !== 'active') return;
      const wait = Math.max(0, snapshot.input.deadlineAt - clock.now());
      timers.set(
        self,
        clock.setTimeout(() => {
          timers.delete(self);
          if (self.getSnapshot().status === 'active') self._parent?.send({ type: snapshot.input.event ?? 'run.deadline' });
        }, wait),
      );
    },
    transition: (snapshot, event, { self }) => {
      if (event.type !== 'xstate.stop') return snapshot;
      const timer = timers.get(self);
      if (timer !== undefined) clock.clearTimeout(timer);
      timers.delete(self);
      return { status: 'stopped', output: undefined, error: undefined, input: snapshot.input };
    },
    getPersistedSnapshot: (snapshot) => snapshot,
    restoreSnapshot: (snapshot) => snapshot as DeadlineTimerSnapshot,
  };
}
