/**
 * The classic parallel research fan-out: historical, technical and societal-impact specialists
 * run in parallel, then a synthesizer folds their findings into one report.
 *
 * Offline: it runs against fanfold's in-process scripted provider (simulated replies with
 * realistic latency), and says so. The Anthropic provider arrives with the `fanfold` CLI.
 *
 *   npm run research -- "nuclear fusion"
 */
import { createScriptedProvider, runFanOut, type ModelRequest } from '../src/index.ts';

const topic = process.argv.slice(2).join(' ').trim() || 'nuclear fusion';

/** Simulated replies: deterministic text that says which angle it covers and that it is simulated. */
function simulatedReply(request: ModelRequest): { text: string; latencyMs: number; chunks: number } {
  const prompt = request.messages.at(-1)?.content ?? '';
  const angle = /Your angle: (.+)/.exec(prompt)?.[1];
  if (!angle) {
    const found = [...prompt.matchAll(/<finding specialist="([^"]+)" angle="([^"]+)">/g)].map((match) => match[2]);
    const text = [
      `Synthesis on "${topic}" (simulated).`,
      ...found.map((label) => `- ${label}: summarised from the ${label!.toLowerCase()} specialist's finding.`),
      `Cross-cutting: the angles agree that "${topic}" is shaped by its history, its engineering limits and its reception.`,
    ].join('\n');
    return { text, latencyMs: 400, chunks: 12 };
  }
  const text = `[simulated] ${angle} of ${topic}: a short, clearly simulated finding written offline by fanfold's scripted provider, standing in for a 150-200 word answer from a real model.`;
  return { text, latencyMs: 600 + angle.length * 40, chunks: 8 };
}

const provider = createScriptedProvider({ reply: (request) => simulatedReply(request) });
console.log(`fanfold research "${topic}" — offline: simulated replies from the in-process scripted provider (no API calls)\n`);

const run = runFanOut(
  {
    task: topic,
    specialists: [
      { id: 'historical', angle: 'Historical context', instructions: 'Cover the history in 150-200 words.' },
      { id: 'technical', angle: 'Technical details', instructions: 'Cover how it works in 150-200 words.' },
      { id: 'societal', angle: 'Societal impact', instructions: 'Cover its impact on society in 150-200 words.' },
    ],
    synthesizer: { instructions: 'Write four sections: one per angle, then a cross-cutting synthesis.' },
    deadlineMs: 30_000,
  },
  { provider },
);

const started = Date.now();
const at = () => `${String(Date.now() - started).padStart(5)} ms`;
run.events$.subscribe((event) => {
  switch (event.type) {
    case 'specialist.started': return console.log(`${at()}  ${event.id} started`);
    case 'specialist.retrying': return console.log(`${at()}  ${event.id} retrying in ${event.delayMs} ms (${event.error.message})`);
    case 'specialist.done': return console.log(`${at()}  ${event.id} done in ${event.outcome.endedAt - (event.outcome.startedAt ?? 0)} ms`);
    case 'specialist.failed':
    case 'specialist.timedOut':
    case 'specialist.skipped': return console.log(`${at()}  ${event.id} ${event.type.split('.')[1]}: ${event.outcome.error?.message}`);
    case 'synthesis.started': return console.log(`${at()}  synthesizing…\n`);
    case 'synthesis.token': return void process.stdout.write(event.text);
    case 'synthesis.done': return console.log('\n');
    default: return undefined;
  }
});

const result = await run.result;
const longest = Math.max(...result.outcomes.map((outcome) => outcome.endedAt - (outcome.startedAt ?? outcome.endedAt)));
const sum = result.outcomes.reduce((total, outcome) => total + outcome.endedAt - (outcome.startedAt ?? outcome.endedAt), 0);
console.log(`status ${result.status} · ${result.modelCalls} model calls · ${result.elapsedMs} ms wall (slowest specialist ${longest} ms, all specialists summed ${sum} ms)`);
process.exitCode = result.status === 'done' ? 0 : result.status === 'partial' ? 3 : 1;
