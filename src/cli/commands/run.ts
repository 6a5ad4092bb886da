/**
 * `fanfold run <app.yaml> [task]` — a fan-out declared in an app file.
 */
import type { Command } from 'commander';
import { loadAppFile } from '../../appFile.ts';
import { executeRun, type OutputOptions } from '../executeRun.ts';
import type { CliIO } from '../io.ts';
import { addRunOptions, type RunOverrides } from './runOptions.ts';

/** Registers `run` on the program. */
export function runCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  addRunOptions(
    program
      .command('run')
      .description('Run the fan-out declared in an app file (YAML or JSON): agents, the lead\'s specialists and synthesizer, deadline, concurrency')
      .argument('<app-file>', 'path to the app file, e.g. examples/apps/market-scan.yaml')
      .argument('[task...]', 'the task, when the file has none or to replace it'),
  ).action(async (file: string, taskWords: string[], options: RunOverrides & OutputOptions) => {
    const task = taskWords.join(' ').trim() || undefined;
    const app = await loadAppFile(file, { task });
    const config = { ...app.config };
    if (options.model) config.model = options.model;
    if (options.deadline) config.deadlineMs = options.deadline;
    if (options.concurrency) config.maxConcurrency = options.concurrency;
    done(await executeRun({ ...options, config, source: file, title: app.name ?? config.task, prices: app.prices }, io));
  });
}
