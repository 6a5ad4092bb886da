/**
 * Batch mode at scale: a corpus of 20,000 small text files (generated here, deterministically,
 * under build/corpus/) summarised one specialist per file through the Message Batches API at
 * half price, then folded shelf by shelf and into one overview. The files sit on 20 shelves;
 * each shelf is a sub-lead whose fold is a function (no model call), and the run's synthesizer
 * writes the overview in one streamed call. Offline by default: without ANTHROPIC_API_KEY the
 * built-in simulator serves the batch endpoints.
 *
 *   npm run example:corpus                  # 20,000 files
 *   npm run example:corpus -- --files 500   # fewer
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { costOfRun, runFanOut, type RunResult, type SpecialistConfig, type SpecialistOutcome, type Usage } from '../src/index.ts';
import { openBackend } from '../src/anthropic.ts';

const SHELVES = 20;
const TOPICS = [
  'tidal power',
  'heat pumps',
  'grid batteries',
  'offshore wind',
  'green hydrogen',
  'demand response',
  'rooftop solar',
  'geothermal heat',
  'district heating',
  'electric buses',
  'smart meters',
  'pumped hydro',
  'biogas plants',
  'small modular reactors',
  'transmission lines',
  'building insulation',
  'vehicle-to-grid',
  'carbon capture',
  'wave energy',
  'industrial heat',
];
const PLACES = ['a coastal town', 'a mountain valley', 'a port city', 'an island grid', 'a farming district', 'a university campus', 'an old mill town', 'a new suburb'];
const FINDINGS = [
  'cut peak demand',
  'lowered bills',
  'ran into permitting delays',
  'needed more skilled installers',
  'beat its cost estimate',
  'ran over budget',
  'won local support',
  'faced objections over noise',
];

const argFiles = process.argv.indexOf('--files');
const files = Number(argFiles >= 0 ? process.argv[argFiles + 1] : (process.env['CORPUS_FILES'] ?? 20_000));
if (!Number.isSafeInteger(files) || files < 1 || files > 100_000) {
  console.error(`Expected --files to be an integer from 1 to 100000, got ${process.argv[argFiles + 1] ?? process.env['CORPUS_FILES']}`);
  process.exit(2);
}

/** A small deterministic PRNG (mulberry32): the same corpus every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Document `index` of the corpus: a short field report on its shelf's topic. */
function documentText(index: number, topic: string): string {
  const random = prng(index + 1);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const year = 2010 + Math.floor(random() * 16);
  const size = 5 + Math.floor(random() * 195);
  const share = 10 + Math.floor(random() * 60);
  return [
    `Field report ${index + 1} on ${topic} in ${pick(PLACES)}.`,
    `The project started in ${year} at a scale of ${size} units and ${pick(FINDINGS)}.`,
    `Operators said ${share} percent of the expected output arrived in the first year.`,
    `The main lesson was that ${topic} ${pick(FINDINGS)} when planning began late.`,
    `A follow-up review is planned for ${year + 3}.`,
  ].join(' ');
}

const shelfOf = (index: number) => Math.floor((index * SHELVES) / files);
const pad = (n: number, width: number) => String(n).padStart(width, '0');

// 1. The corpus: build/corpus/<files>/shelf-NN/doc-NNNNN.txt (made once; a marker says it is whole).
const root = join('build', 'corpus', String(files));
const marker = join(root, 'COMPLETE');
const generating = performance.now();
const fresh = !existsSync(marker);
if (fresh) {
  rmSync(root, { recursive: true, force: true });
  for (let shelf = 0; shelf < SHELVES; shelf++) mkdirSync(join(root, `shelf-${pad(shelf + 1, 2)}`), { recursive: true });
  for (let index = 0; index < files; index++) {
    const shelf = shelfOf(index);
    writeFileSync(join(root, `shelf-${pad(shelf + 1, 2)}`, `doc-${pad(index + 1, 5)}.txt`), `${documentText(index, TOPICS[shelf]!)}\n`);
  }
  writeFileSync(marker, `${files}\n`);
}
const generatedMs = performance.now() - generating;

// 2. One specialist per file, one sub-lead per shelf.
const shelves: SpecialistConfig[] = [];
for (const shelfDir of readdirSync(root)
  .filter((name) => name.startsWith('shelf-'))
  .sort()) {
  const topic = TOPICS[Number(shelfDir.slice(6)) - 1]!;
  const docs = readdirSync(join(root, shelfDir)).sort();
  if (docs.length === 0) continue;
  shelves.push({
    id: shelfDir,
    angle: `${shelfDir}: ${topic}`,
    specialists: docs.map((name) => ({
      id: name.replace(/\.txt$/, ''),
      angle: `${shelfDir}/${name}`,
      instructions: `Summarise the following document in at most 25 words.\n\n<document name="${name}">\n${readFileSync(join(root, shelfDir, name), 'utf8')}</document>`,
      maxTokens: 100,
    })),
    // The shelf's fold is plain code: the overview's model call reads 20 shelf digests, not 20,000 summaries.
    synthesizer: { run: async ({ outcomes }) => shelfDigest(shelfDir, topic, outcomes ?? []) },
  });
}
const total = shelves.reduce((sum, shelf) => sum + shelf.specialists!.length, 0);

/** A shelf's digest: how many files were summarised, and its first few summaries. */
function shelfDigest(shelf: string, topic: string, outcomes: readonly SpecialistOutcome[]): string {
  const done = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  const firsts = done.slice(0, 3).map((outcome) => `- ${outcome.id}: ${(outcome.output ?? '').replace(/\s+/g, ' ').trim()}`);
  return [
    `${shelf} holds ${outcomes.length} field reports on ${topic}; ${done.length} were summarised${done.length < outcomes.length ? `, ${outcomes.length - done.length} were not` : ''}.`,
    ...firsts,
  ].join('\n');
}

// 3. Run it in batch mode: the 20,000 summaries go out as one batch; the overview streams.
const backend = await openBackend({
  // Offline: the simulator answers a batch of 20,000 within a few seconds (the API takes minutes to hours).
  simulator: { latency: { firstTokenMs: 100, tokensPerSecond: 2_000 }, batchLatency: { baseMs: 1_000, perRequestMs: 0.05, jitterMs: 1_000 } },
});
console.log(backend.banner);
console.log(`${fresh ? 'Generated' : 'Reusing'} ${files} files in ${shelves.length} shelves under ${root}${fresh ? ` (${(generatedMs / 1000).toFixed(1)} s)` : ''}.`);
console.log(`Summarising ${total} files in batch mode (one specialist per file, ${shelves.length} shelves), then an overview…\n`);

const started = performance.now();
const run = runFanOut(
  {
    task: `Summarise the field reports in ${root}`,
    model: 'claude-haiku-4-5',
    specialists: shelves,
    synthesizer: {
      instructions: 'Write a short overview of the corpus from its shelf digests: what each shelf covers and what they have in common. Name any shelf that is missing.',
      maxTokens: 2_000,
    },
    batch: true,
    // Batches take minutes to hours on the API; the last tenth of the deadline is kept to read what finished.
    deadlineMs: 6 * 60 * 60_000,
  },
  { provider: backend.provider },
);
let batches = 0;
let streamedCalls = 0;
run.events$.subscribe((event) => {
  const at = `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  if (event.type === 'batch.submitted') {
    batches++;
    console.log(`${at} batch ${event.batchId} submitted: ${event.requests} requests (${(event.bytes / 1024 / 1024).toFixed(1)} MB)`);
  } else if (event.type === 'batch.progress') console.log(`${at} batch ${event.batchId} ${event.status}: ${event.counts.processing} processing`);
  else if (event.type === 'batch.ended')
    console.log(`${at} batch ${event.batchId} ended: ${event.counts.succeeded} succeeded, ${event.counts.errored} errored, ${event.counts.expired} expired, ${event.counts.canceled} canceled`);
  else if (event.type === 'synthesis.started') {
    streamedCalls++;
    console.log(`${at} overview started (streamed)`);
  }
});
const result: RunResult = await run.result;
await backend.close();
const wallMs = performance.now() - started;

console.log(`\n## Overview\n\n${result.synthesis ?? '(no overview)'}\n`);
const cost = costOfRun(result).total.costUsd;
// The same tokens streamed: what batch mode saved.
const streamed = costOfRun({ ...result, outcomes: result.outcomes.map(asStreamed) }).total.costUsd;
const batched = result.outcomes.reduce((sum, shelf) => sum + (shelf.subOutcomes?.filter((outcome) => outcome.usage.batched).length ?? 0), 0);
console.log(
  `${result.status} · ${result.modelCalls} model calls: ${batched} batched in ${batches} batch${batches === 1 ? '' : 'es'}, ${streamedCalls} streamed · wall ${(wallMs / 1000).toFixed(1)} s · est. ${usd(cost)} (streamed it would be ${usd(streamed)})`,
);
process.exitCode = result.status === 'done' ? 0 : result.status === 'partial' ? 3 : 1;

function usd(amount: number): string {
  return `$${amount.toFixed(amount < 1 ? 4 : 2)}`;
}

/** The outcome as if its calls had streamed: the same tokens, none of them batched. */
function asStreamed(outcome: SpecialistOutcome): SpecialistOutcome {
  const { batched: _batched, ...usage } = outcome.usage;
  return { ...outcome, usage: usage as Usage, ...(outcome.subOutcomes ? { subOutcomes: outcome.subOutcomes.map(asStreamed) } : {}) };
}
