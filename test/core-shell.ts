/**
 * A tiny synchronous shell over the pure core (`src/core/fanOutStep.ts`, `src/core/attemptStep.ts`):
 * an in-memory driver that carries out the core's effects on a manual clock, with each call's
 * record scripted the way the runtime contract scripts a provider (`RunScript`). No actors, no
 * timers, no I/O: what it returns is what the rules alone decide, so the contract's cases can be
 * checked at logic level in milliseconds.
 */
import type { FanOutStop } from '../src/core/fanOutStep.ts';
import { normalizeConfig, type FanOutConfig } from '../src/config.ts';
import type { ErrorKind } from '../src/errors.ts';
import { afterAttempt, afterWait, firstAttempt, stoppedAttempts, type AttemptRecord, type AttemptsState, type SteppedOutcome } from '../src/core/attemptStep.ts';
import { fanOutDone, initialFanOut, stepFanOut, type FanOutState, type FanOutStepEvent } from '../src/core/fanOutStep.ts';
import { cancelStop, deadlineStop } from '../src/core/stops.ts';
import { unstartedOutcome } from '../src/outcome.ts';
import { emptyUsage } from '../src/usage.ts';
import { DEFAULT_LATENCY_MS, defaultReplyText, REPLY_USAGE, type CallScript, type RunScript } from './contracts/runtime.contract.ts';

/** One call the shell made, on its manual clock (ms from the run's start). */
export interface ShellCall {
  id: string;
  attempt: number;
  model: string;
  startedAt: number;
  /** `null`: still running when the run stopped (a hang, or cut short). */
  endedAt: number | null;
}

/** What the core decided for a run. */
export interface ShellRun {
  outcomes: SteppedOutcome[];
  stop: FanOutStop | null;
  calls: ShellCall[];
  /** The most calls in flight at once. */
  maxInFlight: number;
  /** When the last specialist settled. */
  endedAt: number;
}

const KIND_OF_STATUS: Record<NonNullable<CallScript['status']>, ErrorKind> = { 400: 'bad_request', 429: 'rate_limited', 500: 'server', 503: 'server', 529: 'overloaded' };

type WakeEvent = { kind: 'record'; index: number; record: AttemptRecord; call: ShellCall } | { kind: 'waited'; index: number } | { kind: 'cancel'; reason?: string };
type Wake = { at: number; seq: number; event: WakeEvent };

/**
 * Runs `config` through the core on a manual clock: the run starts at 0 and its deadline is at
 * `deadlineMs`. `cancelAt` cancels the run at that time. What falls due at the deadline's instant
 * is handled after the deadline's stop (as the in-process fan-out's timer does), or before it
 * with `deadlineLast` (as a Restate chunk does, which has no deadline timer of its own: its
 * calls abort themselves there and its waits end there, and the lead's stop arrives later).
 */
export function runCoreShell(config: FanOutConfig, script: RunScript, options: { cancelAt?: number; cancelReason?: string; deadlineLast?: boolean } = {}): ShellRun {
  const { input } = normalizeConfig(config);
  const specs = input.specialists;
  const deadlineAt = input.deadlineMs;
  let now = 0;
  let seq = 0;
  const queue: Wake[] = [];
  const schedule = (at: number, event: WakeEvent) => queue.push({ at, seq: seq++, event });
  const calls: ShellCall[] = [];
  const callsBy = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const running = new Map<number, { state: AttemptsState; inFlightSince: number | null; call: ShellCall | null }>();
  const group: FanOutState = initialFanOut({ specialists: specs, maxConcurrency: input.maxConcurrency, quorum: input.quorum, deadlineMs: input.deadlineMs, deadlineAt });

  const endCall = (call: ShellCall | null) => {
    if (!call || call.endedAt !== null) return;
    call.endedAt = now;
    inFlight--;
  };

  /** Makes attempt `attempt` on `model`: its record comes back after the scripted latency, unless it hangs. */
  const callModel = (index: number, state: AttemptsState, model: string, attempt: number) => {
    const spec = specs[index]!;
    // With `deadlineLast`, as a Restate chunk: no call at or past the deadline; the stop cuts it instead.
    if (options.deadlineLast && now >= deadlineAt) return void running.set(index, { state, inFlightSince: null, call: null });
    const n = (callsBy.get(spec.id) ?? 0) + 1;
    callsBy.set(spec.id, n);
    const entry = script[spec.id];
    const step: CallScript = (Array.isArray(entry) ? entry[Math.min(n, entry.length) - 1] : entry) ?? {};
    const call: ShellCall = { id: spec.id, attempt, model, startedAt: now, endedAt: null };
    calls.push(call);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    running.set(index, { state, inFlightSince: now, call });
    const endsAt = step.hang ? Infinity : now + (step.latencyMs ?? DEFAULT_LATENCY_MS);
    if (options.deadlineLast && endsAt > deadlineAt) {
      // The call aborts itself at the deadline (what a Restate call does: no signal reaches it from the lead).
      const record: AttemptRecord = {
        ok: false,
        error: { kind: 'deadline', message: "the run's deadline passed before it finished" },
        usage: emptyUsage(),
        startedAt: now,
        endedAt: Math.max(now, deadlineAt),
      };
      return schedule(record.endedAt, { kind: 'record', index, record, call });
    }
    if (step.hang) return;
    const at = endsAt;
    const record: AttemptRecord =
      step.status !== undefined
        ? { ok: false, error: { kind: KIND_OF_STATUS[step.status], message: `scripted ${step.status} for ${spec.id}`, status: step.status }, usage: emptyUsage(), startedAt: now, endedAt: at }
        : { ok: true, text: step.text ?? defaultReplyText(spec.id, n), model, stopReason: 'end_turn', usage: { ...REPLY_USAGE }, startedAt: now, endedAt: at };
    schedule(at, { kind: 'record', index, record, call });
  };

  const follow = (index: number, step: ReturnType<typeof afterWait>) => {
    const { state, effect } = step;
    if (effect.type === 'settle') {
      running.delete(index);
      return apply({ type: 'settled', index, outcome: effect.outcome });
    }
    if (effect.type === 'wait') {
      running.set(index, { state, inFlightSince: null, call: null });
      return schedule(now + effect.ms, { kind: 'waited', index });
    }
    callModel(index, state, effect.model, effect.attempt);
  };

  function apply(event: FanOutStepEvent): void {
    for (const effect of stepFanOut(group, event, { now })) {
      if (effect.type === 'start') follow(effect.index, firstAttempt(specs[effect.index]!, deadlineAt));
      else if (effect.type === 'cut') {
        const cut = running.get(effect.index);
        running.delete(effect.index);
        endCall(cut?.call ?? null);
        const outcome = cut ? stoppedAttempts(cut.state, cut.inFlightSince, effect.status, effect.error, now) : unstartedOutcome(specs[effect.index]!, effect.status, effect.error, now);
        apply({ type: 'settled', index: effect.index, outcome, cut: true });
      }
      // `announce`: one group is the whole run here; its own stop already applies. `recorded`: read at the end.
    }
  }

  if (options.cancelAt !== undefined) schedule(options.cancelAt, { kind: 'cancel', ...(options.cancelReason ? { reason: options.cancelReason } : {}) });
  apply({ type: 'fill' });
  while (!fanOutDone(group)) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = queue[0];
    // The deadline at its instant: before what else falls due then, or (`deadlineLast`) after it.
    const deadlineFirst = !options.deadlineLast && next !== undefined && next.at >= deadlineAt && group.stop === null;
    const deadlineNow = group.stop === null && (next === undefined || next.at > deadlineAt || deadlineFirst);
    if (deadlineNow) {
      now = Math.max(now, deadlineAt);
      apply({ type: 'stop', stop: deadlineStop(input.deadlineMs) });
      continue;
    }
    const wake = queue.shift();
    if (!wake) throw new Error('the core waits for nothing, yet the group is not done');
    now = wake.at;
    const event = wake.event;
    if (event.kind === 'cancel') apply({ type: 'stop', stop: cancelStop(event.reason) });
    else if (event.kind === 'waited') {
      const entry = running.get(event.index);
      if (entry) follow(event.index, afterWait(entry.state));
    } else if (event.kind === 'record') {
      const entry = running.get(event.index);
      // A record of a call the stop cut short is dropped, as a runtime drops a late result.
      if (!entry || entry.call !== event.call) continue;
      endCall(event.call);
      follow(
        event.index,
        afterAttempt(entry.state, event.record, () => 0),
      );
    }
  }
  return { outcomes: group.outcomes as SteppedOutcome[], stop: group.stop, calls, maxInFlight, endedAt: now };
}
