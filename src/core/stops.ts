/**
 * Why a fan-out stops early, said once for every runtime: the in-process fan-out actor and the
 * Restate chunks build their stops (and the outcomes of specialists a stop cut short) here, so
 * a run reads the same whichever runtime ran it.
 */
import type { FanOutStop } from './fanOutStep.ts';
import type { SpecialistSpec } from '../config.ts';
import type { ErrorInfo } from '../errors.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import { quorumUnreachable } from '../policy.ts';

/** The run's deadline passed. */
export function deadlineStop(deadlineMs: number): FanOutStop {
  return { reason: 'deadline', message: `the run's ${deadlineMs} ms deadline passed before it finished` };
}

/** The run was cancelled (with the reason its caller gave, if any). */
export function cancelStop(reason?: string): FanOutStop {
  return { reason: 'cancelled', message: `the run was cancelled${reason ? `: ${reason}` : ''}` };
}

/** A specialist whose policy escalates failed: the whole fan-out stops. */
export function escalationStop(outcome: SpecialistOutcome): FanOutStop {
  return { reason: 'escalated', by: outcome.id, message: `specialist "${outcome.id}" failed and its policy escalates: ${outcome.error?.message ?? 'unknown error'}` };
}

/** Too many failed for the quorum to be met. */
export function quorumStop(quorum: number, unsuccessful: number, total: number): FanOutStop {
  return { reason: 'quorumUnreachable', message: `quorum of ${quorum} can no longer be met (${unsuccessful} of ${total} specialists failed)` };
}

/** Whether this outcome stops the fan-out: a failure whose policy escalates. */
export function escalates(spec: SpecialistSpec, outcome: SpecialistOutcome): boolean {
  return outcome.status === 'rejected' && spec.policy.onFailure === 'escalate';
}

/** The stop a quorum out of reach calls for, or `null` while it can still be met. */
export function quorumStopIfLost(quorum: number, tally: { total: number; fulfilled: number; unsuccessful: number }): FanOutStop | null {
  return quorumUnreachable(tally, quorum) ? quorumStop(quorum, tally.unsuccessful, tally.total) : null;
}

/**
 * What a settled outcome calls for, by the run-level policies that act at once: a failure whose
 * policy escalates stops the fan-out, and so does a quorum the failures put out of reach (not
 * judged while more specialists may still be added: `open`). `null`: go on.
 */
export function stopAfterSettled(spec: SpecialistSpec, outcome: SpecialistOutcome, quorum: number, tally: { total: number; fulfilled: number; unsuccessful: number }, open = false): FanOutStop | null {
  if (escalates(spec, outcome)) return escalationStop(outcome);
  return open ? null : quorumStopIfLost(quorum, tally);
}

/** How a stop marks the specialists it cut short: `timedOut` for the deadline, `skipped` otherwise. */
export function stoppedStatus(stop: FanOutStop): 'timedOut' | 'skipped' {
  return stop.reason === 'deadline' ? 'timedOut' : 'skipped';
}

/** The error a stop leaves on the specialists it cut short. */
export function stoppedError(stop: FanOutStop): ErrorInfo {
  return { kind: stop.reason === 'deadline' ? 'deadline' : stop.reason === 'budget' ? 'budget' : 'cancelled', message: stop.message };
}
