/**
 * `fanfold serve --restate` — serves fanfold as a Restate service endpoint: the lead machine as
 * a virtual object, model calls through the same backend as every other command (the real API
 * with ANTHROPIC_API_KEY, else a simulator started for this process).
 */
import { Option, type Command } from 'commander';
import { FanfoldError } from '../../errors.ts';
import { openBackend } from '../../providers/backend.ts';
import { EXIT } from '../exitCodes.ts';
import type { CliIO } from '../io.ts';
import { portOption, positiveIntOption } from '../options.ts';

interface ServeOptions {
  restate?: boolean;
  port: number;
  chunkSize?: number;
  simulate?: boolean;
}

/** Registers `serve` on the program. */
export function serveCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('serve')
    .description("Serve fanfold for a Restate server (--restate) on 127.0.0.1 until stopped (Ctrl-C); register it with the server's admin API")
    .option('--restate', 'serve the lead machine as a Restate virtual object (required: the only runtime `serve` has)')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').default(9080).argParser(portOption))
    .addOption(
      new Option('--chunk-size <n>', 'most specialists one chunk invocation runs (default 25); a fan-out is split into chunks, spread over every instance of the service').argParser(positiveIntOption),
    )
    .option('--simulate', 'use the built-in simulator even when ANTHROPIC_API_KEY is set')
    .action(async (options: ServeOptions) => {
      if (!options.restate) throw new FanfoldError('config', 'fanfold serve needs --restate (the Restate runtime is the only one it serves)');
      const backend = await openBackend({ env: io.env, ...(options.simulate ? { simulate: true } : {}) });
      io.stdout.write(`${backend.banner}\n`);
      // Loaded here so that other commands never load the Restate SDK.
      const { serveRestate } = await import('../../restate/service.ts');
      let service: Awaited<ReturnType<typeof serveRestate>>;
      try {
        service = await serveRestate({ provider: backend.provider, port: options.port, ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}) });
      } catch (error) {
        await backend.close();
        throw new FanfoldError('config', `cannot serve on 127.0.0.1:${options.port}: ${(error as Error).message}`);
      }
      io.stdout.write(`fanfold Restate service listening on ${service.url}\n`);
      io.stdout.write(`Register it with your Restate server:  curl http://127.0.0.1:9070/deployments --json '{"uri":"${service.url}"}'\n`);
      const stop = io.onInterrupt(() => {
        stop();
        io.stdout.write('Stopping.\n');
        void Promise.all([service.close(), backend.close()]).then(() => done(EXIT.done));
      });
    });
}
