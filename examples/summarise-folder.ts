/**
 * Batch summarisation: one specialist per file in a folder, at most four calls in flight, then
 * an overview of the whole folder. A file that fails does not cost the others their summaries.
 * Offline by default.
 *
 *   npm run example:summarise -- examples/corpus
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runFanOut, type SpecialistConfig } from '../src/index.ts';
import { openBackend } from '../src/anthropic.ts';

const folder = process.argv[2] ?? 'examples/corpus';
const names = (await readdir(folder)).filter((name) => /\.(txt|md)$/i.test(name)).sort();
if (names.length === 0) {
  console.error(`No .txt or .md files in ${folder}`);
  process.exit(2);
}

const specialists: SpecialistConfig[] = [];
for (const name of names) {
  const path = join(folder, name);
  if (!(await stat(path)).isFile()) continue;
  const text = await readFile(path, 'utf8');
  specialists.push({
    id: basename(name)
      .replace(/\.[^.]+$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-'),
    angle: name,
    instructions: `Summarise the following document in at most 60 words.\n\n<document name="${name}">\n${text}\n</document>`,
    maxTokens: 200,
  });
}

const backend = await openBackend();
console.log(backend.banner);
console.log(`Summarising ${specialists.length} files from ${folder}, 4 at a time…\n`);
const run = runFanOut(
  {
    task: `Summarise the documents in ${folder}`,
    specialists,
    synthesizer: { instructions: 'Write a short overview of the folder: what the documents have in common and where they differ. Name any document that could not be summarised.' },
    maxConcurrency: 4,
    deadlineMs: 120_000,
  },
  { provider: backend.provider },
);

const result = await run.result;
await backend.close();
for (const outcome of result.outcomes) {
  console.log(`## ${outcome.angle}`);
  console.log(outcome.status === 'fulfilled' ? outcome.output : `(not summarised: ${outcome.error?.message})`);
  console.log();
}
console.log(`## Overview\n${result.synthesis ?? '(no overview)'}\n`);
console.log(`${result.status} · ${result.modelCalls} model calls · ${result.elapsedMs} ms`);
process.exitCode = result.status === 'done' ? 0 : result.status === 'partial' ? 3 : 1;
