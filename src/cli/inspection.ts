/**
 * The CLI's inspection: the local inspector (`--inspect`) and a recording (`--record`), fed
 * in-process from the run's XState inspection events.
 */
import type { InspectionEvent } from 'xstate';
import { combineInspectors, createInspectionRecorder, startInspectorServer, type InspectionRecorder, type InspectorServer } from '../inspector/index.ts';
import type { InspectOptions } from './commands/runOptions.ts';

/** What a run is inspected by, and how to finish it. */
export interface RunInspection {
  /** Pass to `runFanOut`; `undefined` when neither flag was given. */
  inspect: ((event: InspectionEvent) => void) | undefined;
  server: InspectorServer | undefined;
  recorder: InspectionRecorder | undefined;
  /** Flushes the recording (the server stays up). */
  finishRecording(): Promise<void>;
}

/** Starts what the flags ask for; `log` gets the inspector's URL and warnings. */
export async function openInspection(options: InspectOptions, log: (line: string) => void): Promise<RunInspection> {
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
      await recorder?.close();
    },
  };
}
