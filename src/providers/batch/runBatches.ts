/**
 * Batch mode for one run (`batch: true`): the run's providers wrapped so that specialists' calls
 * go through Message Batches, while the synthesizer, a model lead and a streaming fold's digests
 * stream; one batch journal for a checkpoint; batch events for the run's event stream; and how
 * the run steers them — cancel, suspend, end. Used by `runFanOut` and `resumeFanOut` alike.
 */
import type { Clock } from '../../clock.ts';
import { LEAD_ID, SYNTHESIZER_ID, type LeadInput, type SpecialistSpec } from '../../config.ts';
import { ConfigError, type ErrorKind } from '../../errors.ts';
import type { BatchEvent } from '../../events.ts';
import { createBatchJournal, type BatchJournal } from '../../checkpoint/batchJournal.ts';
import type { ModelProvider } from '../provider.ts';
import { hasBatches } from './batchApi.ts';
import { createBatchingProvider, type BatchingProvider, type KeptBatch } from './batchingProvider.ts';
import { cancelMarginOf } from './settings.ts';

/** What a run needs to set up batch mode. */
export interface RunBatchesOptions {
  /** The run's provider (and providers by credential): each must have batch endpoints. */
  provider: ModelProvider | undefined;
  providers?: Readonly<Record<string, ModelProvider>> | undefined;
  clock: Clock;
  /** When the run's deadline passes (ms since epoch on `clock`), and how long it is from the run's start. */
  deadline: { at: number; ms: number };
  /** Batches a checkpoint kept (a resume). Default: none. */
  kept?: readonly KeptBatch[];
  /** Names the config in errors. */
  source: string;
}

/** Batch mode, set up for one run. */
export interface RunBatches {
  provider: ModelProvider | undefined;
  providers: Readonly<Record<string, ModelProvider>> | undefined;
  /** Every batch created (and kept), for the checkpoint. */
  journal: BatchJournal;
  /** Where batch events go, once the run's event stream exists. */
  setEvents(emit: (event: BatchEvent) => void): void;
  /** The run was cancelled: cancel every open batch. */
  cancel(): void;
  /** The run was suspended (Ctrl-C): leave batches running for a resume. */
  hold(): void;
  /** The run ended: stop polling; cancel open batches nobody waits for (unless held). */
  close(): Promise<void>;
  /** Resolves once no create is in flight: every batch created so far is in the journal. */
  idle(): Promise<void>;
}

/**
 * Wraps the run's providers for batch mode; `null` when the run is not in batch mode. Throws a
 * `ConfigError` when a provider has no batch endpoints.
 *
 * @example
 * const batches = prepareRunBatches(input, { provider, clock, deadline: { at: startedAt + input.deadlineMs, ms: input.deadlineMs }, source });
 */
export function prepareRunBatches(input: LeadInput, options: RunBatchesOptions): RunBatches | null {
  const settings = input.batch;
  if (!settings) return null;
  const without = [
    ...(options.provider && !hasBatches(options.provider) ? [{ path: 'batch', name: options.provider.name }] : []),
    ...Object.entries(options.providers ?? {})
      .filter(([, provider]) => !hasBatches(provider))
      .map(([credential, provider]) => ({ path: `batch (credential "${credential}")`, name: provider.name })),
  ];
  if (without.length > 0) {
    throw new ConfigError(
      options.source,
      without.map(({ path, name }) => ({
        path,
        message: `batch mode needs a provider with the Message Batches endpoints (createAnthropicProvider has them); the provider "${name}" has none`,
      })),
    );
  }
  const journal = createBatchJournal(options.kept ?? []);
  let sink: ((event: BatchEvent) => void) | null = null;
  const streamOn = streamOnLookup(input);
  const streams = (id: string) => id === SYNTHESIZER_ID || id.startsWith('digest:') || (input.lead !== undefined && id === LEAD_ID);
  const cancelAt = options.deadline.at - cancelMarginOf(settings, options.deadline.ms);
  const wrapped: BatchingProvider[] = [];
  const wrap = (provider: ModelProvider): BatchingProvider => {
    if (!hasBatches(provider)) throw new Error('unreachable: checked above');
    const batching = createBatchingProvider({
      provider,
      batches: provider.batches,
      clock: options.clock,
      settings,
      batched: (caller) => !streams(caller.id),
      streamOn,
      cancelAt,
      kept: journal.batches,
      onSubmitted: (batch) => journal.submitted(batch),
      onEvent: (event) => sink?.(event),
    });
    wrapped.push(batching);
    return batching;
  };
  const provider = options.provider ? wrap(options.provider) : undefined;
  const providers = options.providers ? Object.fromEntries(Object.entries(options.providers).map(([name, inner]) => [name, wrap(inner)])) : undefined;
  return {
    provider,
    providers,
    journal,
    setEvents: (emit) => {
      sink = emit;
    },
    cancel: () => {
      for (const batching of wrapped) void batching.cancelAll();
    },
    hold: () => {
      for (const batching of wrapped) batching.hold();
    },
    close: async () => {
      await Promise.all(wrapped.map((batching) => batching.close()));
    },
    idle: async () => {
      await Promise.all(wrapped.map((batching) => batching.idle()));
    },
  };
}

/**
 * The policies' `streamOn` by caller id: every spec of the run by its id (a sub-lead's too, a
 * model lead's templates for the specialists it spawns as `<template>-<n>`); an id given to
 * several specs gets the union, and one not found gets the union of all — streaming a retry the
 * policy meant to batch costs more, but the other way round the policy would stream forever.
 */
function streamOnLookup(input: LeadInput): (callerId: string) => readonly ErrorKind[] {
  const byId = new Map<string, Set<ErrorKind>>();
  const all = new Set<ErrorKind>();
  const add = (spec: SpecialistSpec) => {
    const kinds = spec.policy.streamOn ?? [];
    let set = byId.get(spec.id);
    if (!set) byId.set(spec.id, (set = new Set()));
    for (const kind of kinds) {
      set.add(kind);
      all.add(kind);
    }
    spec.fanOut?.specialists.forEach(add);
    if (spec.fanOut) add(spec.fanOut.synthesizer);
  };
  input.specialists.forEach(add);
  input.lead?.templates.forEach(add);
  if (input.lead) add(input.lead.agent);
  add(input.synthesizer);
  const cache = new Map<string, readonly ErrorKind[]>();
  return (callerId) => {
    const known = cache.get(callerId);
    if (known) return known;
    const set = byId.get(callerId) ?? byId.get(callerId.replace(/-\d+$/, '')) ?? all;
    const kinds = [...set];
    cache.set(callerId, kinds);
    return kinds;
  };
}
