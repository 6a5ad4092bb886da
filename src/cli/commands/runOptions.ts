import { Option, type Command } from 'commander';
import { durationOption, positiveIntOption } from '../options.ts';

/** Overrides every run command takes. */
export interface RunOverrides {
  deadline?: number;
  concurrency?: number;
  model?: string;
}

/** Adds the options shared by `research` and `run`. */
export function addRunOptions(command: Command): Command {
  return command
    .option('--json', 'print the structured result as JSON on stdout (progress goes to stderr)')
    .addOption(new Option('--deadline <duration>', 'whole-run deadline: ms, or "90s", "2m"; stragglers stop and the synthesis uses what arrived').argParser(durationOption))
    .addOption(new Option('--concurrency <n>', 'most model calls in flight at once').argParser(positiveIntOption))
    .option('--model <id>', 'default model for specialists and synthesizer, e.g. claude-haiku-4-5')
    .option('--simulate', 'use the built-in simulator even when ANTHROPIC_API_KEY is set')
    .option('--quiet', 'no progress and no table: print only the synthesis (or the JSON)');
}
