/**
 * Runs compiled (`npm run bench:checkpoint` builds it with tsc first).
 *
 * What checkpointing costs: the same fan-out with and without a checkpoint store (files under a
 * temporary directory, as `fanfold` keeps them under `.fanfold/`), at N = 100 and 1,000,
 * measured in the same process in alternating rounds (medians). Two latency shapes:
 * - `spread`: specialist i answers after 200 + 200·i/N ms, so outcomes arrive one by one — the
 *   worst case for a checkpoint, one journal line and one lead batch per outcome;
 * - `burst`: every specialist answers at 200 ms, so outcomes arrive in a few large batches.
 * The synthesizer is a task function that folds instantly: the difference is checkpointing.
 *
 *   npm run bench:checkpoint             N = 100 and 1,000
 *   npm run bench:checkpoint -- 5000     chosen sizes
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileCheckpointStore, runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';
import { benchConfig, instantFold, median } from './support.ts';

type Shape = 'spread' | 'burst';

const config = (n: number) => benchConfig(n, { synthesizer: instantFold });

function provider(n: number, shape: Shape) {
  const byCaller = shape === 'burst' ? {} : Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { latencyMs: 200 + (200 * i) / n }]));
  return createScriptedProvider({ latencyMs: 200, byCaller });
}

let round = 0;
/** One run; with `dir`, checkpointed there under a fresh run id. */
async function once(n: number, shape: Shape, dir: string | null): Promise<number> {
  const run = () =>
    runFanOut(config(n), {
      provider: provider(n, shape),
      ...(dir ? { checkpoint: { store: createFileCheckpointStore(dir), runId: `bench-${round++}` } } : {}),
    });
  const started = performance.now();
  const result = await run().result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.length !== n) throw new Error(`run ended ${result.status}`);
  return elapsed;
}

/** Bytes of the last run's checkpoint files, to show what a checkpoint holds. */
function lastRunBytes(dir: string): { checkpoint: number; journal: number } {
  const runs = readdirSync(join(dir, 'runs')).sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
  const folder = join(dir, 'runs', runs.at(-1)!);
  return { checkpoint: statSync(join(folder, 'checkpoint.json')).size, journal: statSync(join(folder, 'journal.jsonl')).size };
}

async function main() {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const chosen = sizes.length ? sizes : [100, 1000];
  const rounds = 11;
  console.log(`fanfold checkpoint bench — Node ${process.version}, ${rounds} alternating rounds, medians\n`);
  const header = ['N', 'latency', 'no store ms', 'file store ms', 'ratio', 'overhead/specialist', 'checkpoint.json'];
  const rows: string[][] = [];
  for (const n of chosen) {
    for (const shape of ['spread', 'burst'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'fanfold-bench-'));
      try {
        await once(Math.min(n, 200), shape, null);
        await once(Math.min(n, 200), shape, dir);
        const plain: number[] = [];
        const stored: number[] = [];
        for (let i = 0; i < rounds; i++) {
          if (i % 2 === 0) {
            plain.push(await once(n, shape, null));
            stored.push(await once(n, shape, dir));
          } else {
            stored.push(await once(n, shape, dir));
            plain.push(await once(n, shape, null));
          }
        }
        const a = median(plain);
        const b = median(stored);
        const bytes = lastRunBytes(dir);
        rows.push([n.toLocaleString('en'), shape, a.toFixed(1), b.toFixed(1), (b / a).toFixed(3), `${(((b - a) / n) * 1000).toFixed(1)} µs`, `${(bytes.checkpoint / 1024).toFixed(0)} KiB`]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

await main();
