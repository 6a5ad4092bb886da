/**
 * The inspector page's fold of a specialist's tool-use loop: its `specialist.tool.started`,
 * `specialist.tool.done` and `specialist.turn` run events (read out of the lead's
 * `fanOut.progress` batches) become tool-call segments and turn ticks for its lane and a
 * transcript for the details pane. It touches no DOM, so tests import it directly:
 *
 * @example
 * import * as TX from './transcript.ts';
 * const budget = TX.budget(), tx = TX.create();
 * TX.apply(budget, tx, { type: 'specialist.tool.started', id: 'a', tool: 'search', callId: 'toolu_1', turn: 1, server: false, input: '{"q":"x"}', at: 5 }, Date.now());
 * TX.view(tx).turns[0].calls[0].tool; // → 'search'
 *
 * Bounded whatever arrives: per specialist at most `MAX_ENTRIES` transcript entries (turns and
 * tool calls; older turns are aggregated into counts), `MAX_SEGMENTS` lane segments (on
 * overflow, neighbours are merged: the lane keeps covering every call at a coarser grain),
 * `MAX_TICKS` turn ticks and `MAX_OPEN` running calls; and, across all specialists, at most
 * `MAX_CHARS` characters of transcript text (past it, the oldest entries lose their text,
 * keeping their tool, times and status). Every step is O(1) amortised.
 *
 * Everything shown passes {@link redact}: the server's own `redactSecrets` (src/redact.ts) and,
 * in JSON text, string values under secret-looking keys (`isSecretKey`, src/inspector/wire.ts).
 * The wire redacts these strings already; this is for whatever reaches the page otherwise.
 */
import { redactSecrets } from '../../redact.ts';
import { isSecretKey as isSecretKeyText } from '../wire.ts';

const MAX_ENTRIES = 200,
  MAX_SEGMENTS = 128,
  MAX_TICKS = 128,
  MAX_OPEN = 64,
  MAX_CHARS = 16_000_000;
// Events cap their texts at 1,000 characters (plus a marker); anything longer was not cut by fanfold.
const FIELD_CHARS = 1000,
  FIELD_SLACK = 24,
  NAME_CHARS = 200;
// "key": "value" in JSON text (a value cut short by a marker may lack its closing quote).
const JSON_PAIR = /"((?:[^"\\\n]|\\.){1,200})"(\s*:\s*)"((?:[^"\\]|\\.)*)("|$)/g;
const CUT = /…\(\+\d+ chars\)$/;
let seq = 0;

/** Text that counts against the page's {@link TextBudget}: a turn or a tool call. */
interface Kept {
  chars: number;
  queued?: boolean;
  /** Left the transcript while still queued in the budget. */
  gone?: boolean;
  /** Lost its text to the budget. */
  trimmed?: boolean;
  text?: string | null;
  input?: string | null;
  result?: string | null;
  error?: string | null;
}

/** One tool call of a turn. Times: `at…` on the run's clock, `t…` on the page's. */
export interface Call extends Kept {
  kind: 'call';
  callId: string;
  tool: string;
  turn: number;
  server: boolean;
  input: string | null;
  result: string | null;
  error: string | null;
  isError: boolean;
  ms: number | null;
  at0: number | null;
  t0: number;
  at1?: number | null;
  t1?: number;
  done: boolean;
}

/** One turn of the loop and the tool calls made in it. */
export interface TurnGroup extends Kept {
  kind: 'turn';
  turn: number;
  /** Its `specialist.turn` event arrived (else only calls of it did). */
  seen: boolean;
  model: string | null;
  stopReason: string | null;
  text: string | null;
  toolUses: number | null;
  final: boolean;
  usage: { input: number | null; output: number | null } | null;
  at: number | null;
  t: number | null;
  calls: Call[];
  /** Calls dropped from it to stay within `MAX_ENTRIES`. */
  dropped: number;
  errors: number;
}

/** A call that started and has not ended. */
export interface OpenCall {
  callId: string;
  at0: number | null;
  t0: number;
  name: string;
  server: boolean;
  turn: number;
  call: Call;
}

/** A finished call on the lane (or `n` merged neighbours). */
export interface Segment {
  at0: number | null;
  at1: number | null;
  t0: number;
  t1: number;
  n: number;
  errors: number;
  /** How many of the `n` calls ran on the server. */
  server: number;
  name: string | null;
  ms: number | null;
  error?: string | null;
}

/** The end of a turn, on the lane. */
export interface Tick {
  at: number | null;
  t: number;
  turn: number;
  stopReason: string | null;
}

/** The text budget shared by every specialist of a page. */
export interface TextBudget {
  chars: number;
  max: number;
  queue: Array<Kept | null>;
  head: number;
  /** Queued entries that left their transcript. */
  dead: number;
  trimmed: number;
}

/** One specialist's folded loop. `v` changes whenever anything does. */
export interface Transcript {
  v: number;
  groups: TurnGroup[];
  byTurn: Map<number, TurnGroup>;
  calls: Map<string, Call>;
  open: Map<string, OpenCall>;
  entries: number;
  earlier: { turns: number; calls: number; errors: number };
  total: { turns: number; calls: number; errors: number; server: number };
  segs: Segment[];
  ticks: Tick[];
  lastTurn: number;
}

/** The fields of the run events this fold reads; anything may be missing or of another type. */
interface LoopEvent {
  type?: unknown;
  callId?: unknown;
  tool?: unknown;
  turn?: unknown;
  server?: unknown;
  input?: unknown;
  result?: unknown;
  error?: unknown;
  isError?: unknown;
  ms?: unknown;
  at?: unknown;
  model?: unknown;
  stopReason?: unknown;
  final?: unknown;
  toolUses?: unknown;
  usage?: unknown;
  text?: unknown;
}

/** True for a key whose value is a secret: the server's rule, for keys of any type. */
export function isSecretKey(key: unknown): boolean {
  return isSecretKeyText(String(key));
}

/** Text of any value, secrets redacted, cut at max characters with a marker. */
export function redact(value: unknown, max?: number): string {
  if (value == null) return '';
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value);
    } catch {
      text = String(value);
    }
    if (text == null) text = String(value);
  }
  text = redactSecrets(text);
  if (text.indexOf('"') !== -1) {
    text = text.replace(JSON_PAIR, (all: string, key: string, sep: string, _value: string, close: string) => (isSecretKey(key) ? '"' + key + '"' + sep + '"[redacted]' + close : all));
  }
  max = max || FIELD_CHARS;
  if (text.length <= max || (CUT.test(text) && text.length <= max + FIELD_SLACK)) return text;
  return text.slice(0, max) + '…(+' + (text.length - max) + ' chars)';
}

function str(v: unknown, max?: number): string | null {
  if (typeof v !== 'string') return v == null ? null : redact(v, max);
  return v.length > (max || FIELD_CHARS) + FIELD_SLACK ? v.slice(0, max || FIELD_CHARS) + '…(+' + (v.length - (max || FIELD_CHARS)) + ' chars)' : v;
}
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
/** A time of the run's clock, or null (the page maps it with its clock skew). */
function time(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 4102444800000 ? v : null;
}
function turnOf(v: unknown): number {
  return typeof v === 'number' && v >= 0 && v <= 1e9 ? Math.floor(v) : 0;
}
function len(v: string | null): number {
  return typeof v === 'string' ? v.length : 0;
}

/** The text budget shared by every specialist of a page. */
export function budget(maxChars?: number): TextBudget {
  return { chars: 0, max: maxChars || MAX_CHARS, queue: [], head: 0, dead: 0, trimmed: 0 };
}

/** An empty fold for one specialist. */
export function create(): Transcript {
  return {
    v: 0,
    groups: [],
    byTurn: new Map(),
    calls: new Map(),
    open: new Map(),
    entries: 0,
    earlier: { turns: 0, calls: 0, errors: 0 },
    total: { turns: 0, calls: 0, errors: 0, server: 0 },
    segs: [],
    ticks: [],
    lastTurn: 0,
  };
}

// ---------- the text budget ----------
function account(b: TextBudget, e: Kept, chars: number): void {
  if (!chars) return;
  e.chars = (e.chars || 0) + chars;
  b.chars += chars;
  if (!e.queued) {
    e.queued = true;
    b.queue.push(e);
  }
  while (b.chars > b.max && b.head < b.queue.length) {
    // Entries before the head are null; from the head on they are not.
    const old = b.queue[b.head]!;
    b.queue[b.head++] = null;
    old.queued = false;
    if (old.gone) {
      b.dead--;
      continue;
    }
    strip(old);
    b.chars -= old.chars;
    old.chars = 0;
    old.trimmed = true;
    b.trimmed++;
  }
  if (b.head > 1024 && b.head * 2 > b.queue.length) {
    b.queue = b.queue.slice(b.head);
    b.head = 0;
  }
}
function strip(e: Kept): void {
  e.text = null;
  e.input = null;
  e.result = null;
  if (e.error && e.error.length > 200) e.error = e.error.slice(0, 200) + '…';
}
/** An entry left the transcript: its text leaves the budget (and the queue, soon). */
function release(b: TextBudget, e: Kept): void {
  b.chars -= e.chars || 0;
  e.chars = 0;
  strip(e);
  e.error = null;
  if (e.queued && !e.gone) {
    e.gone = true;
    b.dead++;
  }
  if (b.dead > 1024 && b.dead * 2 > b.queue.length - b.head) {
    b.queue = b.queue.slice(b.head).filter((x) => {
      if (x!.gone) x!.queued = false;
      return !x!.gone;
    });
    b.head = 0;
    b.dead = 0;
  }
}

// ---------- the transcript ----------
function group(tx: Transcript, turn: number): TurnGroup {
  let g = tx.byTurn.get(turn);
  if (g) return g;
  g = { kind: 'turn', turn: turn, seen: false, model: null, stopReason: null, text: null, toolUses: null, final: false, usage: null, at: null, t: null, calls: [], dropped: 0, errors: 0, chars: 0 };
  tx.byTurn.set(turn, g);
  let i = tx.groups.length;
  while (i > 0 && tx.groups[i - 1]!.turn > turn) i--;
  tx.groups.splice(i, 0, g);
  tx.entries++;
  return g;
}

function bound(b: TextBudget, tx: Transcript): void {
  while (tx.entries > MAX_ENTRIES) {
    if (tx.groups.length > 1) {
      const g = tx.groups.shift()!;
      tx.byTurn.delete(g.turn);
      tx.entries -= 1 + g.calls.length;
      if (g.seen) tx.earlier.turns++;
      // Calls dropped from it earlier were counted then.
      tx.earlier.calls += g.calls.length;
      tx.earlier.errors += g.errors;
      g.calls.forEach((c) => {
        tx.calls.delete(c.callId);
        release(b, c);
      });
      release(b, g);
    } else {
      const only = tx.groups[0];
      const c = only?.calls.shift();
      if (!only || !c) break;
      only.dropped++;
      tx.entries--;
      tx.earlier.calls++;
      if (c.isError) {
        tx.earlier.errors++;
        only.errors--;
      }
      tx.calls.delete(c.callId);
      release(b, c);
    }
  }
}

function addSeg(tx: Transcript, seg: Segment): void {
  tx.segs.push(seg);
  if (tx.segs.length <= MAX_SEGMENTS) return;
  // Too many to draw: merge neighbours, so the lane still covers every call.
  tx.segs.sort((x, y) => x.t0 - y.t0);
  const merged: Segment[] = [];
  for (let i = 0; i < tx.segs.length; i += 2) {
    const a = tx.segs[i]!,
      z = tx.segs[i + 1];
    if (!z) {
      merged.push(a);
      break;
    }
    merged.push({
      at0: a.at0 != null && z.at0 != null ? Math.min(a.at0, z.at0) : null,
      at1: a.at1 != null && z.at1 != null ? Math.max(a.at1, z.at1) : null,
      t0: Math.min(a.t0, z.t0),
      t1: Math.max(a.t1, z.t1),
      n: a.n + z.n,
      errors: a.errors + z.errors,
      server: a.server + z.server,
      // A missing duration adds nothing.
      name: a.name === z.name ? a.name : null,
      ms: (a.ms ?? 0) + (z.ms ?? 0),
    });
  }
  tx.segs = merged;
}

function addTick(tx: Transcript, tick: Tick): void {
  tx.ticks.push(tick);
  if (tx.ticks.length > MAX_TICKS) tx.ticks = tx.ticks.filter((_, i) => i % 2 === 1);
}

/** A new tool call in its turn's group, counted (`at0`, `t0`: when it began, by the run's clock and the page's). */
function addCall(tx: Transcript, ev: LoopEvent, callId: string, turn: number, input: string | null, at0: number | null, t0: number): Call {
  const call: Call = {
    kind: 'call',
    callId: callId,
    tool: str(ev.tool, NAME_CHARS) || '?',
    turn: turn,
    server: ev.server === true,
    input,
    result: null,
    error: null,
    isError: false,
    ms: null,
    at0,
    t0,
    done: false,
    chars: 0,
  };
  group(tx, turn).calls.push(call);
  tx.entries++;
  tx.calls.set(callId, call);
  tx.total.calls++;
  if (call.server) tx.total.server++;
  return call;
}

/** Folds one run event into the specialist's state; true if it was a tool or turn event. */
export function apply(b: TextBudget, tx: Transcript, event: unknown, t: number): boolean {
  if (!event || typeof event !== 'object') return false;
  const ev = event as LoopEvent;
  const type = ev.type,
    turn = turnOf(ev.turn);
  let call: Call | undefined, callId: string, g: TurnGroup | undefined;
  if (type === 'specialist.tool.started') {
    callId = typeof ev.callId === 'string' && ev.callId ? ev.callId : '#' + ++seq;
    if (tx.calls.has(callId) || tx.open.has(callId)) return true;
    call = addCall(tx, ev, callId, turn, str(ev.input), time(ev.at), t);
    tx.open.set(callId, { callId: callId, at0: call.at0, t0: t, name: call.tool, server: call.server, turn: turn, call: call });
    if (tx.open.size > MAX_OPEN) {
      // Never finished (or the done event was lost): forget the oldest.
      const oldest = tx.open.keys().next().value;
      if (oldest !== undefined) tx.open.delete(oldest);
    }
    account(b, call, len(call.input));
    bound(b, tx);
    tx.v++;
    return true;
  }
  if (type === 'specialist.tool.done') {
    callId = typeof ev.callId === 'string' && ev.callId ? ev.callId : '#' + ++seq;
    const at1 = time(ev.at),
      ms = num(ev.ms);
    const open = tx.open.get(callId);
    call = tx.calls.get(callId);
    if (call?.done) return true;
    if (!open && !call) {
      // Its start was not seen: it began ms before it ended.
      call = addCall(tx, ev, callId, turn, null, at1 != null && ms != null ? at1 - ms : null, ms != null ? t - ms : t);
    }
    if (open) tx.open.delete(callId);
    const isError = ev.isError === true;
    if (isError) tx.total.errors++;
    // One of the two is there: the open call, or the call just made for the unseen start.
    const start: OpenCall | Call = open ?? call!;
    addSeg(tx, {
      at0: start.at0,
      at1: at1,
      t0: start.t0,
      t1: t,
      n: 1,
      errors: isError ? 1 : 0,
      server: (open ? open.server : call!.server) ? 1 : 0,
      name: open ? open.name : call!.tool,
      ms: ms,
      error: isError ? str(ev.error, NAME_CHARS) : null,
    });
    if (call) {
      call.done = true;
      call.isError = isError;
      call.ms = ms;
      call.at1 = at1;
      call.t1 = t;
      call.result = str(ev.result);
      call.error = str(ev.error);
      if (isError) {
        g = tx.byTurn.get(call.turn);
        if (g) g.errors++;
      }
      account(b, call, len(call.result) + len(call.error));
    }
    bound(b, tx);
    tx.v++;
    return true;
  }
  if (type === 'specialist.turn') {
    g = group(tx, turn);
    const first = !g.seen;
    if (first) tx.total.turns++;
    g.seen = true;
    g.model = str(ev.model, NAME_CHARS);
    g.stopReason = str(ev.stopReason, NAME_CHARS);
    g.final = ev.final === true;
    g.toolUses = num(ev.toolUses);
    const u = ev.usage && typeof ev.usage === 'object' ? (ev.usage as { inputTokens?: unknown; outputTokens?: unknown }) : null;
    g.usage = u ? { input: num(u.inputTokens), output: num(u.outputTokens) } : null;
    g.at = time(ev.at);
    g.t = t;
    // The same turn again (a replayed batch): its new text replaces the old.
    if (g.chars) {
      b.chars -= g.chars;
      g.chars = 0;
    }
    g.text = str(ev.text);
    account(b, g, len(g.text));
    if (turn > tx.lastTurn) tx.lastTurn = turn;
    if (first) addTick(tx, { at: g.at, t: t, turn: turn, stopReason: g.stopReason });
    bound(b, tx);
    tx.v++;
    return true;
  }
  return false;
}

/** The loop fields of a specialist's outcome, as the page shows them. */
export interface LoopSummary {
  status: string | null;
  turns: number | null;
  stopReason: string | null;
  loopLimit: string | null;
  toolCalls: number | null;
  toolErrors: number | null;
  serverCalls: number | null;
  confidence: number | null;
  sources: number | null;
}

/** The loop fields of an outcome (turns, stop reason, loop limit, tool calls), or null if it has none. */
export function outcomeSummary(outcome: unknown): LoopSummary | null {
  if (!outcome || typeof outcome !== 'object') return null;
  const o = outcome as { status?: unknown; turns?: unknown; stopReason?: unknown; loopLimit?: unknown; toolCalls?: unknown; report?: unknown; sources?: unknown };
  if (o.turns === undefined && o.toolCalls === undefined && o.loopLimit === undefined && o.report === undefined) return null;
  const calls = o.toolCalls;
  let count: number | null = null,
    errors: number | null = null,
    server: number | null = null;
  if (Array.isArray(calls)) {
    const last: unknown = calls[calls.length - 1],
      m = typeof last === 'string' ? /^…(\d+) more$/.exec(last) : null;
    count = m ? calls.length - 1 + Number(m[1]) : calls.length;
    if (!m) {
      let e = 0,
        s = 0;
      calls.forEach((c: { isError?: unknown; server?: unknown } | null) => {
        if (c && c.isError === true) e++;
        if (c && c.server === true) s++;
      });
      errors = e;
      server = s;
    }
  }
  // What it reported with its finding (weighed runs), and the distinct sources behind it.
  const confidence = o.report && typeof o.report === 'object' ? num((o.report as { confidence?: unknown }).confidence) : null;
  const sources = Array.isArray(o.sources) ? o.sources.length : null;
  return {
    status: typeof o.status === 'string' ? o.status : null,
    turns: num(o.turns),
    stopReason: str(o.stopReason, NAME_CHARS),
    loopLimit: str(o.loopLimit, NAME_CHARS),
    toolCalls: count,
    toolErrors: errors,
    serverCalls: server,
    confidence: confidence,
    sources: sources,
  };
}

/**
 * What the lane draws, times as the run's clock (at…) and the page's (t…):
 * finished calls (segs), running ones (open) and turn ends (ticks).
 */
export function marks(tx: Transcript): { segs: Segment[]; open: OpenCall[]; ticks: Tick[] } {
  const open: OpenCall[] = [];
  tx.open.forEach((o) => {
    open.push(o);
  });
  return { segs: tx.segs, open: open, ticks: tx.ticks };
}

/** What {@link segTitle} reads of a segment or of a running call. */
export interface SegmentLike {
  name: string | null;
  server: number | boolean;
  turn?: number;
  n?: number;
  ms?: number | null;
  errors?: number;
  error?: string | null;
}

/** A one-line title for a lane segment (redacted). */
export function segTitle(s: SegmentLike, running: boolean): string {
  const name = s.name != null ? redact(s.name, NAME_CHARS) : null;
  if (running) return (name || 'tool') + ' · ' + (s.server ? 'server' : 'client') + ' tool · turn ' + s.turn + ' · running';
  const many = s.n != null && s.n > 1;
  const head = many ? s.n + ' tool calls' + (name ? ' (' + name + ')' : '') : (name || 'tool') + ' · ' + (s.server ? 'server' : 'client') + ' tool';
  const ms = s.ms != null ? ' · ' + Math.round(s.ms) + ' ms' + (many ? ' in all' : '') : '';
  const err = s.errors ? (many ? ' · ' + s.errors + ' failed' : ' · error' + (s.error ? ': ' + redact(s.error, NAME_CHARS) : '')) : '';
  return head + ms + err;
}

/** A tool call as the transcript shows it. */
export interface CallView {
  tool: string;
  callId: string;
  server: boolean;
  running: boolean;
  done: boolean;
  input: string | null;
  result: string | null;
  error: string | null;
  isError: boolean;
  ms: number | null;
  trimmed: boolean;
}

/** A turn as the transcript shows it. */
export interface TurnView {
  turn: number;
  seen: boolean;
  model: string | null;
  stopReason: string | null;
  final: boolean;
  toolUses: number | null;
  usage: { input: number | null; output: number | null } | null;
  text: string | null;
  trimmed: boolean;
  earlierCalls: number;
  calls: CallView[];
}

/** The transcript to show, and the counts over the whole loop. */
export interface TranscriptView {
  turns: TurnView[];
  earlier: number;
  earlierTurns: number;
  earlierCalls: number;
  earlierErrors: number;
  total: { turns: number; calls: number; errors: number; server: number; running: number };
}

/**
 * The transcript to show: the last maxShown entries (turns and tool calls), each text
 * redacted, with how many came before; and the counts over the whole loop.
 */
export function view(tx: Transcript, maxShown?: number): TranscriptView {
  maxShown = maxShown || 100;
  const turns: TurnView[] = [];
  let shown = 0,
    hidden = 0;
  for (let i = tx.groups.length - 1; i >= 0; i--) {
    const g = tx.groups[i]!;
    if (shown >= maxShown) {
      hidden += 1 + g.calls.length + g.dropped;
      continue;
    }
    const room = maxShown - shown - 1;
    let calls = g.calls,
      skipped = g.dropped;
    if (calls.length > room) {
      skipped += calls.length - room;
      hidden += calls.length - room;
      calls = calls.slice(calls.length - room);
    }
    shown += 1 + calls.length;
    turns.unshift({
      turn: g.turn,
      seen: g.seen,
      model: g.model != null ? redact(g.model, NAME_CHARS) : null,
      stopReason: g.stopReason != null ? redact(g.stopReason, NAME_CHARS) : null,
      final: g.final,
      toolUses: g.toolUses,
      usage: g.usage,
      text: g.text != null ? redact(g.text) : null,
      trimmed: !!g.trimmed,
      earlierCalls: skipped,
      calls: calls.map((c) => ({
        tool: redact(c.tool, NAME_CHARS),
        callId: redact(c.callId, NAME_CHARS),
        server: c.server,
        running: !c.done && tx.open.has(c.callId),
        done: c.done,
        input: c.input != null ? redact(c.input) : null,
        result: c.result != null ? redact(c.result) : null,
        error: c.error != null ? redact(c.error) : null,
        isError: c.isError,
        ms: c.ms,
        trimmed: !!c.trimmed,
      })),
    });
  }
  const dropped = tx.earlier.turns + tx.earlier.calls;
  return {
    turns: turns,
    earlier: dropped + hidden,
    earlierTurns: tx.earlier.turns,
    earlierCalls: tx.earlier.calls,
    earlierErrors: tx.earlier.errors,
    total: { turns: tx.total.turns, calls: tx.total.calls, errors: tx.total.errors, server: tx.total.server, running: tx.open.size },
  };
}

/** The fold's bounds (see above). */
export const limits = { entries: MAX_ENTRIES, segments: MAX_SEGMENTS, ticks: MAX_TICKS, open: MAX_OPEN, chars: MAX_CHARS };
