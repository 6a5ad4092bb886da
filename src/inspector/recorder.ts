/**
 * Recordings: the wire messages of a run, one JSON object per line (JSONL), written as the run
 * goes and read back for replay into the inspector page.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';
import { toWireMessage, type WireMessage } from './wire.ts';

/** A recorder: pass `inspect` to a run (or `createActor`), `close()` when it is over. */
export interface InspectionRecorder {
  /** An XState inspection observer that appends each event's wire message to the file. */
  readonly inspect: (event: InspectionEvent) => void;
  /** Messages written so far. */
  readonly count: number;
  /** Flushes and closes the file; rejects if it could not be written. */
  close(): Promise<void>;
}

/**
 * Records a run's inspection as JSONL: one wire message (the `@statelyai/inspect` websocket
 * protocol, compacted and redacted) per line. The file is created or truncated at once.
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
  stream.on('error', (error) => {
    failure ??= new Error(`Could not write the inspection recording ${path}: ${error.message}`, { cause: error });
  });
  const write = (message: WireMessage) => {
    count++;
    stream.write(`${JSON.stringify(message)}\n`);
  };
  return {
    inspect: (event) => {
      if (closed || failure) return;
      const message = toWireMessage(event);
      if (message) write(message);
    },
    get count() {
      return count;
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
 * Reads a recording written by {@link createInspectionRecorder} (or any JSONL of wire
 * messages). Blank lines are skipped; a line that is not a JSON object with a string `type`
 * is an error naming the file and the line.
 *
 * @example
 * const server = await startInspectorServer();
 * server.replay(await readRecording('run.jsonl'));
 */
export async function readRecording(path: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`Could not read the inspection recording ${path}: ${(error as Error).message}`, { cause: error });
  }
  const messages: unknown[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      throw new Error(`${path}:${index + 1}: not valid JSON (${(error as Error).message}): ${preview(line)}`, { cause: error });
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message) || typeof (message as { type?: unknown }).type !== 'string') {
      throw new Error(`${path}:${index + 1}: expected an inspection message, a JSON object like {"type":"@xstate.actor",…}, got ${preview(line)}`);
    }
    messages.push(message);
  }
  return messages;
}

function preview(line: string): string {
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}
