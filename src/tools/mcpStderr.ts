/**
 * The tail of a stdio MCP server's stderr. The stream is always read (a child whose stderr pipe
 * fills up would block), its last 16 KiB are kept, and the last lines are shown — scrubbed —
 * when the server fails to start or dies.
 */
import type { Readable } from 'node:stream';
import type { Redactor } from './mcpRedact.ts';

const KEEP_CHARS = 16_384;
/** At most this many lines are shown… */
export const STDERR_TAIL_LINES = 10;
/** …and at most this many characters of them. */
export const STDERR_TAIL_CHARS = 2_000;

/** Collects the end of a stream's text. */
export class StderrTail {
  private text = '';
  /** The kept text was cut inside a line: its first characters may be half a secret. */
  private cutInLine = false;
  private ended = false;
  private readonly endWaiters = new Set<() => void>();

  /** @param headroom How many leading characters to drop after a cut inside a line (the longest secret). */
  constructor(private readonly headroom: number) {}

  /** Reads `stream` to its end. */
  attach(stream: Readable): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.append(chunk));
    const end = () => {
      this.ended = true;
      for (const wake of this.endWaiters) wake();
      this.endWaiters.clear();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }

  private append(chunk: string): void {
    this.text += chunk;
    if (this.text.length <= KEEP_CHARS * 2) return;
    const start = this.text.length - KEEP_CHARS;
    const newline = this.text.indexOf('\n', start);
    if (newline !== -1 && newline < this.text.length - 1) {
      this.text = this.text.slice(newline + 1);
      this.cutInLine = false;
    } else {
      this.text = this.text.slice(start);
      this.cutInLine = true;
    }
  }

  /** Resolves when the stream has ended, or after `ms` (a process that is gone has flushed it by then). */
  settled(ms: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.endWaiters.add(done);
    });
  }

  /** The last lines (≤ 10, ≤ 2,000 characters), scrubbed; `''` when it wrote nothing. */
  tail(redact: Redactor): string {
    const kept = this.cutInLine ? this.text.slice(this.headroom) : this.text;
    const lines = redact(kept)
      .split(/\r?\n/)
      .map((line) => line.trimEnd())
      .filter((line) => line.trim() !== '');
    let text = lines.slice(-STDERR_TAIL_LINES).join('\n');
    if (text.length > STDERR_TAIL_CHARS) text = `…${text.slice(text.length - STDERR_TAIL_CHARS + 1)}`;
    return text;
  }

  /** `; its stderr ended with:` and the tail, indented, or `''`. */
  suffix(redact: Redactor): string {
    const tail = this.tail(redact);
    return tail === '' ? '' : `; its stderr ended with:\n${tail.replace(/^/gm, '    ')}`;
  }
}
