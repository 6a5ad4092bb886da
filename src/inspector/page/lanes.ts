/**
 * The inspector page's timeline: an axis with how many specialists ran in parallel over time,
 * the root's own lane (one segment per state it went through), a lane per specialist (its bar,
 * retries, timeouts, error, tool calls and turn ends) in a virtual list, and the synthesis lane.
 */
import { $, el, vlist } from './dom.ts';
import { fmtMs, niceStep } from './format.ts';
import { S } from './model.ts';
import * as TX from './transcript.ts';
import { cache, rootOf, type Lane, type Lanes } from './view.ts';

/** Height of a lane, px. */
export const LANE_H = 20;
/** At most this many ticks on the time axis, whatever its span. */
const MAX_TICKS = 50;

/** Where time `x` is across the timeline, in percent. */
function pct(L: Lanes, x: number): number {
  return ((x - L.t0) / (L.t1 - L.t0)) * 100;
}

function laneEl(L: Lanes, l: Lane, cls?: string): HTMLElement {
  const row = el('div', 'lane st-' + l.st + (l.slowest ? ' slowest' : '') + (l.group ? ' group' : '') + (cls ? ' ' + cls : ''));
  row.setAttribute('data-actor', l.a.name);
  row.setAttribute('data-key', l.a.key);
  if (S.selActor === l.a.key) row.className += ' selected';
  row.setAttribute('data-kind', l.a.kind);
  row.setAttribute('data-status', l.st);
  const label = el('div', 'lane-label');
  label.style.paddingLeft = 6 + l.depth * 12 + 'px';
  label.appendChild(el('span', 'lane-name', l.label));
  label.appendChild(el('span', 'lane-status', l.text));
  label.title = l.label + ': ' + l.text + (l.error ? ' — ' + l.error : '');
  row.appendChild(label);
  const track = el('div', 'lane-track');
  if (l.start != null) {
    const bar = el('div', 'bar');
    const left = pct(L, l.start);
    bar.style.left = left + '%';
    bar.style.width = Math.max(0, pct(L, l.end!) - left) + '%';
    bar.title = l.label + ': ' + l.text + (l.error ? ' — ' + l.error : '');
    track.appendChild(bar);
  }
  if (l.error) {
    // The error next to the bar, where there is room: after it, or before it.
    const note = el('div', 'bar-note', l.error);
    note.title = l.error;
    const endP = l.start != null ? pct(L, l.end!) : 0,
      startP = l.start != null ? pct(L, l.start) : 0;
    if (endP < 62) note.style.left = endP + 0.8 + '%';
    else if (startP > 38) {
      note.style.right = 100 - startP + 0.8 + '%';
      note.style.textAlign = 'right';
    } else {
      note.style.left = startP + 0.8 + '%';
      note.className += ' inside';
    }
    track.appendChild(note);
  }
  if (l.a.tx) toolMarks(L, l, l.a.tx, track);
  l.marks.forEach((m) => {
    const d = el('div', 'mark ' + m.kind);
    d.style.left = pct(L, m.x) + '%';
    d.title = m.title;
    track.appendChild(d);
  });
  row.appendChild(track);
  return row;
}

/** A tool-call mark, placed on a row of its lane. */
interface ToolMark {
  p0: number;
  p1: number;
  cls: string;
  title: string;
  tool: string;
  n: number;
  errors: number;
  row?: number;
}

/**
 * A lane's tool calls (one segment each, from start to end; calls that overlap in time, like a
 * turn's parallel calls, on up to 3 rows inside the bar) and turn ends. O(marks kept), which
 * transcript.ts bounds per lane; only lanes in view are drawn.
 */
function toolMarks(L: Lanes, l: Lane, tx: TX.Transcript, track: HTMLElement): void {
  const m = TX.marks(tx),
    skew = L.skew;
  const live = l.a.outcome == null && l.a.status === 'active';
  const at = (runT: number | null, pageT: number): number => (runT != null ? runT + skew : pageT);
  const clamp = (p: number): number => Math.max(0, Math.min(100, p));
  m.ticks.forEach((k) => {
    const d = el('div', 'turn-tick');
    d.style.left = clamp(pct(L, at(k.at, k.t))) + '%';
    d.title = 'turn ' + k.turn + ' ended' + (k.stopReason ? ': ' + TX.redact(k.stopReason, 200) : '');
    d.setAttribute('data-turn', String(k.turn));
    track.appendChild(d);
  });
  const items: ToolMark[] = [];
  m.segs.forEach((s) => {
    const kind = s.server === s.n ? 'server' : s.server ? 'mixed' : 'client';
    const x0 = at(s.at0, s.t0),
      x1 = Math.max(x0, at(s.at1, s.t1));
    items.push({
      p0: clamp(pct(L, x0)),
      p1: clamp(pct(L, x1)),
      cls: 'tool ' + kind + (s.errors ? ' error' : '') + (s.n > 1 ? ' merged' : ''),
      title: TX.segTitle(s, false),
      tool: s.name != null ? s.name : '',
      n: s.n,
      errors: s.errors,
    });
  });
  m.open.forEach((o) => {
    const x0 = at(o.at0, o.t0),
      x1 = live ? L.now : l.end;
    items.push({
      p0: clamp(pct(L, x0)),
      p1: clamp(pct(L, Math.max(x0, x1 == null ? x0 : x1))),
      cls: 'tool ' + (o.server ? 'server' : 'client') + (live ? ' running' : ' unfinished'),
      title: TX.segTitle(o, true).replace(/running$/, live ? 'running' : 'never finished'),
      tool: o.name,
      n: 1,
      errors: 0,
    });
  });
  if (!items.length) return;
  // Rows: each call in the first row free at its start (a mark is at least ~0.4% wide).
  items.sort((x, y) => x.p0 - y.p0 || y.p1 - x.p1);
  const ends: number[] = [];
  let rows = 0;
  items.forEach((it) => {
    let r = 0;
    while (r < ends.length && ends[r]! > it.p0) r++;
    if (r >= 3) {
      r = 0;
      for (let i = 1; i < ends.length; i++) if (ends[i]! < ends[r]!) r = i;
    }
    ends[r] = Math.max(ends[r] || 0, it.p1, it.p0 + 0.4);
    it.row = r;
    if (r + 1 > rows) rows = r + 1;
  });
  const h = rows === 1 ? 8 : rows === 2 ? 5 : 3,
    top = 4 + (12 - rows * h - (rows - 1)) / 2;
  items.forEach((it) => {
    const d = el('div', it.cls);
    d.style.left = it.p0 + '%';
    d.style.width = Math.max(0, it.p1 - it.p0) + '%';
    d.style.top = top + it.row! * (h + 1) + 'px';
    d.style.height = h + 'px';
    d.title = it.title;
    d.setAttribute('data-tool', it.tool);
    d.setAttribute('data-calls', String(it.n));
    d.setAttribute('data-errors', String(it.errors));
    d.setAttribute('data-row', String(it.row));
    track.appendChild(d);
  });
}

/** Draws the timeline panel. */
export function renderTimeline(): void {
  const L = cache.lanes,
    root = rootOf();
  const lanesEl = $('lanes'),
    axis = $('axis'),
    rootLane = $('root-lane'),
    synthEl = $('synthesis-lane');
  if (!L || !root) {
    lanesEl.textContent = '';
    axis.textContent = '';
    rootLane.textContent = '';
    synthEl.textContent = '';
    $('lane-summary').textContent = '';
    return;
  }
  let summary = L.total + ' lanes';
  if (L.peak) summary += ' · up to ' + L.peak + ' in parallel';
  if (L.slowest) summary += ' · slowest: ' + L.slowest.label + ' (' + fmtMs(L.slowest.dur) + ')';
  if (L.synth && L.synth.dur != null) summary += ' · synthesis ' + fmtMs(L.synth.dur);
  $('lane-summary').textContent = summary;
  // Axis: ticks and the number of lanes running over time.
  axis.textContent = '';
  const al = el('div', 'lane-label', 'running in parallel (peak ' + L.peak + ')');
  axis.appendChild(al);
  const at = el('div', 'lane-track');
  if (L.points.length > 1 && L.peak > 0) {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 1000 100');
    svg.setAttribute('preserveAspectRatio', 'none');
    let d = 'M0,100';
    const n = L.points.length - 1;
    L.points.forEach((p, i) => {
      d += ' L' + ((i / n) * 1000).toFixed(1) + ',' + (100 - (p / L.peak) * 100).toFixed(1);
    });
    d += ' L1000,100 Z';
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
    at.appendChild(svg);
  }
  const span = L.t1 - L.t0;
  if (Number.isFinite(span) && span > 0) {
    // A counted loop: with a huge span, x + step can round back to x.
    const step = Math.max(niceStep(span / 6), span / MAX_TICKS);
    for (let ti = 0; ti <= MAX_TICKS; ti++) {
      const x = ti * step;
      if (x > span) break;
      const tk = el('div', 'tick', fmtMs(x));
      tk.style.left = (x / span) * 100 + '%';
      at.appendChild(tk);
    }
  }
  axis.appendChild(at);
  // The root's own lane: one segment per state it went through.
  rootLane.textContent = '';
  const rl = el('div', 'lane-label');
  rl.appendChild(el('span', 'lane-name', root.name));
  rl.appendChild(el('span', 'lane-status', root.valueStr || root.status));
  rootLane.appendChild(rl);
  const rt = el('div', 'lane-track');
  const hist = root.history;
  for (let i = 0; i < hist.length; i++) {
    const visit = hist[i]!;
    // The first state begins when the root does (its first snapshot comes after its children started).
    const s = i === 0 ? Math.min(visit.t, L.t0) : visit.t,
      e = i + 1 < hist.length ? hist[i + 1]!.t : root.status === 'active' ? L.now : s;
    const seg = el('div', 'seg' + (i % 2 ? ' alt' : '') + ' s-' + visit.v.replace(/[^A-Za-z0-9_-]/g, '_'), visit.v);
    const left = Math.max(0, pct(L, s));
    seg.style.left = left + '%';
    seg.style.width = Math.max(0.4, pct(L, e) - left) + '%';
    if (i === hist.length - 1 && root.status !== 'active') {
      seg.style.left = 'auto';
      seg.style.right = '0';
      seg.style.width = 'auto';
    }
    seg.title = visit.v + ' +' + fmtMs(s - L.t0) + (visit.ev ? ' on ' + visit.ev : '');
    rt.appendChild(seg);
  }
  rootLane.appendChild(rt);
  vlist(lanesEl, L.list.length, LANE_H, (i) => laneEl(L, L.list[i]!));
  synthEl.textContent = '';
  if (L.synth) synthEl.appendChild(laneEl(L, L.synth, 'synthesis'));
}
