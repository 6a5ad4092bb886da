import { Option, type Command } from 'commander';
import { durationOption, nonEmptyOption, portOption, positiveIntOption } from '../options.ts';

/** Overrides every run command takes. */
export interface RunOverrides {
  deadline?: number;
  concurrency?: number;
  model?: string;
}

/** Where the run's inspection events go. */
export interface InspectOptions {
  inspect?: boolean;
  inspectPort?: number;
  inspectHost?: string;
  record?: string;
}

/** Adds the options shared by `research` and `run`. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--json', 'print the structured result as JSON on stdout (progress goes to stderr)')
    .addOption(new Option('--deadline <duration>', 'deadline of the fan-out: ms, or "90s", "2m"; then stragglers stop and the synthesis runs on what arrived').argParser(durationOption))
    .addOption(new Option('--concurrency <n>', 'most model calls in flight at once').argParser(positiveIntOption))
    .addOption(new Option('--model <id>', 'default model for specialists and synthesizer, e.g. claude-haiku-4-5').argParser(nonEmptyOption))
    .option('--simulate', 'use the built-in simulator even when ANTHROPIC_API_KEY is set')
    .option('--quiet', 'no progress and no table: print only the synthesis (or the JSON)')
    .option('--inspect', 'watch the run live in the local inspector (prints its URL; keeps serving after the run until Ctrl-C)')
    .addOption(new Option('--inspect-port <port>', 'port for --inspect (default: any free port)').argParser(portOption))
    .option('--inspect-host <address>', 'bind --inspect to this address instead of 127.0.0.1 (exposes run data to the network)')
    .option('--record <file>', 'write the run\'s inspection events to a JSONL file (replay with `fanfold inspect <file>`)');
}
