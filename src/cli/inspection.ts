/**
 * The CLI's inspection: the local inspector (`--inspect`) and a recording (`--record`), fed
 * in-process from the run's XState inspection events.
 */
import { writeFile } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';
import { FanfoldError } from '../errors.ts';
import { combineInspectors, createInspectionRecorder, startInspectorServer, type InspectionRecorder, type InspectorServer } from '../inspector/index.ts';
import type { InspectOptions } from './commands/runOptions.ts';

/** What a run is inspected by, and how to finish it. */
export interface RunInspection {
  /** Pass to `runFanOut`; `undefined` when neither flag was given. */
  inspect: ((event: InspectionEvent) => void) | undefined;
  server: InspectorServer | undefined;
  recorder: InspectionRecorder | undefined;
  /** Flushes the recording (the server stays up); resolves with why it failed, if it did. */
  finishRecording(): Promise<string | undefined>;
}

/**
 * Starts what the flags ask for; `log` gets the inspector's URL and warnings. The recording file
 * is created first, so an unwritable path is a usage error before any model is called.
 */
export async function openInspection(options: InspectOptions, log: (line: string) => void): Promise<RunInspection> {
  if (options.record) {
    try {
      await writeFile(options.record, '');
    } catch (error) {
      throw new FanfoldError('config', `--record: cannot write the recording ${options.record}: ${(error as Error).message}`);
    }
  }
  const server = options.inspect || options.inspectPort !== undefined || options.inspectHost !== undefined
    ? await startInspectorServer({
      ...(options.inspectPort !== undefined ? { port: options.inspectPort } : {}),
      ...(options.inspectHost !== undefined ? { host: options.inspectHost, allowRemote: true } : {}),
      log,
    })
    : undefined;
  const recorder = options.record ? createInspectionRecorder(options.record) : undefined;
  if (server) log(`Inspector: ${server.url}  (live view of this run; other XState apps can send to ${server.wsUrl})`);
  if (recorder && options.record) log(`Recording inspection events to ${options.record}`);
  return {
    inspect: server || recorder ? combineInspectors(server?.inspect, recorder?.inspect) : undefined,
    server,
    recorder,
    finishRecording: async () => {
      try {
        await recorder?.close();
        return undefined;
      } catch (error) {
        return `the recording ${options.record} could not be written: ${(error as Error).message}`;
      }
    },
  };
}
