/**
 * What the inspector page derives from its model for the selected run: the actor tree's rows and
 * the timeline's lanes (spans, statuses, retries, the slowest specialist, how many ran in
 * parallel over time), cached until the model changes (or, while the run is live, each frame).
 */
import { S, type Actor, type LogEntry } from './model.ts';
import { errText, fmtMs } from './format.ts';
import type { LoopSummary } from './transcript.ts';

/** A row of the actor tree. */
export interface Row {
  a: Actor;
  depth: number;
}

/** A mark on a lane: a failed attempt (retry or timeout), or where a timeout cut it off. */
export interface LaneMark {
  x: number;
  kind: 'retry' | 'timeout' | 'end-timeout';
  title: string;
}

/** A lane of the timeline: one specialist (or sub-lead, as a group). */
export interface Lane {
  a: Actor;
  depth: number;
  label: string;
  start: number | null;
  end: number | null;
  dur: number | null;
  st: string;
  text: string;
  error: string;
  marks: LaneMark[];
  group: boolean;
  order: number;
  slowest: boolean;
}

/** The timeline: its lanes in the chosen order, the synthesis, the time range and the overlap. */
export interface Lanes {
  list: Lane[];
  synth: Lane | null;
  t0: number;
  t1: number;
  slowest: Lane | null;
  peak: number;
  /** Lanes running at each of 161 points across the range. */
  points: number[];
  counts: Record<string, number>;
  /** The root's own specialists. */
  top: number;
  skew: number;
  now: number;
  total: number;
}

/** What the last render showed, to skip work that would change nothing. */
export const cache = {
  key: '',
  rows: [] as Row[],
  lanes: null as Lanes | null,
  log: [] as LogEntry[],
  logKey: '',
  chartKey: '',
  detailsKey: '',
  transcriptKey: '',
  optionsKey: '',
  rootsKey: '',
  optionsAt: 0,
  optionsRetry: undefined as ReturnType<typeof setTimeout> | undefined,
  reveal: null as string | null,
};

/** Forgets every cached view (the model started over). */
export function clearCache(): void {
  cache.key = '';
  cache.chartKey = '';
  cache.logKey = '';
  cache.optionsKey = '';
  cache.rootsKey = '';
  cache.transcriptKey = '';
  cache.detailsKey = '';
}

/** Outcomes in the "failures first" order. */
const OUTCOME_ORDER: Record<string, number> = { rejected: 0, timedOut: 1, skipped: 2, stopped: 3, backingOff: 4, calling: 5, active: 6, fulfilled: 7 };

/** The selected run's root actor. */
export function rootOf(): Actor | null {
  const key = S.rootSel;
  return key ? S.actors.get(key) || null : null;
}

/** How far the run's clock is from the page's. */
export function skewOf(root: Actor | null): number {
  // Outcome times come from the run's clock; if it is not wall time (a simulated clock), map it onto the root's start.
  if (!root || typeof root.runStart !== 'number') return 0;
  const d = root.createdT - root.runStart;
  return Math.abs(d) < 60000 ? 0 : d;
}

/** The run's "now" on the page's clock: its end once it ended. */
export function nowFor(root: Actor): number {
  if (root.status !== 'active') {
    if (root.runEnd != null) return root.runEnd + skewOf(root);
    return root.endT != null ? root.endT : S.maxT;
  }
  const n = Date.now();
  return n - S.maxT < 60000 ? Math.max(n, S.maxT) : S.maxT;
}

/** When an actor ran, on the page's clock (start null: it never started). */
export function spanOf(a: Actor, skew: number, now: number): { start: number | null; end: number | null } {
  const start = a.runStart != null ? a.runStart + skew : a.virtual ? null : a.createdT;
  let end: number;
  if (a.runEnd != null && (a.outcome != null || a.status !== 'active')) end = a.runEnd + skew;
  else if (a.endT != null) end = a.endT;
  else end = now;
  if (start != null && end < start) end = start;
  return { start: start, end: start == null ? null : end };
}

/** An actor's status as lanes and rows colour it: an outcome, a phase, or its snapshot's status. */
export function statusOf(a: Actor): string {
  if (a.outcome) return a.outcome;
  if (a.kind === 'lead' || a.kind === 'machine') {
    if (a.status === 'active') return 'active';
    if (a.status === 'done') {
      const v = a.valueStr;
      return v === 'done' ? 'fulfilled' : v === 'failed' ? 'rejected' : v === 'cancelled' ? 'skipped' : v === 'partial' ? 'fulfilled' : 'fulfilled';
    }
    return a.status === 'error' ? 'rejected' : 'stopped';
  }
  if (a.status === 'active') return a.phase || 'active';
  if (a.status === 'done') return 'fulfilled';
  return a.status === 'error' ? 'rejected' : a.status;
}

/** Model calls made, if the actor makes them. */
export function attemptsOf(a: Actor): number | null {
  if (a.attemptsFinal != null) return a.attemptsFinal;
  if (a.kind === 'specialist' || a.kind === 'synthesizer') return a.calls;
  if (a.result && typeof a.result.modelCalls === 'number') return a.result.modelCalls;
  return null;
}

/** Tokens in / out, or the characters streamed so far. */
export function tokensOf(a: Actor): string {
  const u = (a.usage || a.result?.usage) as { inputTokens?: number; outputTokens?: number } | null | undefined;
  if (u && typeof u === 'object' && (u.inputTokens || u.outputTokens)) return (u.inputTokens || 0) + ' / ' + (u.outputTokens || 0);
  if (a.streamed) return '~' + a.streamed + ' chars';
  return '';
}

/** The actor's state in words, by kind. */
export function stateText(a: Actor): string {
  switch (a.kind) {
    case 'lead':
    case 'machine':
      return (a.valueStr || a.status) + (a.status === 'error' ? ' (error)' : a.status === 'stopped' ? ' (stopped)' : '');
    case 'fanOut':
      if (!a.fan) return a.status;
      return (a.status === 'active' ? 'running ' + a.fan.running + ' · ' : a.status + ' · ') + (a.fan.fulfilled + a.fan.unsuccessful) + '/' + a.fan.total + ' settled';
    case 'specialist':
    case 'synthesizer':
      return a.outcome || (a.status === 'active' ? a.phase || 'active' : a.status);
    case 'timer':
      return a.status === 'active' ? 'armed' : a.status;
    default:
      return a.status;
  }
}

/** The actor's name under the sub-leads (or parent actors) it sits in, e.g. "alpha › a": names
 * repeat across sub-leads, so lists show this path. The run's root and fan-out actors are left out. */
export function pathOf(a: Actor): string {
  const parts = [a.name];
  let p = a.parent != null ? S.actors.get(a.parent) : undefined;
  for (let depth = 0; p && p.parent != null && depth < 1000; depth++) {
    if (p.kind !== 'fanOut') parts.unshift(p.name);
    p = S.actors.get(p.parent);
  }
  return parts.join(' › ');
}

/** The lane's note on a specialist's loop: tool calls (failed ones), a loop limit. Empty without tools. */
function loopText(a: Actor): string {
  const tx = a.tx,
    sum: LoopSummary | null = a.loopSum;
  const calls = tx ? tx.total.calls : sum?.toolCalls ? sum.toolCalls : 0;
  const failed = tx ? tx.total.errors : sum?.toolErrors ? sum.toolErrors : 0;
  let text = '';
  if (calls) text += ' · ' + calls + (calls === 1 ? ' tool call' : ' tool calls') + (failed ? ' (' + failed + ' failed)' : '');
  if (sum?.loopLimit) text += ' · limit: ' + sum.loopLimit;
  return text;
}

/** The error's kind, if it has one. */
function kindOf(error: unknown): unknown {
  return error && typeof error === 'object' ? (error as { kind?: unknown }).kind : undefined;
}

/** Brings {@link cache}'s rows and lanes up to date with the model. */
export function derive(): void {
  const root = rootOf();
  const key = S.version + '|' + S.rootSel + '|' + S.laneSort + '|' + S.collapsed.size;
  const live = root && root.status === 'active';
  if (key === cache.key && !live) return;
  cache.key = key;
  cache.rows = [];
  cache.lanes = null;
  if (!root) return;
  const skew = skewOf(root),
    now = nowFor(root);
  // Actor tree, depth first.
  (function walk(a: Actor, depth: number): void {
    cache.rows.push({ a: a, depth: depth });
    if (S.collapsed.has(a.key)) return;
    for (const childKey of a.children) {
      const c = S.actors.get(childKey);
      if (c) walk(c, depth + 1);
    }
  })(root, 0);
  // Lanes: specialists (sub-leads as groups), the synthesis after them.
  const lanes: Lane[] = [];
  let synth: Lane | null = null,
    order = 0;
  function lane(c: Actor, depth: number, prefix: string): Lane {
    const sp = spanOf(c, skew, now);
    const st = statusOf(c);
    const marks: LaneMark[] = [];
    c.retries.forEach((r) => {
      const x = r.at != null ? r.at + skew : r.t;
      const timeout = r.error && kindOf(r.error) === 'timeout';
      marks.push({
        x: x,
        kind: timeout ? 'timeout' : 'retry',
        title:
          'attempt ' +
          (r.attempt - 1) +
          ' failed' +
          (r.error ? ': ' + errText(r.error) : '') +
          (r.delayMs ? '; retry in ' + fmtMs(r.delayMs) : '') +
          (r.reason === 'fallback' ? ' (fallback model)' : ''),
      });
    });
    if (st === 'timedOut' && sp.end != null) marks.push({ x: sp.end, kind: 'end-timeout', title: 'cut off: ' + errText(c.error) });
    const attempts = attemptsOf(c);
    const dur = sp.start != null ? sp.end! - sp.start : null;
    const text = st + (attempts != null ? ' · ' + attempts + (attempts === 1 ? ' attempt' : ' attempts') : '') + (dur != null ? ' · ' + fmtMs(dur) : ' · never started') + loopText(c);
    return {
      a: c,
      depth: depth,
      label: prefix + c.name,
      start: sp.start,
      end: sp.end,
      dur: dur,
      st: st,
      text: text,
      error: c.error && st !== 'fulfilled' ? errText(c.error) : '',
      marks: marks,
      group: c.kind === 'lead' || (c.kind === 'machine' && c.children.length > 0),
      order: order++,
      slowest: false,
    };
  }
  (function walk(a: Actor, depth: number, prefix: string): void {
    for (const childKey of a.children) {
      const c = S.actors.get(childKey);
      if (!c || c.kind === 'timer' || c.superseded) continue;
      if (c.kind === 'fanOut') {
        walk(c, depth, prefix);
        continue;
      }
      if (c.kind === 'synthesizer' && depth === 0) {
        synth = lane(c, depth, prefix);
        continue;
      }
      lanes.push(lane(c, depth, prefix));
      if (c.children.length) walk(c, depth + 1, prefix + c.name + '/');
    }
  })(root, 0, '');
  // Slowest specialist, overlap, time range.
  const rootSpan = spanOf(root, skew, now);
  let t0 = rootSpan.start != null ? rootSpan.start : root.createdT,
    t1 = Math.max(rootSpan.end || t0, now);
  let slowest: Lane | null = null,
    top = 0;
  const counts: Record<string, number> = {},
    intervals: Lane[] = [];
  lanes.forEach((l) => {
    // The header counts the root's own specialists; sub-leads' lanes are in the timeline.
    if (l.depth === 0) {
      counts[l.st] = (counts[l.st] || 0) + 1;
      top++;
    }
    if (l.start == null || l.end == null) return;
    if (l.start < t0) t0 = l.start;
    if (l.end > t1) t1 = l.end;
    if (l.group) return;
    intervals.push(l);
    if (l.st !== 'skipped' && (!slowest || l.dur! > slowest.dur!)) slowest = l;
  });
  const synthLane = synth as Lane | null;
  if (synthLane && synthLane.end != null && synthLane.end > t1) t1 = synthLane.end;
  const slowestLane = slowest as Lane | null;
  if (slowestLane) slowestLane.slowest = true;
  let peak = 0;
  const points: number[] = [];
  if (intervals.length) {
    const ev: Array<[number, number]> = [];
    intervals.forEach((l) => {
      ev.push([l.start!, 1]);
      ev.push([l.end!, -1]);
    });
    ev.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let cur = 0;
    ev.forEach((e) => {
      cur += e[1];
      if (cur > peak) peak = cur;
    });
    const buckets = 160,
      span = Math.max(1, t1 - t0);
    let idx = 0;
    cur = 0;
    for (let b = 0; b <= buckets && Number.isFinite(span); b++) {
      const tb = t0 + (span * b) / buckets;
      while (idx < ev.length && ev[idx]![0] <= tb) {
        cur += ev[idx]![1];
        idx++;
      }
      points.push(cur);
    }
  }
  const sorted = lanes.slice();
  const rank = (l: Lane) => (OUTCOME_ORDER[l.st] != null ? OUTCOME_ORDER[l.st]! : 5);
  if (S.laneSort === 'slowest') sorted.sort((x, y) => (y.dur == null ? -1 : y.dur) - (x.dur == null ? -1 : x.dur) || x.order - y.order);
  else if (S.laneSort === 'start') sorted.sort((x, y) => (x.start == null ? Infinity : x.start) - (y.start == null ? Infinity : y.start) || x.order - y.order);
  else if (S.laneSort === 'failures') sorted.sort((x, y) => rank(x) - rank(y) || x.order - y.order);
  // Times are sanitised on the way in; should anything still be off, fall back to the root's own times.
  if (!Number.isFinite(t0)) t0 = root.createdT;
  if (!Number.isFinite(t1) || !Number.isFinite(t1 - t0)) t1 = t0;
  // Room on the right for the final state's label.
  t1 = Math.max(t1, t0 + 1);
  t1 += (t1 - t0) * 0.08;
  cache.lanes = { list: sorted, synth: synthLane, t0: t0, t1: t1, slowest: slowestLane, peak: peak, points: points, counts: counts, top: top, skew: skew, now: now, total: lanes.length };
}
