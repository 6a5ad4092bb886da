/**
 * The rules of a fan-out, once for every runtime: start specialists as slots allow (a shared
 * context's cache warmed by one first), gather each outcome as it arrives, act on the run-level
 * policies that act at once (a failure that escalates, a quorum out of reach), stop on the
 * deadline, a cancel, a spent budget or a stop decided elsewhere while keeping every finished
 * outcome, restart a specialist, take more specialists while open (a model lead's), end
 * specialists at their own deadlines, and pick up again after a restore.
 *
 * `stepFanOut(state, event, env)` is deterministic and does no I/O: it returns the effects a
 * shell carries out (start a specialist, cut one short, throw one's work away, tell the rest of
 * the run of a stop, arm a timer) in the spirit of xstate's `transition`. The state is updated
 * in place and is plain JSON: a step costs O(1) per specialist it touches, which a 10,000-
 * specialist fan-out needs (copy it with `structuredClone` to keep an old one).
 *
 * Shells: the in-process fan-out actor (src/actors/fanOut.ts) and each Restate chunk
 * (src/restate/chunkService.ts).
 */
import type { LeadInput, SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import { unstartedOutcome, type SpecialistOutcome } from '../outcome.ts';
import { quorumUnreachable } from '../policy.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import { deadlineStop, escalates, escalationStop, quorumStop, stopAfterSettled, stoppedError, stoppedStatus } from './stops.ts';

/** Why a fan-out ended before every specialist finished on its own. */
export interface FanOutStop {
  reason: 'deadline' | 'cancelled' | 'escalated' | 'quorumUnreachable' | 'crashed' | 'budget';
  message: string;
  /** The specialist whose failure escalated, or whose actor crashed. */
  by?: string;
}

/** What the rules read of a fan-out's input. Plain JSON. */
export type FanOutRulesInput = Pick<LeadInput, 'specialists' | 'quorum' | 'maxConcurrency' | 'deadlineMs'> & {
  /** When the run's deadline passes (ms since epoch). */
  deadlineAt: number;
  /** More specialists may be added (`add`) until `close`; the quorum is judged then. */
  open?: boolean;
  /** What a spent budget does to running specialists: `cut` stops them, otherwise they finish. */
  budget?: { onBudget: 'finish' | 'cut' };
  /**
   * The run's size when this fan-out is one group of a larger run (a Restate chunk): it sees
   * only its own failures and stops the run when they alone put the quorum out of reach.
   * Default: the number of specialists.
   */
  runTotal?: number;
};

/** A fan-out's state. Plain JSON, updated in place by {@link stepFanOut}. */
export interface FanOutState {
  input: FanOutRulesInput;
  /** Outcome per specialist in input order; `null` while unfinished. */
  outcomes: Array<SpecialistOutcome | null>;
  /** Index of the next specialist to start. */
  nextIndex: number;
  /** Specialists to start again (restarted, or in flight when the run went down), before `nextIndex`. */
  requeued: number[];
  running: number;
  fulfilled: number;
  unsuccessful: number;
  stop: FanOutStop | null;
  /** Attempts and usage of runs a restart threw away, by index, added to that specialist's next outcome. */
  discarded: Record<number, { attempts: number; usage: Usage }>;
  /** An open fan-out: set once it was closed. */
  closed?: boolean;
  /** Specialists' own deadlines (an open fan-out's), by index: when, and what their outcome says. */
  deadlines?: Record<number, { at: number; message: string }>;
  /**
   * The shared context's cache warm-up: `pending` until the first specialist starts, `warming`
   * while only it runs (until its first response begins or it settles), then `done`. Absent
   * when there is nothing to warm.
   */
  warm?: 'pending' | 'warming' | 'done';
  /** The specialist warming the cache. */
  warmer?: string;
}

/** What happens to a fan-out. */
export type FanOutStepEvent =
  /** Start what the slots allow. */
  | { type: 'fill' }
  /**
   * Specialist `index` settled. `cut`: it is the outcome of a `cut` effect (no policy is judged
   * on it). `crashed`: its actor failed (a bug): the fan-out stops, keeping what finished.
   */
  | { type: 'settled'; index: number; outcome: SpecialistOutcome; cut?: boolean; crashed?: boolean }
  /** Stop: nothing new starts; the unfinished are cut short. */
  | { type: 'stop'; stop: FanOutStop }
  /** The run's budget is spent: nothing new starts; with `onBudget: 'cut'` the running stop too. */
  | { type: 'budget' }
  /** The shared context's cache was written by specialist `id`: the others may start. */
  | { type: 'cacheWritten'; id: string }
  /** Start specialist `index` again with fresh attempts (its spent attempts and usage are kept). */
  | { type: 'restart'; index: number }
  /** What the run a `discard` effect threw away had spent. */
  | { type: 'discarded'; index: number; attempts: number; usage: Usage }
  /** An open fan-out: start these too; each stops at `deadlineAt` if still running (`null`: the run's deadline). */
  | { type: 'add'; specs: SpecialistSpec[]; deadlineAt: number | null; message?: string }
  /** An open fan-out: stop these specialists at `deadlineAt` if they are still running then, saying `message`. */
  | { type: 'deadlines'; indexes: number[]; deadlineAt: number; message: string }
  /** Specialists' own deadlines up to `env.now` have passed. */
  | { type: 'agentDeadlines' }
  /** An open fan-out: its lead is done; stop whoever still runs (`skipped`, with `message`). */
  | { type: 'close'; message: string }
  /**
   * Taken back from a checkpoint: what was in flight starts again, outcomes kept elsewhere
   * (`kept`) are recorded, and a stop the run would have made while it was down is made now.
   */
  | { type: 'restore'; kept: Array<{ index: number; outcome: SpecialistOutcome }> };

/** What the shell must do, in order. */
export type FanOutEffect =
  | { type: 'start'; index: number }
  /**
   * Specialist `index` is running and must end now, with this status and error. It no longer
   * counts as running (its slot is free); the shell steps back its outcome as `settled` with
   * `cut: true`, before anything else happens to the fan-out.
   */
  | { type: 'cut'; index: number; status: 'timedOut' | 'skipped'; error: ErrorInfo }
  /** Specialist `index` is running and starts again: end it, and step back what it spent as `discarded`. */
  | { type: 'discard'; index: number }
  /** An outcome was recorded (`kept`: one a restore handed back). */
  | { type: 'recorded'; index: number; outcome: SpecialistOutcome; kept: boolean }
  /** This fan-out decided a stop (escalation, quorum): tell the rest of the run. */
  | { type: 'announce'; stop: FanOutStop }
  /** The next specialist needs a run-wide call slot and none is free: step `fill` once one is. */
  | { type: 'waitForSlot' }
  /** The earliest specialist deadline still ahead (`null`: none): arm one timer for it. */
  | { type: 'deadlineTimer'; at: number | null };

/** What the shell knows of the world at a step. */
export interface FanOutEnv {
  now: number;
  /** Run-wide call slots free now (a sub-lead needs none); default unlimited. */
  freeCallSlots?: number;
}

/**
 * A fan-out before anything started. `warmUp`: a shared context long enough to be cached, so
 * one specialist writes the cache before the rest start.
 */
export function initialFanOut(input: FanOutRulesInput, options: { warmUp?: boolean } = {}): FanOutState {
  return {
    input,
    outcomes: new Array<SpecialistOutcome | null>(input.specialists.length).fill(null),
    nextIndex: 0,
    requeued: [],
    running: 0,
    fulfilled: 0,
    unsuccessful: 0,
    stop: null,
    discarded: {},
    ...(options.warmUp ? { warm: 'pending' as const } : {}),
  };
}

/** An open fan-out not yet closed: more specialists may come, so the quorum is not judged yet. */
export function stillOpen(state: FanOutState): boolean {
  return state.input.open === true && state.closed !== true && state.stop === null;
}

/** Every specialist has an outcome and no more can come: the fan-out is over. */
export function fanOutDone(state: FanOutState): boolean {
  return state.fulfilled + state.unsuccessful >= state.input.specialists.length && !stillOpen(state);
}

/** Every specialist has been started (none waits for a slot). */
export function allStarted(state: FanOutState): boolean {
  return state.nextIndex >= state.input.specialists.length && state.requeued.length === 0;
}

const runTotal = (state: FanOutState) => state.input.runTotal ?? state.input.specialists.length;
const tally = (state: FanOutState) => ({ total: runTotal(state), fulfilled: state.fulfilled, unsuccessful: state.unsuccessful });

/**
 * Applies one event, updating `state` in place, and returns the effects to carry out in order.
 * An effect that asks for a step back (`cut`, `discard`) must get it before the next event.
 */
export function stepFanOut(state: FanOutState, event: FanOutStepEvent, env: FanOutEnv): FanOutEffect[] {
  const step = new Step(state, env);
  step.apply(event);
  return step.effects;
}

/**
 * One step's work: the effects so far and what the step itself changed (slots given back,
 * specialists cut short). A class, not closures: a step runs per specialist event, 200,000 times
 * in a 100,000-specialist run.
 */
class Step {
  readonly effects: FanOutEffect[] = [];
  /** Call slots the specialists this step cut short or threw away give back (the shell frees them first). */
  private freed = 0;
  /** Specialists this step cut short: their outcomes come back after it, but they are over. */
  private cut: Set<number> | null = null;

  constructor(
    private readonly state: FanOutState,
    private readonly env: FanOutEnv,
  ) {}

  apply(event: FanOutStepEvent): void {
    const { state } = this;
    const specs = state.input.specialists;
    switch (event.type) {
      case 'fill':
        this.fill();
        break;

      case 'settled': {
        const { index, outcome } = event;
        if (state.outcomes[index]) break;
        // A cut one stopped counting as running when it was cut.
        if (!event.cut) state.running--;
        this.record(index, outcome);
        if (event.cut) break;
        if (event.crashed) {
          this.stopAll({ reason: 'crashed', by: outcome.id, message: outcome.error?.message ?? `specialist "${outcome.id}" crashed` });
          break;
        }
        const decided = stopAfterSettled(specs[index]!, outcome, state.input.quorum, tally(state), stillOpen(state));
        if (decided) {
          this.effects.push({ type: 'announce', stop: decided });
          this.stopAll(decided);
        } else {
          this.fill();
        }
        break;
      }

      case 'stop':
        // After a budget stop the running may still finish: a later stop cuts them short.
        if (state.stop === null || state.stop.reason === 'budget') this.stopAll(event.stop);
        break;

      case 'budget': {
        if (state.stop !== null) break;
        if (state.input.budget?.onBudget === 'cut') {
          this.stopAll({ reason: 'budget', message: "budget: stopped, the run's budget was spent" });
          break;
        }
        // Running ones finish (each call only while it fits under the line); queued ones never start.
        state.stop = { reason: 'budget', message: "budget: not started, the run's budget was spent" };
        const requeued = new Set(state.requeued);
        for (let index = 0; index < specs.length; index++) {
          if (!this.isRunning(index, requeued)) this.stopOne(index, 'skipped', { kind: 'budget', message: state.stop.message }, requeued);
        }
        state.requeued = [];
        state.nextIndex = specs.length;
        break;
      }

      case 'cacheWritten':
        if (state.warm !== 'warming' || event.id !== state.warmer) break;
        state.warm = 'done';
        this.fill();
        break;

      case 'restart': {
        const { index } = event;
        if (state.stop !== null || index < 0 || index >= specs.length) break;
        const previous = state.outcomes[index];
        if (previous) {
          state.discarded[index] = addSpent(state.discarded[index], previous.attempts, previous.usage);
          if (previous.status === 'fulfilled') state.fulfilled--;
          else state.unsuccessful--;
          state.outcomes[index] = null;
          state.requeued.push(index);
        } else if (this.isRunning(index, new Set(state.requeued))) {
          // Same id, fresh attempts: the shell ends the running one (aborting its call) first.
          this.effects.push({ type: 'discard', index });
          state.running--;
          if (specs[index]!.kind !== 'fanOut') this.freed++;
          // The warmer restarted before its cache write: it warms again, starting first.
          if (state.warm === 'warming' && state.warmer === specs[index]!.id) state.warm = 'pending';
          state.requeued.unshift(index);
        } else {
          break; // Still queued: nothing to start again.
        }
        this.fill();
        break;
      }

      case 'discarded':
        state.discarded[event.index] = addSpent(state.discarded[event.index], event.attempts, event.usage);
        break;

      case 'add':
        if (!stillOpen(state)) break;
        for (const spec of event.specs) {
          const index = specs.length;
          specs.push(spec);
          state.outcomes.push(null);
          if (event.deadlineAt !== null) this.setDeadline(index, event.deadlineAt, event.message ?? 'its deadline passed before it finished');
        }
        this.fill();
        this.armDeadlines();
        break;

      case 'deadlines':
        for (const index of event.indexes) if (!state.outcomes[index]) this.setDeadline(index, event.deadlineAt, event.message);
        this.armDeadlines();
        break;

      case 'agentDeadlines': {
        const requeued = new Set(state.requeued);
        for (const [key, deadline] of Object.entries(state.deadlines ?? {})) {
          const index = Number(key);
          if (deadline.at > this.env.now || state.outcomes[index]) continue;
          if (requeued.has(index)) state.requeued = state.requeued.filter((queued) => queued !== index);
          this.stopOne(index, 'timedOut', { kind: 'deadline', message: deadline.message }, requeued);
        }
        this.fill();
        this.armDeadlines();
        break;
      }

      case 'close': {
        if (state.input.open !== true || state.closed) break;
        state.closed = true;
        this.endAll('skipped', { kind: 'cancelled', message: event.message });
        break;
      }

      case 'restore': {
        // What was in flight (or queued by a restart) starts again; finished ones stay finished.
        state.requeued = [];
        for (let index = 0; index < state.nextIndex; index++) if (!state.outcomes[index]) state.requeued.push(index);
        state.running = 0;
        // A warm-up cut short by the restart: warm again (its warmer starts again first).
        if (state.warm === 'warming') state.warm = 'pending';
        for (const { index, outcome } of event.kept) if (!state.outcomes[index]) this.record(index, outcome, true);
        const stop = stopOnRestore(state, this.env.now);
        if (stop) {
          this.stopAll(stop);
        } else {
          this.fill();
          this.armDeadlines();
        }
        break;
      }
    }
  }

  private record(index: number, settled: SpecialistOutcome, kept = false): void {
    const { state } = this;
    let outcome = settled;
    const spent = state.discarded[index];
    if (spent) {
      delete state.discarded[index];
      outcome = { ...settled, attempts: settled.attempts + spent.attempts, usage: addUsageInto({ ...spent.usage }, settled.usage) };
    }
    state.outcomes[index] = outcome;
    if (outcome.status === 'fulfilled') state.fulfilled++;
    else state.unsuccessful++;
    // The warmer settled before its response began (it failed): the others go ahead uncached.
    if (state.warm === 'warming' && state.warmer === outcome.id) state.warm = 'done';
    this.effects.push({ type: 'recorded', index, outcome, kept });
  }

  /** Starts queued specialists in order while this level has room and the run a free call slot. */
  private fill(): void {
    const { state } = this;
    const specs = state.input.specialists;
    const limit = state.input.maxConcurrency ?? Infinity;
    let free = (this.env.freeCallSlots ?? Infinity) + this.freed;
    while (state.running < limit && state.stop === null) {
      // Warming the shared context's cache: one specialist first, the rest once it is written.
      if (state.warm === 'warming') break;
      const index = state.requeued.length > 0 ? state.requeued[0]! : state.nextIndex < specs.length ? state.nextIndex : undefined;
      if (index === undefined) break;
      const spec = specs[index]!;
      if (free <= 0 && spec.kind !== 'fanOut') {
        this.effects.push({ type: 'waitForSlot' });
        break;
      }
      if (state.requeued.length > 0) state.requeued.shift();
      else state.nextIndex++;
      // Restored from a checkpoint whose journal settled it after the snapshot: never call it again.
      if (state.outcomes[index]) continue;
      if (state.warm === 'pending' && spec.kind === 'model') {
        state.warm = 'warming';
        state.warmer = spec.id;
      }
      if (spec.kind !== 'fanOut') free--;
      state.running++;
      this.effects.push({ type: 'start', index });
    }
  }

  /** Whether specialist `index` runs now (started, unfinished, not queued to start again). */
  private isRunning(index: number, requeued: ReadonlySet<number>): boolean {
    return index < this.state.nextIndex && !requeued.has(index);
  }

  /** Ends one unfinished specialist: running ones are cut short (by the shell), queued ones never start. */
  private stopOne(index: number, status: 'timedOut' | 'skipped', error: ErrorInfo, requeued: ReadonlySet<number>): void {
    const { state } = this;
    if (state.outcomes[index]) return;
    const spec = state.input.specialists[index]!;
    if (this.isRunning(index, requeued)) {
      state.running--;
      if (spec.kind !== 'fanOut') this.freed++;
      (this.cut ??= new Set()).add(index);
      this.effects.push({ type: 'cut', index, status, error });
      return;
    }
    // Below nextIndex it had been started once: restarted, or in flight when the run went down.
    const why = index < state.nextIndex ? 'it was waiting to start again' : 'it was still waiting for a concurrency slot';
    this.record(index, unstartedOutcome(spec, status, { kind: error.kind, message: `${error.message} (${why})` }, this.env.now));
  }

  /** Ends every unfinished specialist: nothing more starts. */
  private endAll(status: 'timedOut' | 'skipped', error: ErrorInfo): void {
    const { state } = this;
    const requeued = new Set(state.requeued);
    for (let index = 0; index < state.input.specialists.length; index++) this.stopOne(index, status, error, requeued);
    state.requeued = [];
    state.nextIndex = state.input.specialists.length;
  }

  private stopAll(stop: FanOutStop): void {
    this.state.stop = stop;
    this.endAll(stoppedStatus(stop), stoppedError(stop));
  }

  private armDeadlines(): void {
    let earliest: number | null = null;
    for (const [index, deadline] of Object.entries(this.state.deadlines ?? {})) {
      if (this.state.outcomes[Number(index)] || this.cut?.has(Number(index))) continue;
      if (earliest === null || deadline.at < earliest) earliest = deadline.at;
    }
    this.effects.push({ type: 'deadlineTimer', at: earliest });
  }

  private setDeadline(index: number, at: number, message: string): void {
    const deadlines = (this.state.deadlines ??= {});
    const current = deadlines[index];
    if (!current || at < current.at) deadlines[index] = { at, message };
  }
}

function addSpent(kept: { attempts: number; usage: Usage } | undefined, attempts: number, usage: Usage): { attempts: number; usage: Usage } {
  const spent = kept ?? { attempts: 0, usage: emptyUsage() };
  spent.attempts += attempts;
  addUsageInto(spent.usage, usage);
  return spent;
}

/**
 * Why a fan-out restored from a checkpoint must stop before starting anyone: its deadline passed
 * while the run was down, or a kept outcome escalates, or the kept failures already lose the
 * quorum (the process died before it could act on them). `null` for a fresh start.
 */
function stopOnRestore(state: FanOutState, now: number): FanOutStop | null {
  const { input } = state;
  if (state.stop !== null || state.fulfilled + state.unsuccessful >= input.specialists.length) return null;
  if (now >= input.deadlineAt) return deadlineStop(input.deadlineMs);
  const escalating = state.outcomes.find((outcome, index) => outcome !== null && escalates(input.specialists[index]!, outcome));
  if (escalating) return escalationStop(escalating);
  return !stillOpen(state) && quorumUnreachable(tally(state), input.quorum) ? quorumStop(input.quorum, state.unsuccessful, runTotal(state)) : null;
}
