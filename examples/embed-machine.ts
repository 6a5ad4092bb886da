/**
 * Embedding the lead machine in an app: provide the actor implementations, create the actor,
 * listen to its events, read its state. This is what `runFanOut` does for you.
 *
 *   npm run example:embed
 */
import { createActor } from 'xstate';
import { createRunActors, leadMachine, normalizeConfig } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';

const provider = createScriptedProvider({ latencyMs: 150, chunks: 4 });
const { input } = normalizeConfig({
  task: 'compare three databases for a ledger',
  specialists: [{ id: 'postgres' }, { id: 'sqlite' }, { id: 'foundationdb' }],
  deadlineMs: 10_000,
});

const actor = createActor(leadMachine.provide({ actors: createRunActors({ provider }) }), { input });
let last = '';
actor.subscribe((snapshot) => {
  const state = JSON.stringify(snapshot.value);
  if (state !== last) console.log('state:', (last = state));
});
actor.on('specialist.done', (event) => console.log(`  ${event.id} finished after ${event.outcome.attempts} attempt(s)`));
actor.start();

await new Promise<void>((resolve) => actor.subscribe({ complete: resolve }));
const output = actor.getSnapshot().output!;
console.log(`\n${output.status}: ${output.synthesis}`);
