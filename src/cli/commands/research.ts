/**
 * `fanfold research "<topic>"` — the classic parallel research fan-out.
 */
import { Option, type Command } from 'commander';
import { researchConfig } from '../../presets/research.ts';
import { executeRun, type OutputOptions } from '../executeRun.ts';
import type { CliIO } from '../io.ts';
import { addRunOptions, applyRunOverrides, type RunOverrides } from './runOptions.ts';

/** Registers `research` on the program. */
export function researchCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  addRunOptions(
    program
      .command('research')
      .description(
        'Research a topic in parallel: historical, technical and societal-impact specialists that search and fetch the web (150-200 words each, citing sources), then a four-section synthesis',
      )
      .argument('<topic...>', 'what to research, e.g. "nuclear fusion"')
      .option('--no-tools', 'no web search or fetch: each specialist answers in one model call')

      .addOption(
        new Option(
          '--lead <kind>',
          'who decides the angles: "fixed" (historical, technical, societal) or "model" (a lead model spawns explorers with the Agent tool, joins them and writes the report)',
        )
          .choices(['fixed', 'model'])
          .default('fixed'),
      ),
  ).action(async (topicWords: string[], options: RunOverrides & OutputOptions & { tools: boolean; lead: 'fixed' | 'model' }) => {
    const topic = topicWords.join(' ').trim();
    const config = applyRunOverrides(
      researchConfig(topic, { model: options.model, deadlineMs: options.deadline, maxConcurrency: options.concurrency, tools: options.tools, lead: options.lead }),
      options,
    );
    done(await executeRun({ ...options, config, source: 'research', title: `Research: ${topic}` }, io));
  });
}
