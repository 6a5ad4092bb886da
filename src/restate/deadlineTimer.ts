/**
 * The run deadline on Restate: a tiny machine whose `after` delay the adapter turns into a
 * durable Restate timer (a delayed call to the object itself). It sends `run.deadline` to its
 * parent like the in-process timer actor; when the lead leaves the fan-out first, the machine is
 * stopped and the adapter drops the pending timer's event.
 */
import { sendParent, setup } from 'xstate';
import type { DeadlineTimerInput } from '../actors/deadlineTimer.ts';
import { systemNow } from './invocationClock.ts';

/** The deadline timer machine: `run.deadline` to the parent at `deadlineAt`. */
export const restateDeadlineTimer = setup({
  types: { input: {} as DeadlineTimerInput, context: {} as DeadlineTimerInput & { armedAt: number } },
  delays: {
    // Read once, when the timer is armed; the adapter persists the scheduled event, not this function.
    untilDeadline: ({ context }) => Math.max(0, context.deadlineAt - context.armedAt),
  },
}).createMachine({
  id: 'fanfoldDeadline',
  // The invocation's journaled time, not Date.now(): a replay must send the same delay.
  context: ({ input, self }) => ({ deadlineAt: input.deadlineAt, armedAt: systemNow(self.system) }),
  initial: 'armed',
  states: {
    armed: { after: { untilDeadline: { target: 'fired', actions: sendParent({ type: 'run.deadline' }) } } },
    fired: { type: 'final' },
  },
});
