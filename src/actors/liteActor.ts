/**
 * A light host for a child actor logic: the same logic (the same `transition`, the same rules),
 * run without an XState `Actor` around it. It keeps what the logic and its parent use of an
 * actor — `id`, `sessionId`, `_parent`, `send` (queued while an event is being handled, as an
 * actor's mailbox does), `getSnapshot`, and a done or error event sent to the parent when it
 * ends — and nothing else: no system registration, no observers, no inspection events.
 *
 * Why: an XState actor costs ~2 KB and a registration in the actor system; a fan-out of 100,000
 * specialists all in flight at once pays that 100,000 times (measured: ~2.2 KB per specialist
 * and ~40% of the run's garbage-collection time at that size). A fan-out that large hosts its
 * specialists lightly; the inspector then shows the fan-out's aggregated progress rather than
 * one actor per specialist.
 */
import type { ActorLogic, AnyActorRef, EventObject, Snapshot } from 'xstate';

let sessions = 0;

/** A child hosted by {@link startLiteActor}: read with `getSnapshot`, end early with `stop`. */
export class LiteActor<TSnapshot extends Snapshot<unknown>, TEvent extends EventObject, TInput> {
  readonly sessionId = `lite.${++sessions}`;
  private snapshot: TSnapshot;
  /** Events sent while one is being handled; `null` while idle. */
  private queue: TEvent[] | null = null;
  /** The parent was told it ended. */
  private told = false;

  constructor(
    private readonly logic: ActorLogic<TSnapshot, TEvent, TInput>,
    readonly id: string,
    readonly _parent: AnyActorRef,
    input: TInput,
  ) {
    this.snapshot = logic.getInitialSnapshot(this.scope() as never, input);
  }

  getSnapshot(): TSnapshot {
    return this.snapshot;
  }

  /** Hands the event to the logic, after the one being handled if any; dropped once it ended. */
  send(event: TEvent): void {
    if (this.queue) {
      this.queue.push(event);
      return;
    }
    this.queue = [];
    try {
      this.handle(event);
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.handle(next);
    } finally {
      this.queue = null;
    }
  }

  /** Starts the logic (an actor's `start`), handling what it sends itself meanwhile afterwards. */
  start(): this {
    this.queue = [];
    try {
      this.logic.start?.(this.snapshot, this.scope() as never);
    } catch (error) {
      this.fail(error);
    }
    const pending = this.queue;
    this.queue = null;
    for (const event of pending) this.send(event);
    this.afterStep();
    return this;
  }

  /** Stops it from outside (the parent's `stopChild`): the logic sees `xstate.stop`; the parent is not told. */
  stop(): void {
    if (this.snapshot.status !== 'active') return;
    this.snapshot = this.logic.transition(this.snapshot, { type: 'xstate.stop' } as unknown as TEvent, this.scope() as never);
  }

  private handle(event: TEvent): void {
    if (this.snapshot.status !== 'active') return;
    try {
      this.snapshot = this.logic.transition(this.snapshot, event, this.scope() as never);
    } catch (error) {
      this.fail(error);
    }
    this.afterStep();
  }

  /** A logic that throws has crashed, as an actor whose transition throws: its snapshot says so. */
  private fail(error: unknown): void {
    this.snapshot = { ...this.snapshot, status: 'error', error };
  }

  /** Tells the parent once it ended, as an actor does: done with its output, or its error. */
  private afterStep(): void {
    const { status } = this.snapshot;
    if (this.told || status === 'active' || status === 'stopped') return;
    this.told = true;
    if (status === 'done') this._parent.send({ type: `xstate.done.actor.${this.id}`, output: this.snapshot.output, actorId: this.id });
    else if (status === 'error') this._parent.send({ type: `xstate.error.actor.${this.id}`, error: this.snapshot.error, actorId: this.id });
  }

  /** What the logic reads of its actor scope: itself. */
  private scope(): { self: LiteActor<TSnapshot, TEvent, TInput>; id: string; sessionId: string } {
    return { self: this, id: this.id, sessionId: this.sessionId };
  }
}

/** Whether a child is lightly hosted (stopped with `stop()`, not the parent's `stopChild`). */
export function isLiteActor(child: unknown): child is LiteActor<Snapshot<unknown>, EventObject, unknown> {
  return child instanceof LiteActor;
}

/**
 * Creates `logic` as a light child of `parent`; it runs once `start()` is called (as an actor).
 *
 * @example
 * const child = createLiteActor(specialistLogic, { id: spec.id, parent: self, input }).start();
 */
export function createLiteActor<TSnapshot extends Snapshot<unknown>, TEvent extends EventObject, TInput>(
  logic: ActorLogic<TSnapshot, TEvent, TInput>,
  options: { id: string; parent: AnyActorRef; input: TInput },
): LiteActor<TSnapshot, TEvent, TInput> {
  return new LiteActor(logic, options.id, options.parent, options.input);
}
