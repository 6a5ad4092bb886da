/**
 * The `fanfold` command: parses arguments (commander) and runs a subcommand. The only module
 * that turns errors into exit codes and messages for a person.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { FanfoldError } from '../errors.ts';
import { inspectCommand } from './commands/inspect.ts';
import { researchCommand } from './commands/research.ts';
import { restateCommands } from './commands/restate.ts';
import { resumeCommand } from './commands/resume.ts';
import { runCommand } from './commands/run.ts';
import { simulateCommand } from './commands/simulate.ts';
import { EXIT, exitCodeOfError } from './exitCodes.ts';
import { processIO, type CliIO } from './io.ts';

/** The package version, read from package.json at run time. */
function version(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'fanfold' && pkg.version) return pkg.version;
    } catch {
      // Try the next layout (source vs dist/).
    }
  }
  return 'unknown';
}

/**
 * Runs the CLI with `argv` (as in `process.argv`); resolves with the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv);
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  let exitCode: number | undefined;
  let finished: (() => void) | undefined;
  const waitForDone = new Promise<void>((resolve) => (finished = resolve));
  const done = (code: number) => {
    exitCode = code;
    finished?.();
  };

  const program = new Command('fanfold')
    .description('Fan a task out to specialist agents in parallel, fold their findings into one synthesis.\nWithout ANTHROPIC_API_KEY, runs offline against the built-in simulator.')
    .version(version(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .addHelpText(
      'after',
      '\nExit codes: 0 done · 3 partial (some specialists missing) · 1 failed (a run, a model call, a tool, Restate, or a bug) · 2 usage, config, run id, checkpoint or budget error (nothing was called) · 130 interrupted (143 on SIGTERM)',
    );
  researchCommand(program, io, done);
  runCommand(program, io, done);
  resumeCommand(program, io, done);
  simulateCommand(program, io, done);
  inspectCommand(program, io, done);
  restateCommands(program, io, done);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) });

  try {
    await program.parseAsync(argv);
    if (exitCode === undefined && program.args.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    // Long-running commands (simulate) call `done` later.
    if (exitCode === undefined) await waitForDone;
    return exitCode ?? EXIT.done;
  } catch (error) {
    const code = exitCodeOfError(error);
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return code;
    // A usage error's message is written for the person who typed the command: print it as is.
    if (error instanceof FanfoldError && code === EXIT.usage) io.stderr.write(`${error.message}\n`);
    else io.stderr.write(`fanfold: ${error instanceof Error ? error.message : String(error)}\n`);
    return code;
  }
}
