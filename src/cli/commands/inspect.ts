/**
 * `fanfold inspect [recording.jsonl]` — the local inspector on its own: replays a recorded run,
 * and receives live inspection from any XState app (`createWebSocketInspector({ url })`).
 */
import { Option, type Command } from 'commander';
import { readRecording, type InspectorServer } from '../../inspector/index.ts';
import { EXIT, exitCodeOfError } from '../exitCodes.ts';
import { startCliInspector } from '../inspection.ts';
import type { CliIO } from '../io.ts';
import { portOption } from '../options.ts';

interface InspectCommandOptions {
  port?: number;
  host?: string;
}

/** Registers `inspect` on the program. */
export function inspectCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('inspect')
    .description('Serve the local inspector on 127.0.0.1 until Ctrl-C: replay a recorded run, or watch XState apps that send to it')
    .argument('[recording]', 'a JSONL file written with --record')
    .addOption(new Option('--port <port>', 'port to listen on (default: any free port)').argParser(portOption))
    .option('--host <address>', 'bind this address instead of 127.0.0.1 (exposes run data to the network)')
    .action(async (recording: string | undefined, options: InspectCommandOptions) => {
      // Read and check the whole recording first: a bad file is a usage error (exit 2), before anything listens.
      let messages: unknown[] = [];
      if (recording) {
        try {
          messages = await readRecording(recording);
        } catch (error) {
          io.stderr.write(`fanfold inspect: ${error instanceof Error ? error.message : String(error)}\n`);
          return done(exitCodeOfError(error));
        }
      }
      // A busy port or an address that cannot be bound: a usage error (thrown to main, exit 2).
      const server: InspectorServer = await startCliInspector({ port: options.port, host: options.host, log: (line) => io.stderr.write(`${line}\n`), flags: { port: '--port', host: '--host' } });
      try {
        if (recording) server.replay(messages);
      } catch (error) {
        // Never leave a listening server behind: it would keep the process alive.
        await server.close();
        throw error;
      }
      io.stdout.write(`fanfold inspector: ${server.url}\n`);
      io.stdout.write(recording ? `Replaying ${messages.length} messages from ${recording}.\n` : 'Waiting for runs.\n');
      io.stdout.write(`XState apps can send to it with createWebSocketInspector({ url: '${server.wsUrl}' }).\n`);
      const stop = io.onInterrupt(() => {
        stop();
        void server.close().then(() => done(EXIT.done));
      });
    });
}
