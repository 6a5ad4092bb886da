/**
 * One request/response in flight: its log entry, its cancellable timers, and the single place
 * where it ends (completed, fault, or closed by the client) so the log is updated exactly once.
 */
import type { ServerResponse } from 'node:http';
import type { Clock as SimulatorClock } from '../clock.ts';
import type { SimulatedRequest } from './types.ts';

/** What an exchange needs from its server. */
export interface ExchangeHost {
  readonly clock: SimulatorClock;
  /** A logged request changed (status, outcome, …): re-check waiters. */
  changed(record: SimulatedRequest): void;
  /** The exchange is over: stop tracking it. */
  forget(exchange: Exchange): void;
}

interface PendingSleep {
  handle: unknown;
  resolve: (elapsed: boolean) => void;
}

export class Exchange {
  /** Set once the outcome is recorded; nothing is written after that. */
  finished = false;
  /** Set once the record is in the request log. */
  listed = false;
  readonly #sleeps = new Set<PendingSleep>();
  #abandoned = false;

  constructor(
    readonly record: SimulatedRequest,
    readonly res: ServerResponse,
    readonly requestId: string,
    private readonly host: ExchangeHost,
  ) {}

  /**
   * Waits `ms` on the simulator's clock. Resolves `true` when the time has passed and the
   * exchange is still live, `false` once it has ended (the caller then stops). A non-finite
   * wait only ends with the exchange.
   */
  sleep(ms: number): Promise<boolean> {
    if (this.finished || this.#abandoned) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true).then(() => this.live);
    return new Promise((resolve) => {
      const sleep: PendingSleep = { handle: undefined, resolve };
      this.#sleeps.add(sleep);
      if (Number.isFinite(ms)) {
        sleep.handle = this.host.clock.setTimeout(() => {
          this.#sleeps.delete(sleep);
          resolve(this.live);
        }, ms);
      }
    });
  }

  /** Whether the response may still be written to. */
  get live(): boolean {
    return !this.finished && !this.#abandoned && !this.res.destroyed;
  }

  /** Sends the status line and headers. */
  writeHead(status: number, headers: Record<string, string | number>): void {
    if (!this.live) return;
    this.res.writeHead(status, headers);
    this.record.status = status;
    this.host.changed(this.record);
  }

  write(chunk: string): void {
    if (this.live) this.res.write(chunk);
  }

  /** Sends a complete JSON response and records the outcome. */
  sendJson(status: number, body: unknown, outcome: 'completed' | 'fault', headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    this.sendRaw(status, text, outcome, { 'content-type': 'application/json', ...headers });
  }

  /** Sends a complete body as given (with its content-length) and records the outcome. */
  sendRaw(status: number, text: string, outcome: 'completed' | 'fault', headers: Record<string, string>): void {
    this.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
    if (this.live) this.res.end(text);
    this.end(outcome);
  }

  /** Ends the response body and records the outcome. */
  finishResponse(outcome: 'completed' | 'fault'): void {
    if (this.live) this.res.end();
    this.end(outcome);
  }

  /**
   * Cuts the connection mid-body: flush what was written, then close the socket without
   * finishing the response (the client sees a premature end).
   */
  drop(): void {
    const socket = this.res.socket;
    this.end('fault');
    if (!socket || socket.destroyed) return;
    socket.once('finish', () => socket.destroy());
    socket.end();
  }

  /** Records the outcome (once), cancels timers and notifies waiters. */
  end(outcome: 'completed' | 'fault' | 'client_closed'): void {
    if (this.finished) return;
    this.finished = true;
    this.record.outcome = outcome;
    this.record.endedAt = this.host.clock.now();
    this.#cancelSleeps();
    this.host.forget(this);
    this.host.changed(this.record);
  }

  /** The simulator is closing: stop every timer; the socket's close will record the outcome. */
  abandon(): void {
    this.#abandoned = true;
    this.#cancelSleeps();
  }

  #cancelSleeps(): void {
    for (const sleep of this.#sleeps) {
      if (sleep.handle !== undefined) this.host.clock.clearTimeout(sleep.handle);
      sleep.resolve(false);
    }
    this.#sleeps.clear();
  }
}
