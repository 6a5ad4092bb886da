/**
 * Folds run events into one row per specialist (and one for the synthesis): what the progress
 * views draw.
 */
import type { ErrorInfo } from '../../errors.ts';
import type { RunEvent } from '../../events.ts';

/** Where a specialist is: `tooling` while its loop runs tool calls (client tools, or server tools inside a call). */
export type RowState = 'queued' | 'calling' | 'tooling' | 'retrying' | 'done' | 'failed' | 'timedOut' | 'skipped';

/** One specialist's progress. */
export interface ProgressRow {
  id: string;
  angle: string;
  state: RowState;
  model: string | null;
  /** Wall-clock ms (`Date.now()`) when it started and ended. */
  startedAt: number | null;
  endedAt: number | null;
  /** Output tokens: estimated from streamed text while it runs, exact once it ends. */
  tokens: number;
  retries: number;
  error: ErrorInfo | null;
  /** Tool calls running now, by call id → tool name. */
  activeTools: Map<string, string>;
  /** Tool calls finished so far (errors included). */
  toolCalls: number;
  /** Tool calls that ended in an error result. */
  toolErrors: number;
  /** The loop's current turn (1 without tools). */
  turn: number;
}

/** Tracks every row; `apply` returns the row an event changed. */
export class ProgressTracker {
  readonly rows: ProgressRow[];
  readonly synthesis: ProgressRow;
  private readonly byId = new Map<string, ProgressRow>();
  private readonly streamedChars = new Map<ProgressRow, number>();

  constructor(
    specialists: ReadonlyArray<{ id: string; angle?: string | undefined }>,
    private readonly now: () => number = Date.now,
  ) {
    this.rows = specialists.map((spec) => this.row(spec.id, spec.angle ?? spec.id));
    for (const row of this.rows) this.byId.set(row.id, row);
    this.synthesis = this.row('synthesis', 'Synthesis');
  }

  apply(event: RunEvent): ProgressRow | undefined {
    switch (event.type) {
      case 'lead.spawned': {
        // A model lead's specialists get their rows as it spawns them.
        if (this.byId.has(event.id)) return undefined;
        const row = this.row(event.id, event.description);
        this.rows.push(row);
        this.byId.set(row.id, row);
        return row;
      }
      case 'specialist.started':
        return this.start(this.byId.get(event.id), event.model);
      case 'synthesis.started':
        return this.start(this.synthesis, event.model);
      case 'specialist.token':
        return this.stream(this.byId.get(event.id), event.text);
      case 'specialist.tool.started': {
        const row = this.byId.get(event.id);
        if (!row || row.endedAt !== null) return undefined;
        row.activeTools.set(event.callId, event.tool);
        row.state = 'tooling';
        row.turn = event.turn;
        return row;
      }
      case 'specialist.tool.done': {
        const row = this.byId.get(event.id);
        if (!row || row.endedAt !== null) return undefined;
        row.activeTools.delete(event.callId);
        row.toolCalls += 1;
        if (event.isError) row.toolErrors += 1;
        // Server tools finish inside a model call, which goes on.
        if (row.activeTools.size === 0) row.state = 'calling';
        return row;
      }
      case 'specialist.turn': {
        const row = this.byId.get(event.id);
        if (!row || row.endedAt !== null) return undefined;
        row.turn = event.turn;
        return row;
      }
      case 'synthesis.token':
        return this.stream(this.synthesis, event.text);
      case 'specialist.retrying':
      case 'synthesis.retrying': {
        const row = event.type === 'synthesis.retrying' ? this.synthesis : this.byId.get(event.id);
        if (!row) return undefined;
        row.state = 'retrying';
        row.retries += 1;
        row.model = event.model;
        row.error = event.error;
        return row;
      }
      case 'specialist.done':
      case 'specialist.failed':
      case 'specialist.timedOut':
      case 'specialist.skipped':
      case 'synthesis.done':
      case 'synthesis.failed': {
        const row = event.type.startsWith('synthesis') ? this.synthesis : this.byId.get(event.outcome.id);
        if (!row) return undefined;
        const { outcome } = event;
        row.state = outcome.status === 'fulfilled' ? 'done' : outcome.status === 'rejected' ? 'failed' : outcome.status;
        row.endedAt = this.now();
        row.startedAt ??= outcome.startedAt === null ? null : row.endedAt - (outcome.endedAt - outcome.startedAt);
        row.tokens = outcome.usage.outputTokens || row.tokens;
        row.model = outcome.model ?? row.model;
        row.error = outcome.error;
        row.activeTools.clear();
        if (outcome.toolCalls) {
          row.toolCalls = outcome.toolCalls.length;
          row.toolErrors = outcome.toolCalls.filter((call) => call.isError).length;
        }
        if (outcome.turns !== undefined) row.turn = outcome.turns;
        return row;
      }
      default:
        return undefined;
    }
  }

  /** Counts of rows by state. */
  counts(): Record<RowState, number> {
    const counts: Record<RowState, number> = { queued: 0, calling: 0, tooling: 0, retrying: 0, done: 0, failed: 0, timedOut: 0, skipped: 0 };
    for (const row of this.rows) counts[row.state] += 1;
    return counts;
  }

  private row(id: string, angle: string): ProgressRow {
    return { id, angle, state: 'queued', model: null, startedAt: null, endedAt: null, tokens: 0, retries: 0, error: null, activeTools: new Map(), toolCalls: 0, toolErrors: 0, turn: 1 };
  }

  private start(row: ProgressRow | undefined, model: string | null): ProgressRow | undefined {
    if (!row) return undefined;
    row.state = 'calling';
    row.startedAt ??= this.now();
    row.model = model;
    return row;
  }

  private stream(row: ProgressRow | undefined, text: string): ProgressRow | undefined {
    if (!row) return undefined;
    if (row.state === 'retrying' || (row.state === 'tooling' && row.activeTools.size === 0)) row.state = 'calling';
    // ~4 characters a token: an estimate until the final usage arrives.
    const chars = (this.streamedChars.get(row) ?? 0) + text.length;
    this.streamedChars.set(row, chars);
    row.tokens = Math.ceil(chars / 4);
    return row;
  }
}

/** Seconds with one decimal, e.g. `2.4s`. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/** Text on one line (runs of white space as one space), cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
