/**
 * Progress as plain log lines, for pipes, files and CI logs (no cursor movement).
 */
import type { RunEvent } from '../../events.ts';
import { formatSeconds, truncate, type ProgressTracker } from './tracker.ts';
import type { ProgressView } from './view.ts';
import { batchLine, isBatchEvent } from './batchLines.ts';

/** Writes one line per start, retry and end (and per batch, in batch mode); the synthesis text is left to the final report. */
export function createLogLinesView(tracker: ProgressTracker, write: (line: string) => void, startedAt = Date.now()): ProgressView {
  const stamp = () => `[${formatSeconds(Date.now() - startedAt).padStart(6)}]`;
  return {
    onEvent(event: RunEvent) {
      // Joins concern the lead, not one row.
      if (event.type === 'lead.joining') return write(`${stamp()} lead waits for ${event.ids.join(', ')}`);
      if (event.type === 'lead.joined') return write(`${stamp()} lead joined ${event.statuses.map((entry) => `${entry.id} (${entry.status})`).join(', ')}`);
      // Batch mode's batches concern many rows at once.
      if (isBatchEvent(event)) return write(`${stamp()} ${batchLine(event)}`);
      const row = tracker.apply(event);
      if (!row) return;
      switch (event.type) {
        case 'specialist.started':
        case 'synthesis.started':
          return write(`${stamp()} ${row.id} started${row.model ? ` on ${row.model}` : ''}`);
        case 'lead.spawned':
          return write(`${stamp()} lead spawned ${event.id} (${event.template}, round ${event.round}): ${truncate(event.description, 80)}`);
        case 'specialist.tool.started':
          return write(`${stamp()} ${row.id} calls ${event.tool}${event.server ? ' (server tool)' : ''}: ${truncate(event.input, 120)}`);
        case 'specialist.tool.done':
          return write(
            `${stamp()} ${row.id} ${event.tool} ${event.isError ? `failed in ${formatSeconds(event.ms)}: ${truncate(event.error ?? event.result, 160)}` : `done in ${formatSeconds(event.ms)}`}`,
          );
        case 'specialist.retrying':
        case 'synthesis.retrying':
          return write(
            `${stamp()} ${row.id} ${event.reason === 'fallback' ? 'falling back' : 'retrying'} in ${event.delayMs} ms (attempt ${event.attempt}${event.model ? ` on ${event.model}` : ''}): ${event.error.message}`,
          );
        case 'specialist.done':
        case 'synthesis.done':
          return write(
            `${stamp()} ${row.id} done in ${formatSeconds(event.outcome.endedAt - (event.outcome.startedAt ?? event.outcome.endedAt))}: ${callsLabel(event.outcome)}, ${event.outcome.usage.outputTokens} output tokens${loopSummary(event.outcome)}`,
          );
        case 'specialist.failed':
        case 'specialist.timedOut':
        case 'specialist.skipped':
        case 'synthesis.failed':
          return write(`${stamp()} ${row.id} ${row.state}: ${event.outcome.error?.message ?? 'no details'}`);
        default:
          return undefined;
      }
    },
    finish() {},
  };
}

/**
 * "1 attempt" / "3 attempts" for one-call specialists; "4 model calls" over a loop's turns, where
 * "attempts" would read as retries (`attempts` counts every call, turns and retries alike).
 */
function callsLabel(outcome: { attempts: number; turns?: number }): string {
  if ((outcome.turns ?? 0) > 1) return `${outcome.attempts} model calls`;
  return `${outcome.attempts} attempt${outcome.attempts === 1 ? '' : 's'}`;
}

/** ", 2 turns, 3 tool calls (ended by maxTurns)" for an outcome of a tool-using loop; "" otherwise. */
function loopSummary(outcome: { turns?: number; toolCalls?: unknown[]; loopLimit?: string | null }): string {
  if (!outcome.toolCalls || outcome.toolCalls.length === 0) return '';
  const calls = outcome.toolCalls.length;
  const turns = outcome.turns ?? 0;
  return `, ${turns} turn${turns === 1 ? '' : 's'}, ${calls} tool call${calls === 1 ? '' : 's'}${outcome.loopLimit ? ` (ended by ${outcome.loopLimit})` : ''}`;
}
