/**
 * The human-readable report printed after a run: the synthesis (unless it already streamed),
 * a table of specialists with tokens and estimated cost, and the timing that shows the fan-out
 * paid for the slowest specialist, not the sum.
 */
import { styleText } from 'node:util';
import { formatSeconds } from './progress/tracker.ts';
import type { JsonRunResult, JsonSpecialist } from './jsonResult.ts';

/** Options of {@link formatReport}. */
export interface ReportOptions {
  /** Print the synthesis text (when it was not streamed live). */
  includeSynthesis: boolean;
  /** Use colours. */
  color: boolean;
}

/** The report as text. */
export function formatReport(result: JsonRunResult, options: ReportOptions): string {
  const paint = (style: Parameters<typeof styleText>[0], text: string) => (options.color ? styleText(style, text) : text);
  const out: string[] = [];
  if (options.includeSynthesis) {
    if (result.synthesis !== null) out.push('', paint('bold', 'Synthesis'), '', result.synthesis.trimEnd());
    else out.push('', paint('red', 'No synthesis was written.'));
  }
  out.push('', paint('bold', 'Specialists'));
  // Sub-specialists of sub-leads follow their sub-lead, by path (`technical/plasma`).
  // A model lead's own calls get a row of their own, unless its text is the synthesis (then it is that row).
  const leadRow = result.lead?.agent && result.lead.agent.id !== result.synthesizer?.id ? [result.lead.agent] : [];
  const rows = [...result.specialists.flatMap((row) => withSubRows(row, row.id)), ...leadRow, ...(result.synthesizer ? [result.synthesizer] : [])];
  const idWidth = Math.max(12, ...rows.map((row) => row.id.length));
  out.push(
    paint(
      'gray',
      `  ${'id'.padEnd(idWidth)}  ${'status'.padEnd(9)} ${'model'.padEnd(20)} ${'calls'.padStart(5)} ${'turns'.padStart(5)} ${'tools'.padStart(5)} ${'time'.padStart(7)} ${'in tok'.padStart(8)} ${'out tok'.padStart(8)} ${'est. USD'.padStart(9)}`,
    ),
  );
  for (const row of rows) out.push(`  ${formatRow(row, idWidth)}`);
  const total = result.usage;
  const toolTotal = rows.reduce((sum, row) => sum + (row.toolCalls?.length ?? 0), 0);
  out.push(
    paint(
      'gray',
      `  ${'total'.padEnd(idWidth)}  ${''.padEnd(9)} ${''.padEnd(20)} ${String(result.modelCalls).padStart(5)} ${''.padStart(5)} ${String(toolTotal).padStart(5)} ${formatSeconds(result.elapsedMs).padStart(7)} ${String(total.inputTokens + total.cacheReadInputTokens + total.cacheCreationInputTokens).padStart(8)} ${String(total.outputTokens).padStart(8)} ${formatUsd(result.costUsd).padStart(9)}`,
    ),
  );
  if (result.unpricedModels.length > 0) out.push(paint('yellow', `  not in the price table (cost not counted): ${result.unpricedModels.join(', ')}`));

  const weighed = result.specialists.filter((row) => row.weight !== undefined).sort((a, b) => b.weight! - a.weight!);
  if (weighed.length > 0) {
    out.push('', paint('bold', 'Findings by weight (the synthesis favours the higher where they conflict)'));
    for (const row of weighed) {
      const meta = row.metadata!;
      const confidence = meta.confidence === null ? 'unreported' : meta.confidence.toFixed(2);
      out.push(`  ${row.id.padEnd(idWidth)}  weight ${row.weight!.toFixed(2)} · confidence ${confidence} · ${meta.sources} source${meta.sources === 1 ? '' : 's'} · ${meta.words} words`);
    }
  }

  if (result.lead) {
    const rounds = Math.max(0, ...result.lead.spawned.map((spawn) => spawn.round));
    out.push('', paint('bold', `Spawned by the lead (${result.lead.spawned.length} in ${rounds} round${rounds === 1 ? '' : 's'})`));
    if (result.lead.spawned.length === 0) out.push('  none: the lead answered on its own');
    for (const spawn of result.lead.spawned) {
      const brief = spawn.prompt.replace(/\s+/g, ' ');
      out.push(`  ${spawn.id} · round ${spawn.round} · ${spawn.status ?? 'running'} · ${spawn.description}: ${paint('gray', brief.length > 110 ? `${brief.slice(0, 109)}…` : brief)}`);
    }
  }

  if (result.missing.length > 0) {
    out.push('', paint('yellow', `Missing angles (${result.missing.length}):`));
    for (const missing of result.missing) out.push(`  - ${missing.id} (${missing.angle}): ${missing.reason}`);
  }
  if (result.error) out.push('', paint('red', `Run ${result.status}: ${result.error.message}`));
  if (result.budget) {
    const { caps, spent, estimate, reserve } = result.budget;
    const cap = [
      caps.usd !== null ? formatUsd(caps.usd) : null,
      caps.inputTokens !== null ? `${caps.inputTokens} input tokens` : null,
      caps.outputTokens !== null ? `${caps.outputTokens} output tokens` : null,
    ]
      .filter(Boolean)
      .join(', ');
    out.push(
      '',
      `${paint('bold', 'Budget')}: spent ${formatUsd(spent.usd)} (${spent.inputTokens} in / ${spent.outputTokens} out tokens) of ${cap}; estimated ${formatUsd(estimate.usd)} before the run, ${formatUsd(reserve.usd)} kept for the synthesis${result.stop === 'budget' ? paint('yellow', ' · the budget stopped the fan-out') : ''}`,
    );
  }

  const times = result.specialists.map((row) => row.elapsedMs ?? 0);
  const slowest = Math.max(0, ...times);
  const sum = times.reduce((a, b) => a + b, 0);
  out.push(
    '',
    `${paint('bold', result.status.toUpperCase())} · wall ${formatSeconds(result.elapsedMs)} · slowest specialist ${formatSeconds(slowest)}, all specialists summed ${formatSeconds(sum)}` +
      `${leadTiming(result) ?? (result.synthesizer?.elapsedMs != null ? `, synthesis ${formatSeconds(result.synthesizer.elapsedMs)}` : '')} · ${result.modelCalls} model call${result.modelCalls === 1 ? '' : 's'} · est. ${formatUsd(result.costUsd)}`,
  );
  if (result.backend === 'simulator') out.push(paint('gray', 'Simulated run: no API calls were made; costs are what the same tokens would cost on the real API.'));
  return out.join('\n');
}

/** ", lead 9.9s over 3 turns" for a model lead's run (its turns wrap the specialists' time). */
function leadTiming(result: JsonRunResult): string | null {
  const agent = result.lead?.agent;
  if (!agent) return null;
  const folded = result.synthesizer && result.synthesizer.id !== agent.id && result.synthesizer.elapsedMs != null ? `, synthesis ${formatSeconds(result.synthesizer.elapsedMs)}` : '';
  return `, lead ${formatSeconds(agent.elapsedMs ?? 0)} over ${agent.turns ?? 0} turn${agent.turns === 1 ? '' : 's'}${folded}`;
}

function withSubRows(row: JsonSpecialist, path: string): JsonSpecialist[] {
  return [{ ...row, id: path }, ...(row.specialists ?? []).flatMap((sub) => withSubRows(sub, `${path}/${sub.id}`))];
}

function formatRow(row: JsonSpecialist, idWidth: number): string {
  const input = row.usage.inputTokens + row.usage.cacheReadInputTokens + row.usage.cacheCreationInputTokens;
  const turns = row.turns === undefined ? '-' : String(row.turns);
  const tools = row.toolCalls === undefined ? '-' : String(row.toolCalls.length);
  return (
    `${row.id.padEnd(idWidth)}  ${row.status.padEnd(9)} ${(row.model ?? '-').padEnd(20)} ${String(row.attempts).padStart(5)} ${turns.padStart(5)} ${tools.padStart(5)} ${(row.elapsedMs === null ? '-' : formatSeconds(row.elapsedMs)).padStart(7)} ${String(input).padStart(8)} ${String(row.usage.outputTokens).padStart(8)} ${(row.costUsd === null ? '-' : formatUsd(row.costUsd)).padStart(9)}` +
    (row.error && row.status !== 'fulfilled' ? `  ${row.error.message}` : row.loopLimit ? `  loop ended by ${row.loopLimit}` : '')
  );
}

/** Dollars with enough digits for small runs: `$0.0042`. */
export function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
