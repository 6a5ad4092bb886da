/**
 * The streaming fold (`fanIn: 'stream'`): each finding is digested into its section of the
 * report as soon as it arrives, while the other specialists still work, so that after the last
 * one only the cross-cutting part is left to write. Why this shape: a research report is mostly
 * one section per angle, and a section needs only its own finding — only the cross-cutting
 * synthesis and the list of sources need all of them. So the tail after the last specialist is
 * one short call (the closing part), run beside the last finding's digest, instead of the
 * whole report.
 *
 * One fold per run. The fan-out hands it each fulfilled finding (`add`); each digest is a
 * specialist actor of its own (the synthesizer's model and policy: retries, fallbacks, the
 * budget), outside the machine tree. The synthesizer, in stream mode, writes the closing part
 * beside the digests still running, then assembles the report (see `specialist.ts`). Finished
 * digests are journaled in checkpointed runs, and a resumed run keeps them.
 */
import { createActor, type AnyActorRef } from 'xstate';
import type { SpecialistSpec } from '../config.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { addUsageInto, emptyUsage, type Usage } from '../usage.ts';
import type { SpecialistActorInput, SpecialistActorLogic, SpecialistSnapshot } from '../actors/specialist.ts';

/** A finished digest: the finding's section of the report, and what it cost. */
export interface Digest {
  text: string;
  usage: Usage;
  attempts: number;
  model: string | null;
}

/** What a fold needs to know of the run. */
export interface FoldSetup {
  task: string;
  /** The synthesizer: its model, system prompt, policy and token limit write the digests. */
  synthesizer: SpecialistSpec;
  context?: string;
}

/** A run's streaming fold. */
export interface StreamFold {
  /** A finding arrived (fulfilled): digest it now, unless it is digested (or being digested) already. */
  add(setup: FoldSetup, outcome: SpecialistOutcome, weight?: number): void;
  /** Finished digests by specialist id. */
  readonly digests: ReadonlyMap<string, Digest>;
  /** Ids of digests in flight. */
  running(): string[];
  /** Resolves once every digest in flight has ended (finished or failed). */
  settled(): Promise<void>;
  /** Calls (attempts) and tokens of every digest so far, failed ones included. */
  readonly spent: { attempts: number; usage: Usage };
  /** Stops the digests in flight (the run ended without a synthesis). */
  stop(): void;
  /** Listens to finished digests (for the checkpoint's journal); returns the unsubscribe. */
  onDigested(listener: (id: string, digest: Digest) => void): () => void;
}

/** Creates a run's fold over the specialist logic (so digests get retries, fallbacks and budgets), with digests a checkpoint kept. */
export function createStreamFold(specialist: SpecialistActorLogic, kept: Iterable<[string, Digest]> = []): StreamFold {
  const digests = new Map<string, Digest>(kept);
  const running = new Map<string, { actor: AnyActorRef; done: Promise<void> }>();
  const listeners = new Set<(id: string, digest: Digest) => void>();
  const spent = { attempts: 0, usage: emptyUsage() };
  // Digests a checkpoint kept were paid for: the synthesis's calls and tokens count them.
  for (const digest of digests.values()) {
    spent.attempts += digest.attempts;
    addUsageInto(spent.usage, digest.usage);
  }

  const add = (setup: FoldSetup, outcome: SpecialistOutcome, weight?: number) => {
    if (outcome.status !== 'fulfilled' || digests.has(outcome.id) || running.has(outcome.id)) return;
    const spec: SpecialistSpec = { ...setup.synthesizer, id: `digest:${outcome.id}`, angle: outcome.angle, tools: [] };
    const input: SpecialistActorInput = {
      task: setup.task,
      spec,
      digestOf: { outcome, ...(weight !== undefined ? { weight } : {}) },
      ...(setup.context !== undefined ? { context: setup.context } : {}),
    };
    const actor = createActor(specialist, { input });
    const done = new Promise<void>((resolve) => {
      actor.subscribe({
        next: (snapshot) => {
          const state = snapshot as SpecialistSnapshot;
          if (state.status !== 'done' || !state.output) return;
          running.delete(outcome.id);
          spent.attempts += state.output.attempts;
          addUsageInto(spent.usage, state.output.usage);
          if (state.output.status === 'fulfilled' && state.output.output) {
            const digest: Digest = { text: state.output.output.trim(), usage: { ...state.output.usage }, attempts: state.output.attempts, model: state.output.model };
            digests.set(outcome.id, digest);
            for (const listener of listeners) listener(outcome.id, digest);
          }
          resolve();
        },
        error: () => {
          running.delete(outcome.id);
          resolve();
        },
        complete: () => {
          running.delete(outcome.id);
          resolve();
        },
      });
    });
    running.set(outcome.id, { actor, done });
    actor.start();
  };

  return {
    add,
    digests,
    running: () => [...running.keys()],
    settled: () => Promise.all([...running.values()].map((entry) => entry.done)).then(() => undefined),
    spent,
    stop() {
      for (const { actor } of [...running.values()]) {
        // Stopped mid-call: what it had reported still counts.
        const last = actor.getSnapshot() as SpecialistSnapshot;
        if (last.progress) {
          spent.attempts += last.progress.phase === 'backingOff' ? last.progress.attempt - 1 : last.progress.attempt;
          addUsageInto(spent.usage, last.progress.usage);
          addUsageInto(spent.usage, last.progress.inFlightUsage ?? undefined);
        }
        actor.stop();
      }
      running.clear();
    },
    onDigested(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
