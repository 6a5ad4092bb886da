/**
 * The CLI's exit codes, so scripts can branch on how a run ended.
 */
import type { RunStatus } from '../result.ts';

/** Exit codes of the `fanfold` command. */
export const EXIT = Object.freeze({
  /** Every specialist succeeded and the synthesis was written. */
  done: 0,
  /** The run failed (quorum not met, escalation, synthesis failed), or an unexpected error. */
  failed: 1,
  /** Bad usage or an invalid app file; nothing was called. */
  usage: 2,
  /** A synthesis was written, but some specialists are missing. */
  partial: 3,
  /** Interrupted (Ctrl-C): finished work is reported, the rest cancelled. */
  interrupted: 130,
  /** Terminated (SIGTERM), likewise. */
  terminated: 143,
});

/** The exit code for a finished run; `interruptedBy` is the signal that cancelled it, if one did. */
export function exitCodeOf(status: RunStatus, interruptedBy: 'SIGINT' | 'SIGTERM' | null): number {
  if (interruptedBy && status === 'cancelled') return interruptedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  if (status === 'done') return EXIT.done;
  if (status === 'partial') return EXIT.partial;
  return EXIT.failed;
}
