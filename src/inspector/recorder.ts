/**
 * Recordings: the wire messages of a run, one JSON object per line (JSONL), written as the run
 * goes and read back for replay into the inspector page.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { InspectionEvent } from 'xstate';
import { FanfoldError } from '../errors.ts';
import { MAX_MESSAGE_BYTES, serializeWireMessage, toWireMessage, wireMessageProblem } from './wire.ts';
import { aggregateLightChildren } from './aggregate.ts';

/** A recorder: pass `inspect` to a run (or `createActor`), `close()` when it is over. */
export interface InspectionRecorder {
  /** An XState inspection observer that appends each event's wire message to the file. Never throws. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Messages written so far. */
  readonly count: number;
  /** Events left out because they could not be converted, or their message was over 1 MiB even compacted. */
  readonly dropped: number;
  /** Flushes and closes the file; rejects if it could not be written. */
  close(): Promise<void>;
}

/**
 * Records a run's inspection as JSONL: one wire message (the `@statelyai/inspect` websocket
 * protocol, compacted and redacted) per line, each at most 1 MiB, as the inspector server
 * keeps them. The file is created or truncated at once.
 *
 * @example
 * const recorder = createInspectionRecorder('run.jsonl');
 * const run = runFanOut(config, { provider, inspect: recorder.inspect });
 * await run.result;
 * await recorder.close();
 */
export function createInspectionRecorder(path: string): InspectionRecorder {
  const stream = createWriteStream(path, { flags: 'w', encoding: 'utf8' });
  let failure: Error | undefined;
  let closed = false;
  let count = 0;
  let dropped = 0;
  let warned = false;
  stream.on('error', (error) => {
    failure ??= new FanfoldError('config', `Could not write the inspection recording ${path}: ${error.message}`, { cause: error });
  });
  return {
    // A very large run is recorded as aggregated progress (aggregate.ts).
    inspect: aggregateLightChildren((event) => {
      if (closed || failure) return;
      // A recorder must never break the run it records: a bad event is left out, said once.
      try {
        const message = toWireMessage(event);
        if (!message) return;
        const line = serializeWireMessage(message, MAX_MESSAGE_BYTES);
        if (line === undefined) {
          dropped++;
          return;
        }
        count++;
        stream.write(`${line}\n`);
      } catch (error) {
        dropped++;
        if (!warned) {
          warned = true;
          console.error(`fanfold recorder: could not record an inspection event: ${(error as Error).message}`);
        }
      }
    }),
    get count() {
      return count;
    },
    get dropped() {
      return dropped;
    },
    close: () => {
      if (closed) return failure ? Promise.reject(failure) : Promise.resolve();
      closed = true;
      return new Promise<void>((resolve, reject) => {
        const done = () => (failure ? reject(failure) : resolve());
        if (stream.destroyed) return done();
        stream.end(done);
        stream.once('error', done);
      });
    },
  };
}

/**
 * Reads a recording written by {@link createInspectionRecorder} (or `GET /messages.jsonl`, or any
 * JSONL of wire messages), line by line. Blank lines are skipped; a line that is not JSON, or
 * not an inspection message (an object with a `type` of `@xstate.actor`, `@xstate.event` or
 * `@xstate.snapshot` and a `sessionId`), is an error naming the file and the line
 * (`run.jsonl:12: …`), so the inspector server's `replay` never refuses what this returns.
 *
 * @example
 * const server = await startInspectorServer();
 * server.replay(await readRecording('run.jsonl'));
 */
export async function readRecording(path: string): Promise<unknown[]> {
  const messages: unknown[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let problem: Error | undefined;
  try {
    for await (const text of lines) {
      lineNumber++;
      const line = text.trim();
      if (line === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch (error) {
        problem = new FanfoldError('config', `${path}:${lineNumber}: not valid JSON (${(error as Error).message}): ${preview(line)}`, { cause: error });
        break;
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message) || typeof (message as { type?: unknown }).type !== 'string') {
        problem = new FanfoldError('config', `${path}:${lineNumber}: expected an inspection message, a JSON object like {"type":"@xstate.actor","sessionId":…}, got ${preview(line)}`);
        break;
      }
      const why = wireMessageProblem(message);
      if (why !== undefined) {
        problem = new FanfoldError('config', `${path}:${lineNumber}: not an inspection message: ${why}: ${preview(line)}`);
        break;
      }
      messages.push(message);
    }
  } catch (error) {
    throw new FanfoldError('config', `Could not read the inspection recording ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    lines.close();
    input.destroy();
  }
  if (problem) throw problem;
  return messages;
}

function preview(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}
