/**
 * The CLI's exit codes, so scripts can branch on how a command ended: one table for how a run
 * finished and for every error code a command can fail with. Every exit goes through here.
 */
import { CommanderError } from 'commander';
import { FanfoldError, type FanfoldErrorCode } from '../errors.ts';
import type { RunStatus } from '../result.ts';

/** Exit codes of the `fanfold` command. */
export const EXIT = Object.freeze({
  /** Every specialist succeeded and the synthesis was written. */
  done: 0,
  /** The run failed (quorum not met, escalation, synthesis failed), or a command failed on the way. */
  failed: 1,
  /** Bad usage, an invalid app file, config, run id or checkpoint, or a budget that refused the run; nothing was called. */
  usage: 2,
  /** A synthesis was written, but some specialists are missing. */
  partial: 3,
  /** Interrupted (Ctrl-C): finished work is reported, the rest cancelled. */
  interrupted: 130,
  /** Terminated (SIGTERM), likewise. */
  terminated: 143,
});

/** The exit code of a run that finished with each status (when no signal cancelled it). */
export const STATUS_EXIT_CODES: Readonly<Record<RunStatus, number>> = Object.freeze({
  done: EXIT.done,
  partial: EXIT.partial,
  failed: EXIT.failed,
  cancelled: EXIT.failed,
});

/**
 * The exit code of a command that failed with a `FanfoldError` of each code. Problems a person
 * fixes in what they typed or wrote (and that stopped the command before any model call) are 2;
 * failures on the way (a model call, a tool, the Restate server, a bug) are 1.
 */
export const ERROR_EXIT_CODES: Readonly<Record<FanfoldErrorCode, number>> = Object.freeze({
  config: EXIT.usage,
  usage: EXIT.usage,
  budget: EXIT.usage,
  checkpoint: EXIT.usage,
  provider: EXIT.failed,
  tool: EXIT.failed,
  restate: EXIT.failed,
  internal: EXIT.failed,
});

/** The exit code for a finished run; `interruptedBy` is the signal that cancelled it, if one did. */
export function exitCodeOf(status: RunStatus, interruptedBy: 'SIGINT' | 'SIGTERM' | null): number {
  if (interruptedBy && status === 'cancelled') return interruptedBy === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  return STATUS_EXIT_CODES[status];
}

/**
 * The exit code for an error a command ended with: a `FanfoldError` by its code, commander's
 * own (0 for `--help` and `--version`, else a usage error), and anything else as `internal`.
 */
export function exitCodeOfError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage;
  if (error instanceof FanfoldError) return ERROR_EXIT_CODES[error.code];
  return ERROR_EXIT_CODES.internal;
}
