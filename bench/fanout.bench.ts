/**
 * Runs compiled (`npm run bench` builds it with tsc first), as an app using the package would.
 *
 * Orchestration overhead of fanfold against the limit, `Promise.all`, at N = 3, 100, 1,000,
 * 10,000 and 100,000 specialists. Both sides call the same in-process scripted provider with a fixed
 * latency; fanfold's synthesizer is a task function that folds instantly, so the difference is
 * orchestration alone (actors, policies, deadline, batching, events).
 *
 * Each N runs in three child processes, each alternating baseline and fanfold rounds after a
 * warm-up; the table shows the process with the median ratio. Peak RSS comes from two more fresh processes per N that each
 * do a single run (fanfold, and Promise.all for comparison), so it belongs to that run alone. Ratios, not absolute times, are the
 * figure of merit: this machine is shared and noisy.
 *
 *   npm run bench                  all sizes, the tool case and the tree case
 *   npm run bench -- 1000 10000    chosen sizes (add --tools, --tree for those cases)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineTool, runFanOut, type ModelRequest, type ToolResultBlock } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { benchConfig, instantFold, median } from './support.ts';

const LATENCY_MS = 200;
const TARGETS: Record<number, number> = { 3: 1.1, 100: 1.1, 1000: 1.1, 10000: 1.5, 100000: 2.0 };
/** Peak RSS at 10,000 specialists, in MB. */
const RSS_TARGET_MB = 300;
/** Peak RSS at 100,000 specialists, as a multiple of `Promise.all`'s. */
const RSS_RATIO_TARGET = 1.5;

interface CaseResult {
  n: number;
  baselineMs: number;
  fanfoldMs: number;
  rounds: number;
}

/** The tool-using case: each specialist runs 2 model turns with 2 parallel tool calls between them. */
const TOOL_N = 1000;
const TOOL_LATENCY_MS = 50;
const TOOL_TARGET = 1.15;

/** A tool that answers after a fixed latency, like a fast lookup. */
const lookup = defineTool({
  name: 'lookup',
  description: 'Looks a term up.',
  input: z.object({ term: z.string() }),
  run: ({ term }) => new Promise<string>((resolve) => setTimeout(() => resolve(`definition of ${term}`), TOOL_LATENCY_MS)),
});

/** Turn 1 asks for two lookups; turn 2 (with their results) answers. */
function toolTurns(request: ModelRequest): ScriptedReply {
  return request.messages.length === 1
    ? {
        toolUse: [
          { name: 'lookup', input: { term: 'a' } },
          { name: 'lookup', input: { term: 'b' } },
        ],
      }
    : { text: 'finding' };
}

/** The limit for the tool case: the same calls, hand-wired with Promise.all, in the same process. */
async function toolBaseline(n: number): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS, reply: toolTurns });
  const tools = [{ kind: 'client' as const, name: lookup.name, description: lookup.description, inputSchema: lookup.inputSchema }];
  const started = performance.now();
  const findings = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const first = { role: 'user' as const, content: `Task: bench\n\nYour angle: s${i}` };
      const caller = { id: `s${i}`, attempt: 1, turn: 1 };
      const turn1 = await provider.stream({ model: 'bench-model', messages: [first], maxTokens: 64, tools }, { signal: new AbortController().signal, caller });
      const uses = (turn1.content ?? []).filter((block) => block.type === 'tool_use') as Array<{ id: string; input: { term: string } }>;
      const results: ToolResultBlock[] = await Promise.all(
        uses.map(async (use) => ({
          type: 'tool_result' as const,
          tool_use_id: use.id,
          content: String(await lookup.run(lookup.parse(use.input), { signal: new AbortController().signal, specialist: { id: `s${i}`, angle: `s${i}` }, task: 'bench', callId: use.id, turn: 1 })),
        })),
      );
      const messages = [first, { role: 'assistant' as const, content: turn1.content ?? [] }, { role: 'user' as const, content: results }];
      const turn2 = await provider.stream({ model: 'bench-model', messages, maxTokens: 64, tools }, { signal: new AbortController().signal, caller: { ...caller, attempt: 2, turn: 2 } });
      return turn2.text;
    }),
  );
  const elapsed = performance.now() - started;
  if (findings.length !== n) throw new Error('tool baseline lost replies');
  return elapsed;
}

async function toolFanfold(n: number): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS, reply: toolTurns });
  const config = benchConfig(n, { synthesizer: instantFold, tools: [lookup] });
  const started = performance.now();
  const result = await runFanOut(config, { provider }).result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.some((outcome) => outcome.turns !== 2 || outcome.toolCalls?.length !== 2)) throw new Error(`fanfold tool run ended ${result.status}`);
  return elapsed;
}

async function runToolCase(n: number): Promise<CaseResult> {
  const rounds = 15;
  await toolBaseline(Math.min(n, 200));
  await toolFanfold(Math.min(n, 200));
  const base: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      base.push(await toolBaseline(n));
      ours.push(await toolFanfold(n));
    } else {
      ours.push(await toolFanfold(n));
      base.push(await toolBaseline(n));
    }
  }
  return { n, baselineMs: median(base), fanfoldMs: median(ours), rounds };
}

/** The tree case: 100 sub-leads × 1,000 specialists (100,000 calls), each sub-lead folding its own. */
const TREE = { leads: 100, each: 1000 };

/** The limit for the tree: the same calls, grouped the same way, with `Promise.all` at both levels. */
async function treeBaseline(): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS });
  const started = performance.now();
  const groups = await Promise.all(
    Array.from({ length: TREE.leads }, (_, s) =>
      Promise.all(
        Array.from({ length: TREE.each }, (_, i) =>
          provider.stream(
            { model: 'bench-model', messages: [{ role: 'user', content: `Task: bench\n\nYour angle: s${s}-${i}` }], maxTokens: 64 },
            { signal: new AbortController().signal, caller: { id: `s${s}-${i}`, attempt: 1 } },
          ),
        ),
      ).then((replies) => `${replies.length} findings`),
    ),
  );
  const elapsed = performance.now() - started;
  if (groups.length !== TREE.leads) throw new Error('tree baseline lost groups');
  return elapsed;
}

async function treeFanfold(): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS });
  const config = benchConfig(0, {
    synthesizer: instantFold,
    specialists: Array.from({ length: TREE.leads }, (_, s) => ({ id: `lead${s}`, synthesizer: instantFold, specialists: Array.from({ length: TREE.each }, (_, i) => ({ id: `s${s}-${i}` })) })),
  });
  const started = performance.now();
  const result = await runFanOut(config, { provider }).result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.modelCalls !== TREE.leads * TREE.each) throw new Error(`fanfold tree run ended ${result.status}`);
  return elapsed;
}

async function runTreeCase(): Promise<CaseResult> {
  const rounds = 5;
  await treeBaseline();
  await treeFanfold();
  const base: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      base.push(await treeBaseline());
      ours.push(await treeFanfold());
    } else {
      ours.push(await treeFanfold());
      base.push(await treeBaseline());
    }
  }
  return { n: TREE.leads * TREE.each, baselineMs: median(base), fanfoldMs: median(ours), rounds };
}

/** The limit: every call at once through the same provider, then the same trivial fold. */
async function baseline(n: number): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS });
  const started = performance.now();
  // One AbortController per call, as fanfold has: a single shared signal would cost O(N²) in
  // Node (EventTarget scans its listeners on every add).
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      provider.stream(
        { model: 'bench-model', messages: [{ role: 'user', content: `Task: bench\n\nYour angle: s${i}` }], maxTokens: 64 },
        { signal: new AbortController().signal, caller: { id: `s${i}`, attempt: 1 } },
      ),
    ),
  );
  const folded = replies.length;
  const elapsed = performance.now() - started;
  if (folded !== n) throw new Error('baseline lost replies');
  return elapsed;
}

async function fanfold(n: number): Promise<number> {
  const provider = createScriptedProvider({ latencyMs: LATENCY_MS });
  const config = benchConfig(n, { synthesizer: instantFold });
  const started = performance.now();
  const result = await runFanOut(config, { provider }).result;
  const elapsed = performance.now() - started;
  if (result.status !== 'done' || result.outcomes.length !== n) throw new Error(`fanfold run ended ${result.status}`);
  return elapsed;
}

async function runCase(n: number): Promise<CaseResult> {
  const rounds = n >= 100_000 ? 5 : n >= 10_000 ? 9 : 15;
  // Warm both paths up (JIT) on a smaller size first.
  await baseline(Math.min(n, 1000));
  await fanfold(Math.min(n, 1000));
  const base: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so drift in the machine's load hits both alike.
    if (round % 2 === 0) {
      base.push(await baseline(n));
      ours.push(await fanfold(n));
    } else {
      ours.push(await fanfold(n));
      base.push(await baseline(n));
    }
  }
  return { n, baselineMs: median(base), fanfoldMs: median(ours), rounds };
}

/** Peak RSS of a fresh process that does one run of the given kind at size N. */
async function peakRss(kind: 'fanfold' | 'baseline', n: number): Promise<number> {
  await (kind === 'fanfold' ? fanfold(n) : baseline(n));
  return process.resourceUsage().maxRSS / 1024;
}

async function main() {
  const caseArg = process.argv.indexOf('--case');
  if (caseArg !== -1) {
    const result = await runCase(Number(process.argv[caseArg + 1]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const toolArg = process.argv.indexOf('--tool-case');
  if (toolArg !== -1) {
    const result = await runToolCase(Number(process.argv[toolArg + 1]));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (process.argv.includes('--tree-case')) {
    process.stdout.write(`${JSON.stringify(await runTreeCase())}\n`);
    return;
  }
  const rssArg = process.argv.indexOf('--rss');
  if (rssArg !== -1) {
    const rss = await peakRss(process.argv[rssArg + 1] as 'fanfold' | 'baseline', Number(process.argv[rssArg + 2]));
    process.stdout.write(`${JSON.stringify({ rss })}\n`);
    return;
  }
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const chosen = sizes.length ? sizes : [3, 100, 1000, 10000, 100000];
  const withTools = sizes.length === 0 || process.argv.includes('--tools');
  const withTree = sizes.length === 0 || process.argv.includes('--tree');
  const self = fileURLToPath(import.meta.url);
  console.log(`fanfold bench — ${LATENCY_MS} ms scripted workers, Node ${process.version}, medians per size\n`);
  const header = ['N', 'Promise.all ms', 'fanfold ms', 'ratio', 'target', 'overhead/specialist', 'peak RSS MB (Promise.all)'];
  const rows: string[][] = [];
  let missed = 0;
  const child = <T>(args: string[]): T => {
    const run = spawnSync(process.execPath, [self, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (run.status !== 0) {
      console.error(run.stderr);
      throw new Error(`bench child ${args.join(' ')} failed`);
    }
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
  };
  for (const n of chosen) {
    // Three processes per size: the median of their medians (one process's JIT and GC luck moves
    // a 10,000-specialist run by ±10% here).
    const runs = [0, 1, 2].map(() => child<CaseResult>(['--case', String(n)])).sort((a, b) => a.fanfoldMs / a.baselineMs - b.fanfoldMs / b.baselineMs);
    const result = runs[1]!;
    const rss = child<{ rss: number }>(['--rss', 'fanfold', String(n)]).rss;
    const baseRss = child<{ rss: number }>(['--rss', 'baseline', String(n)]).rss;
    const ratio = result.fanfoldMs / result.baselineMs;
    const target = TARGETS[n];
    const rssOk = n === 10000 ? rss <= RSS_TARGET_MB : n === 100000 ? rss <= RSS_RATIO_TARGET * baseRss : true;
    const ok = (target === undefined || ratio <= target) && rssOk;
    if (!ok) missed++;
    rows.push([
      n.toLocaleString('en'),
      result.baselineMs.toFixed(1),
      result.fanfoldMs.toFixed(1),
      `${ratio.toFixed(3)}${ok ? '' : ' (missed)'}`,
      target === undefined ? '-' : `<= ${target}`,
      `${(((result.fanfoldMs - result.baselineMs) / n) * 1000).toFixed(1)} µs`,
      `${rss.toFixed(0)} (${baseRss.toFixed(0)})`,
    ]);
  }
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`\nTargets: ratio <= 1.10 at N <= 1,000, <= 1.50 at N = 10,000, <= 2.00 at N = 100,000; peak RSS <= ${RSS_TARGET_MB} MB at 10,000 and <= ${RSS_RATIO_TARGET}x Promise.all's at 100,000.`);
  if (withTools) {
    // Same protocol: three processes, the median ratio.
    const runs = [0, 1, 2].map(() => child<CaseResult>(['--tool-case', String(TOOL_N)])).sort((a, b) => a.fanfoldMs / a.baselineMs - b.fanfoldMs / b.baselineMs);
    const result = runs[1]!;
    const ratio = result.fanfoldMs / result.baselineMs;
    const ok = ratio <= TOOL_TARGET;
    if (!ok) missed++;
    // Per specialist: 2 model turns; overhead per turn is the extra wall time spread over N × 2 turns.
    const perTurnUs = ((result.fanfoldMs - result.baselineMs) / (TOOL_N * 2)) * 1000;
    console.log(`\nTool-using case: ${TOOL_N.toLocaleString('en')} specialists × 2 turns (${LATENCY_MS} ms each) with 2 parallel ${TOOL_LATENCY_MS} ms tool calls between them`);
    console.log(
      `  Promise.all (same calls, hand-wired) ${result.baselineMs.toFixed(1)} ms · fanfold ${result.fanfoldMs.toFixed(1)} ms · ratio ${ratio.toFixed(3)}${ok ? '' : ' (missed)'} (target <= ${TOOL_TARGET}) · overhead ${perTurnUs.toFixed(1)} µs per turn`,
    );
  }
  if (withTree) {
    const runs = [0, 1, 2].map(() => child<CaseResult>(['--tree-case'])).sort((a, b) => a.fanfoldMs / a.baselineMs - b.fanfoldMs / b.baselineMs);
    const result = runs[1]!;
    const ratio = result.fanfoldMs / result.baselineMs;
    const ok = ratio <= TARGETS[100000]!;
    if (!ok) missed++;
    console.log(`\nTree case: ${TREE.leads} sub-leads × ${TREE.each.toLocaleString('en')} specialists (${LATENCY_MS} ms each), each sub-lead folding its own`);
    console.log(
      `  Promise.all of Promise.all (same calls) ${result.baselineMs.toFixed(1)} ms · fanfold ${result.fanfoldMs.toFixed(1)} ms · ratio ${ratio.toFixed(3)}${ok ? '' : ' (missed)'} (target <= ${TARGETS[100000]})`,
    );
  }
  console.log(missed ? `${missed} case(s) missed a target.` : 'All targets met.');
}

await main();
