/**
 * The CLI's inspection: the local inspector (`--inspect`) and a recording (`--record`), fed
 * in-process from the run's XState inspection events.
 */
import { writeFile } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';
import { FanfoldError } from '../errors.ts';
import { combineInspectors, createInspectionRecorder, isLoopbackHost, startInspectorServer, type InspectionRecorder, type InspectorServer } from '../inspector/index.ts';
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

/** What the CLI asks of the inspector server, and the flags that asked (for messages). */
export interface CliInspectorOptions {
  port?: number | undefined;
  host?: string | undefined;
  log: (line: string) => void;
  /** Flag names, e.g. `{ port: '--inspect-port', host: '--inspect-host' }`. */
  flags: { port: string; host: string };
}

/**
 * Starts the inspector server for the CLI. A host given on the command line is allowed to be
 * non-loopback (the server warns); a loopback one keeps every loopback check. A port that is
 * taken or not allowed, or an address that cannot be bound, is a usage error (exit 2), not a
 * crash.
 */
export async function startCliInspector(options: CliInspectorOptions): Promise<InspectorServer> {
  const { port, host, log, flags } = options;
  try {
    return await startInspectorServer({
      ...(port !== undefined ? { port } : {}),
      ...(host !== undefined ? { host, ...(isLoopbackHost(host) ? {} : { allowRemote: true }) } : {}),
      log,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${host ?? '127.0.0.1'}`;
    if (code === 'EADDRINUSE') {
      throw new FanfoldError('config', `${flags.port}: port ${port} is in use on ${where} (another inspector?); choose another port, or leave ${flags.port} out for a free one.`, { cause: error });
    }
    if (code === 'EACCES') {
      throw new FanfoldError(
        'config',
        `${flags.port}: not allowed to listen on port ${port} on ${where} (ports below 1024 need privileges); choose a port from 1024 up, or leave ${flags.port} out for a free one.`,
        { cause: error },
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAFNOSUPPORT') {
      throw new FanfoldError('config', `${flags.host}: cannot listen on ${where}: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Starts what the flags ask for; `log` gets the inspector's URL and warnings. The server
 * starts first (a busy port leaves an existing recording alone), then the recording file is
 * created, so an unwritable path is a usage error before any model is called.
 */
export async function openInspection(options: InspectOptions, log: (line: string) => void): Promise<RunInspection> {
  const server =
    options.inspect || options.inspectPort !== undefined || options.inspectHost !== undefined
      ? await startCliInspector({ port: options.inspectPort, host: options.inspectHost, log, flags: { port: '--inspect-port', host: '--inspect-host' } })
      : undefined;
  if (options.record) {
    try {
      await writeFile(options.record, '');
    } catch (error) {
      await server?.close();
      throw new FanfoldError('config', `--record: cannot write the recording ${options.record}: ${(error as Error).message}`);
    }
  }
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
