/**
 * The rules of a flat fan-out as a pure step: a group of specialists started as slots allow,
 * each outcome gathered as it arrives, the run-level policies that act at once (a failure that
 * escalates, a quorum out of reach) and a stop (deadline, cancel, a stop decided elsewhere)
 * that cuts the rest short while keeping every finished outcome.
 *
 * `step(state, event, now)` returns the new state and the effects a shell carries out: start a
 * specialist, cut one short (the shell knows what it had done and steps back its outcome), and
 * tell the rest of the run about a stop this group decided. The Restate runtime runs one such
 * group per chunk invocation.
 */
import type { FanOutStop } from '../actors/fanOut.ts';
import type { SpecialistSpec } from '../config.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import { stopAfterSettled, stoppedError, stoppedStatus } from './stops.ts';

/** A group's state. Plain JSON; each step returns a new one. */
export interface FlatFanOutState {
  specs: SpecialistSpec[];
  /** Outcome per specialist, in order; `null` while unfinished. */
  outcomes: Array<SpecialistOutcome | null>;
  /** Next specialist to start. */
  nextIndex: number;
  running: number;
  fulfilled: number;
  unsuccessful: number;
  /** Most specialists running at once (`null`: no limit). */
  maxConcurrency: number | null;
  /**
   * The run's quorum and size: a group that is part of a larger run sees only its own failures,
   * and stops the run when they alone put the quorum out of reach.
   */
  quorum: number;
  runTotal: number;
  stop: FanOutStop | null;
}

/** What happens to a group. */
export type FlatFanOutEvent =
  /** Start what the slots allow (the first step). */
  | { type: 'fill' }
  /** Specialist `index` settled (on its own, or stepped back after a `cut`). */
  | { type: 'settled'; index: number; outcome: SpecialistOutcome }
  /** Stop: nothing new starts; the unfinished are cut short. */
  | { type: 'stop'; stop: FanOutStop };

/** What the shell must do. */
export type FlatFanOutEffect =
  | { type: 'start'; index: number }
  /** Specialist `index` is running and must end now, with this status and error: step back its outcome as `settled`. */
  | { type: 'cut'; index: number; stop: FanOutStop }
  /** This group decided a stop (escalation, quorum): tell the rest of the run. */
  | { type: 'announce'; stop: FanOutStop };

/** A step's result. */
export interface FlatFanOutStep {
  state: FlatFanOutState;
  effects: FlatFanOutEffect[];
}

/** A group before anything started. */
export function initialFlatFanOut(specs: SpecialistSpec[], options: { maxConcurrency: number | null; quorum: number; runTotal?: number }): FlatFanOutState {
  return {
    specs,
    outcomes: new Array<SpecialistOutcome | null>(specs.length).fill(null),
    nextIndex: 0,
    running: 0,
    fulfilled: 0,
    unsuccessful: 0,
    maxConcurrency: options.maxConcurrency,
    quorum: options.quorum,
    runTotal: options.runTotal ?? specs.length,
    stop: null,
  };
}

/** Every specialist has an outcome. */
export function flatFanOutDone(state: FlatFanOutState): boolean {
  return state.fulfilled + state.unsuccessful >= state.specs.length;
}

/** Applies one event. */
export function stepFlatFanOut(current: FlatFanOutState, event: FlatFanOutEvent, now: number): FlatFanOutStep {
  const state: FlatFanOutState = { ...current, outcomes: current.outcomes.slice() };
  const effects: FlatFanOutEffect[] = [];

  const record = (index: number, outcome: SpecialistOutcome) => {
    state.outcomes[index] = outcome;
    if (outcome.status === 'fulfilled') state.fulfilled++;
    else state.unsuccessful++;
  };

  const fill = () => {
    const limit = state.maxConcurrency ?? Infinity;
    while (state.stop === null && state.running < limit && state.nextIndex < state.specs.length) {
      effects.push({ type: 'start', index: state.nextIndex++ });
      state.running++;
    }
  };

  const stopAll = (stop: FanOutStop) => {
    state.stop = stop;
    const status = stoppedStatus(stop);
    const error = stoppedError(stop);
    state.specs.forEach((spec, index) => {
      if (state.outcomes[index]) return;
      if (index < state.nextIndex) effects.push({ type: 'cut', index, stop });
      else record(index, unstartedOutcome(spec, status, { kind: error.kind, message: `${error.message} (it was still waiting for a concurrency slot)` }, now));
    });
    state.nextIndex = state.specs.length;
  };

  switch (event.type) {
    case 'fill':
      fill();
      break;
    case 'stop':
      if (state.stop === null) stopAll(event.stop);
      break;
    case 'settled': {
      if (state.outcomes[event.index]) break;
      state.running--;
      record(event.index, event.outcome);
      if (state.stop !== null) break;
      const spec = state.specs[event.index]!;
      // Failures elsewhere in the run are not seen here: these alone losing the quorum is enough.
      const decided = stopAfterSettled(spec, event.outcome, state.quorum, { total: state.runTotal, fulfilled: state.fulfilled, unsuccessful: state.unsuccessful });
      if (decided) {
        effects.push({ type: 'announce', stop: decided });
        stopAll(decided);
      } else {
        fill();
      }
      break;
    }
  }
  return { state, effects };
}
