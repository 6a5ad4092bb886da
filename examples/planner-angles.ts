/**
 * Dynamic angle generation: a planner call proposes the angles for a topic, then they fan out in
 * parallel and a synthesizer folds them. Offline by default (the simulator plans too).
 *
 *   npm run example:planner -- "urban heat islands"
 */
import { planAngles, runFanOut, toSpecialists } from '../src/index.ts';
import { openBackend } from '../src/anthropic.ts';

const topic = process.argv.slice(2).join(' ').trim() || 'urban heat islands';
const backend = await openBackend();
console.log(backend.banner);

const plan = await planAngles(backend.provider, topic, { count: 4 });
console.log(`\nThe planner (${plan.model}) proposed ${plan.angles.length} angles:`);
for (const angle of plan.angles) console.log(`  - ${angle.id}: ${angle.angle}`);

const run = runFanOut(
  {
    task: topic,
    specialists: toSpecialists(plan.angles),
    synthesizer: { instructions: 'Write one section per angle under a markdown heading, then "Cross-cutting synthesis".' },
    maxTokens: 600,
    deadlineMs: 120_000,
  },
  { provider: backend.provider },
);
run.events$.subscribe((event) => {
  if (event.type === 'specialist.done') console.log(`  ✔ ${event.id} (${event.outcome.usage.outputTokens} tokens)`);
  else if (event.type === 'specialist.failed' || event.type === 'specialist.timedOut') console.log(`  ✖ ${event.id}: ${event.outcome.error?.message}`);
  else if (event.type === 'synthesis.started') console.log('\nSynthesis\n');
  else if (event.type === 'synthesis.token') process.stdout.write(event.text);
});

const result = await run.result;
await backend.close();
console.log(`\n\n${result.status} · ${result.modelCalls + 1} model calls (1 planner + ${result.modelCalls}) · ${result.elapsedMs} ms`);
process.exitCode = result.status === 'done' ? 0 : result.status === 'partial' ? 3 : 1;
