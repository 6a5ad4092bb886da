/**
 * `fanfold research "<topic>"` — the classic parallel research fan-out.
 */
import type { Command } from 'commander';
import { researchConfig } from '../../presets/research.ts';
import { executeRun, type OutputOptions } from '../executeRun.ts';
import type { CliIO } from '../io.ts';
import { addRunOptions, type RunOverrides } from './runOptions.ts';

/** Registers `research` on the program. */
export function researchCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  addRunOptions(
    program
      .command('research')
      .description('Research a topic in parallel: historical, technical and societal-impact specialists that search and fetch the web (150-200 words each, citing sources), then a four-section synthesis')
      .argument('<topic...>', 'what to research, e.g. "nuclear fusion"')
      .option('--no-tools', 'no web search or fetch: each specialist answers in one model call'),
  ).action(async (topicWords: string[], options: RunOverrides & OutputOptions & { tools: boolean }) => {
    const topic = topicWords.join(' ').trim();
    const config = researchConfig(topic, { model: options.model, deadlineMs: options.deadline, maxConcurrency: options.concurrency, tools: options.tools });
    done(await executeRun({ ...options, config, source: 'research', title: `Research: ${topic}` }, io));
  });
}
