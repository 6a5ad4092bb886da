import { Option, type Command } from 'commander';
import { DEFAULT_STORE_DIR } from '../../checkpoint/fileStore.ts';
import { durationOption, nonEmptyOption, portOption, positiveIntOption, runIdOption, usdOption } from '../options.ts';
import type { FanOutConfig } from '../../config.ts';
import { otlpUrlOption } from '../otlp.ts';

/** Overrides every run command takes. */
export interface RunOverrides {
  deadline?: number;
  concurrency?: number;
  model?: string;
  /** `--budget`: the run's cap in USD. */
  budget?: number;
  onBudget?: 'finish' | 'cut';
  /** `--fan-in`: fold all findings at the end (batch) or as they arrive (stream). */
  fanIn?: 'batch' | 'stream';
  /** `--weights`: weigh findings by confidence and sources. */
  weights?: boolean;
  /** `--batch`: specialists' calls go through Message Batches (half price, minutes to hours). */
  batch?: boolean;
}

/** Applies the run overrides every command shares to a config (flags win over the file). */
export function applyRunOverrides(config: FanOutConfig, options: RunOverrides): FanOutConfig {
  const next: FanOutConfig = { ...config };
  if (options.model) next.model = options.model;
  if (options.deadline) next.deadlineMs = options.deadline;
  if (options.concurrency) next.maxConcurrency = options.concurrency;
  if (options.weights) next.weights = true;
  if (options.fanIn) next.fanIn = options.fanIn;
  // The file's batch settings stay; the flag turns batch mode on.
  if (options.batch && !config.batch) next.batch = true;
  if (options.budget !== undefined || options.onBudget) {
    next.budget = { ...config.budget, ...(options.budget !== undefined ? { usd: options.budget } : {}), ...(options.onBudget ? { onBudget: options.onBudget } : {}) };
  }
  return next;
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
  return addOutputOptions(
    command
      .addOption(new Option('--deadline <duration>', 'deadline of the fan-out: ms, or "90s", "2m"; then stragglers stop and the synthesis runs on what arrived').argParser(durationOption))
      .addOption(new Option('--concurrency <n>', 'most model calls in flight at once').argParser(positiveIntOption))
      .addOption(new Option('--model <id>', 'default model for specialists and synthesizer, e.g. claude-haiku-4-5').argParser(nonEmptyOption))
      .addOption(new Option('--budget <usd>', 'hard budget in USD: refused before any call if it cannot fit; no call starts past it; the synthesis runs on what arrived').argParser(usdOption))
      .addOption(new Option('--on-budget <what>', 'when the budget is spent, calls in flight "finish" (default) or are "cut"').choices(['finish', 'cut']))
      .addOption(
        new Option('--fan-in <how>', '"batch": fold every finding at the end (default); "stream": write each finding\'s section as it arrives, and only the cross-cutting part after the last').choices(
          ['batch', 'stream'],
        ),
      )
      .option('--weights', 'weigh findings: each specialist reports its confidence and sources, and the synthesis favours the better-supported finding where they conflict')
      .option('--batch', "batch mode: specialists' calls go through the Message Batches API at half price (each waits for its batch: minutes to hours on the API); the synthesis still streams")
      .addOption(new Option('--run-id <id>', "name the run's checkpoint (default: the date, time and a random suffix)").argParser(runIdOption))
      .option('--no-checkpoint', 'do not checkpoint the run (it cannot be resumed)'),
  );
}

/** Adds the output, backend, store and inspector options shared by `research`, `run` and `resume`. */
export function addOutputOptions(command: Command): Command {
  return command
    .option('--json', 'print the structured result as JSON on stdout (progress goes to stderr)')
    .option('--simulate', 'use the built-in simulator even when ANTHROPIC_API_KEY is set')
    .option('--quiet', 'no progress and no table: print only the synthesis (or the JSON)')
    .option('--store <dir>', 'where checkpoints are kept', DEFAULT_STORE_DIR)
    .option('--inspect', 'watch the run live in the local inspector (prints its URL; keeps serving after the run until Ctrl-C)')
    .addOption(new Option('--inspect-port <port>', 'port for --inspect (default: any free port)').argParser(portOption))
    .option('--inspect-host <address>', 'bind --inspect to this address instead of 127.0.0.1 (exposes run data to the network)')
    .option('--record <file>', "write the run's inspection events to a JSONL file (replay with `fanfold inspect <file>`)")
    .addOption(
      new Option('--otlp <url>', "send the run's OpenTelemetry spans to a collector over OTLP/HTTP, e.g. http://localhost:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT, when set)").argParser(
        otlpUrlOption,
      ),
    );
}
