/**
 * The classic parallel research fan-out, from code: historical, technical and societal-impact
 * specialists run in parallel, then a synthesizer writes four sections. The same run as
 * `npx fanfold research`, with the run API instead of the CLI.
 *
 * Offline by default: without ANTHROPIC_API_KEY it starts fanfold's simulator on loopback and
 * says so; the calls still go through the real SDK.
 *
 *   npm run example:research -- "nuclear fusion"
 */
import { researchConfig, runFanOut } from '../src/index.ts';
import { openBackend } from '../src/anthropic.ts';

const topic = process.argv.slice(2).join(' ').trim() || 'nuclear fusion';
const backend = await openBackend();
console.log(backend.banner);

const run = runFanOut(researchConfig(topic), { provider: backend.provider });
const started = Date.now();
const at = () => `${String(Date.now() - started).padStart(5)} ms`;
run.events$.subscribe((event) => {
  switch (event.type) {
    case 'specialist.started':
      return console.log(`${at()}  ${event.id} started`);
    case 'specialist.retrying':
      return console.log(`${at()}  ${event.id} retrying in ${event.delayMs} ms (${event.error.message})`);
    case 'specialist.done':
      return console.log(`${at()}  ${event.id} done: ${event.outcome.usage.outputTokens} tokens`);
    case 'specialist.failed':
    case 'specialist.timedOut':
    case 'specialist.skipped':
      return console.log(`${at()}  ${event.id} ${event.type.split('.')[1]}: ${event.outcome.error?.message}`);
    case 'synthesis.started':
      return console.log(`${at()}  synthesizing…\n`);
    case 'synthesis.token':
      return void process.stdout.write(event.text);
    case 'synthesis.done':
      return console.log('\n');
    default:
      return undefined;
  }
});

const result = await run.result;
await backend.close();
const times = result.outcomes.map((outcome) => outcome.endedAt - (outcome.startedAt ?? outcome.endedAt));
console.log(
  `${result.status} · ${result.modelCalls} model calls · wall ${result.elapsedMs} ms (slowest specialist ${Math.max(...times)} ms, all specialists summed ${times.reduce((a, b) => a + b, 0)} ms)`,
);
process.exitCode = result.status === 'done' ? 0 : result.status === 'partial' ? 3 : 1;
