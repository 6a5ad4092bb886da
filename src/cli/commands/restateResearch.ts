/**
 * `fanfold restate-research "<topic>" --ingress URL` — the research fan-out on a Restate server:
 * starts the run through the ingress, prints its events as they show up in the run's snapshots,
 * then the synthesis. The run itself lives on the server; this command only watches it, and can
 * be stopped and re-attached with `--follow`.
 */
import { Option, type Command } from 'commander';
import { researchConfig } from '../../presets/research.ts';
import type { RunEvent } from '../../events.ts';
import type { RunResult } from '../../result.ts';
import { ERROR_EXIT_CODES, exitCodeOf } from '../exitCodes.ts';
import type { CliIO } from '../io.ts';
import { durationOption, nonEmptyOption, positiveIntOption, runIdOption } from '../options.ts';
import { createLogLinesView } from '../progress/logLines.ts';
import { ProgressTracker } from '../progress/tracker.ts';

interface RestateResearchOptions {
  ingress: string;
  runId?: string;
  follow?: boolean;
  deadline?: number;
  model?: string;
  concurrency?: number;
  json?: boolean;
}

/** Registers `restate-research` on the program. */
export function restateResearchCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('restate-research')
    .description('Research a topic on a Restate server running `fanfold serve --restate`: start the run, follow its events, print the synthesis')
    .argument('[topic...]', 'what to research, e.g. "nuclear fusion" (not with --follow)')
    .addOption(new Option('--ingress <url>', 'the Restate ingress').default('http://127.0.0.1:8080'))
    .addOption(new Option('--run-id <id>', "the run's id (its object key); default: research- and the time").argParser(runIdOption))
    .option('--follow', 'do not start a run: follow (or print) the run named by --run-id')
    .addOption(new Option('--deadline <duration>', 'deadline of the fan-out: ms, or "90s", "2m"').argParser(durationOption))
    .addOption(new Option('--model <id>', 'default model for specialists and synthesizer').argParser(nonEmptyOption))
    .addOption(new Option('--concurrency <n>', 'most model calls in flight at once (per fan-out level on Restate)').argParser(positiveIntOption))
    .option('--json', 'print the structured result as JSON on stdout (progress goes to stderr)')
    .action(async (topicWords: string[], options: RestateResearchOptions) => {
      const { startRestateRun, followRestateRun, getRestateSnapshot } = await import('../../restate/client.ts');
      const topic = topicWords.join(' ').trim();
      const runId = options.runId ?? `research-${Date.now().toString(36)}`;
      if (options.follow ? !options.runId : topic === '') {
        io.stderr.write(options.follow ? '--follow needs --run-id\n' : 'restate-research needs a topic (or --follow --run-id <id>)\n');
        return done(ERROR_EXIT_CODES.usage);
      }
      if (!options.follow) {
        // Specialists with tools do not run on Restate yet.
        const config = researchConfig(topic, { model: options.model, deadlineMs: options.deadline, maxConcurrency: options.concurrency, tools: false });
        await startRestateRun(options.ingress, runId, config, { source: 'restate-research' });
      }
      const progress = options.json ? io.stderr : io.stdout;
      progress.write(`Run "${runId}" on ${options.ingress} (follow it again with: fanfold restate-research --follow --run-id ${runId})\n`);
      const { specialists } = (await getRestateSnapshot(options.ingress, runId)).context.input;
      const view = createLogLinesView(new ProgressTracker(specialists), (line) => progress.write(`${line}\n`));
      const result = await new Promise<RunResult>((resolve, reject) => {
        followRestateRun(options.ingress, runId).subscribe({
          next: (event: RunEvent) => {
            if (event.type === 'run.finished') return resolve(event.result);
            view.onEvent(event);
          },
          error: reject,
        });
      });
      if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        io.stdout.write(`\n${result.synthesis ?? 'No synthesis was written.'}\n`);
        io.stdout.write(
          `\nRun ${result.status}: ${result.outcomes.filter((outcome) => outcome.status === 'fulfilled').length} of ${result.outcomes.length} specialists, ${result.modelCalls} model calls, ${(result.elapsedMs / 1000).toFixed(1)} s\n`,
        );
        for (const missing of result.missing) io.stdout.write(`  missing ${missing.id}: ${missing.reason}\n`);
      }
      done(exitCodeOf(result.status, null));
    });
}
