/**
 * The contract of the lead machine's actor slots, in one neutral place: what each actor it
 * invokes is given and must end with. The in-process actors fill the slots directly; another
 * runtime (Restate) fills them with its own implementations, whose snapshots differ (so the
 * slot's full logic type cannot match), and {@link leadActor} checks at compile time that each
 * takes the slot's input and ends with the slot's output.
 */
import type { AnyActorLogic, InputFrom, OutputFrom } from 'xstate';
import type { FanOutInput, FanOutOutput } from '../actors/fanOut.ts';
import type { DeadlineTimerInput } from '../actors/deadlineTimer.ts';
import type { SpecialistActorInput } from '../actors/specialist.ts';
import type { SpecialistOutcome } from '../outcome.ts';

/** The lead machine's actor slots: each one's input and output. */
export interface LeadActorSlots {
  /** Runs the specialists; ends with every outcome in config order and why it stopped, if it did. */
  fanOut: { input: FanOutInput; output: FanOutOutput };
  /** One specialist, or the synthesizer (with `outcomes`): ends with its outcome. */
  specialist: { input: SpecialistActorInput; output: SpecialistOutcome };
  /** Sends the lead `run.deadline` at `deadlineAt`; ends with nothing. */
  deadlineTimer: { input: DeadlineTimerInput; output: unknown };
}

/** `never`-free when `L` takes the slot's input and its output fits the slot's: the check {@link leadActor} makes. */
export type FitsSlot<L extends AnyActorLogic, K extends keyof LeadActorSlots> = [LeadActorSlots[K]['input']] extends [InputFrom<L>]
  ? [OutputFrom<L>] extends [LeadActorSlots[K]['output']]
    ? L
    : { error: `${K}: its output does not fit the slot's`; output: OutputFrom<L> }
  : { error: `${K}: it does not take the slot's input`; input: InputFrom<L> };

/**
 * An implementation for the lead's slot `slot`, checked against the slot's contract at compile
 * time; typed as the slot's logic so `leadMachine.provide` takes it.
 *
 * @example
 * leadMachine.provide({ actors: { fanOut: leadActor('fanOut', restateFanOut) } });
 */
export function leadActor<K extends keyof LeadActorSlots, L extends AnyActorLogic>(_slot: K, logic: L & FitsSlot<L, K>): never {
  return logic as never;
}
