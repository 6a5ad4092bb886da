/**
 * The inspector page's fold of a specialist's tool-use loop: its `specialist.tool.started`,
 * `specialist.tool.done` and `specialist.turn` run events (read out of the lead's
 * `fanOut.progress` batches) become tool-call segments and turn ticks for its lane and a
 * transcript for the details pane.
 *
 * Plain browser JavaScript kept as a string (like `pageScript.ts`, which embeds it), written as
 * one expression that evaluates to the fold's functions, so tests can run it outside the page:
 *
 * @example
 * const TX = new Function(`return ${TRANSCRIPT_JS}`)();
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
 * Everything shown passes {@link TRANSCRIPT_JS}'s `redact`: the same secret-value patterns as
 * `redactSecrets` (src/redact.ts; a test checks they agree), and in JSON text, string values
 * under secret-looking keys (`isSecretKey`'s rule, taken from wire.ts). The wire redacts these
 * strings already; this is for whatever reaches the page otherwise.
 *
 * Written without template literals, so it can live inside one.
 */
import { SECRET_KEY_SOURCE } from './wire.ts';

export const TRANSCRIPT_JS = String.raw`(function () {
  'use strict';
  var MAX_ENTRIES = 200, MAX_SEGMENTS = 128, MAX_TICKS = 128, MAX_OPEN = 64, MAX_CHARS = 16000000;
  // Events cap their texts at 1,000 characters (plus a marker); anything longer was not cut by fanfold.
  var FIELD_CHARS = 1000, FIELD_SLACK = 24, NAME_CHARS = 200;
  // A copy of redactSecrets' patterns (src/redact.ts): the page has no imports.
  var SECRET_VALUE = /sk-ant-[A-Za-z0-9_-]+|\bsk-[A-Za-z0-9_-]{20,}|\bAIza[A-Za-z0-9_-]{30,}|\bgh[pousr]_[A-Za-z0-9]{30,}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}|\bBasic\s+(?=[A-Za-z]*(?:[0-9+/=]|[a-z][A-Z]))[A-Za-z0-9+/]{8,}={0,2}/g;
  var SECRET_KEY = new RegExp(${JSON.stringify(SECRET_KEY_SOURCE)});
  // "key": "value" in JSON text (a value cut short by a marker may lack its closing quote).
  var JSON_PAIR = /"((?:[^"\\\n]|\\.){1,200})"(\s*:\s*)"((?:[^"\\]|\\.)*)("|$)/g;
  var CUT = /…\(\+\d+ chars\)$/;
  var seq = 0;

  function isSecretKey(key) { return SECRET_KEY.test(String(key).toLowerCase().replace(/[-_.\s]/g, '')); }

  /** Text of any value, secrets redacted, cut at max characters with a marker. */
  function redact(value, max) {
    if (value == null) return '';
    var text;
    if (typeof value === 'string') text = value;
    else { try { text = JSON.stringify(value); } catch (e) { text = String(value); } if (text == null) text = String(value); }
    text = text.replace(SECRET_VALUE, '[redacted]');
    if (text.indexOf('"') !== -1) {
      text = text.replace(JSON_PAIR, function (all, key, sep, _value, close) {
        return isSecretKey(key) ? '"' + key + '"' + sep + '"[redacted]' + close : all;
      });
    }
    max = max || FIELD_CHARS;
    if (text.length <= max || (CUT.test(text) && text.length <= max + FIELD_SLACK)) return text;
    return text.slice(0, max) + '…(+' + (text.length - max) + ' chars)';
  }

  function str(v, max) {
    if (typeof v !== 'string') return v == null ? null : redact(v, max);
    return v.length > (max || FIELD_CHARS) + FIELD_SLACK ? v.slice(0, max || FIELD_CHARS) + '…(+' + (v.length - (max || FIELD_CHARS)) + ' chars)' : v;
  }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  /** A time of the run's clock, or null (the page maps it with its clock skew). */
  function time(v) { return typeof v === 'number' && isFinite(v) && Math.abs(v) <= 4102444800000 ? v : null; }
  function turnOf(v) { return typeof v === 'number' && v >= 0 && v <= 1e9 ? Math.floor(v) : 0; }
  function len(v) { return typeof v === 'string' ? v.length : 0; }

  /** The text budget shared by every specialist of a page. */
  function budget(maxChars) { return { chars: 0, max: maxChars || MAX_CHARS, queue: [], head: 0, dead: 0, trimmed: 0 }; }

  function create() {
    return { v: 0, groups: [], byTurn: new Map(), calls: new Map(), open: new Map(), entries: 0,
      earlier: { turns: 0, calls: 0, errors: 0 }, total: { turns: 0, calls: 0, errors: 0, server: 0 },
      segs: [], ticks: [], lastTurn: 0 };
  }

  // ---------- the text budget ----------
  function account(b, e, chars) {
    if (!chars) return;
    e.chars = (e.chars || 0) + chars;
    b.chars += chars;
    if (!e.queued) { e.queued = true; b.queue.push(e); }
    while (b.chars > b.max && b.head < b.queue.length) {
      var old = b.queue[b.head];
      b.queue[b.head++] = null;
      old.queued = false;
      if (old.gone) { b.dead--; continue; }
      strip(old);
      b.chars -= old.chars; old.chars = 0; old.trimmed = true; b.trimmed++;
    }
    if (b.head > 1024 && b.head * 2 > b.queue.length) { b.queue = b.queue.slice(b.head); b.head = 0; }
  }
  function strip(e) { e.text = null; e.input = null; e.result = null; if (e.error && e.error.length > 200) e.error = e.error.slice(0, 200) + '…'; }
  /** An entry left the transcript: its text leaves the budget (and the queue, soon). */
  function release(b, e) {
    b.chars -= e.chars || 0; e.chars = 0; strip(e); e.error = null;
    if (e.queued && !e.gone) { e.gone = true; b.dead++; }
    if (b.dead > 1024 && b.dead * 2 > b.queue.length - b.head) {
      b.queue = b.queue.slice(b.head).filter(function (x) { if (x.gone) x.queued = false; return !x.gone; });
      b.head = 0; b.dead = 0;
    }
  }

  // ---------- the transcript ----------
  function group(tx, turn) {
    var g = tx.byTurn.get(turn);
    if (g) return g;
    g = { kind: 'turn', turn: turn, seen: false, model: null, stopReason: null, text: null, toolUses: null, final: false, usage: null, at: null, t: null, calls: [], dropped: 0, errors: 0, chars: 0 };
    tx.byTurn.set(turn, g);
    var i = tx.groups.length;
    while (i > 0 && tx.groups[i - 1].turn > turn) i--;
    tx.groups.splice(i, 0, g);
    tx.entries++;
    return g;
  }

  function bound(b, tx) {
    while (tx.entries > MAX_ENTRIES) {
      if (tx.groups.length > 1) {
        var g = tx.groups.shift();
        tx.byTurn.delete(g.turn);
        tx.entries -= 1 + g.calls.length;
        if (g.seen) tx.earlier.turns++;
        // Calls dropped from it earlier were counted then.
        tx.earlier.calls += g.calls.length;
        tx.earlier.errors += g.errors;
        g.calls.forEach(function (c) { tx.calls.delete(c.callId); release(b, c); });
        release(b, g);
      } else {
        var only = tx.groups[0], c = only.calls.shift();
        if (!c) break;
        only.dropped++; tx.entries--;
        tx.earlier.calls++;
        if (c.isError) { tx.earlier.errors++; only.errors--; }
        tx.calls.delete(c.callId);
        release(b, c);
      }
    }
  }

  function addSeg(tx, seg) {
    tx.segs.push(seg);
    if (tx.segs.length <= MAX_SEGMENTS) return;
    // Too many to draw: merge neighbours, so the lane still covers every call.
    tx.segs.sort(function (x, y) { return x.t0 - y.t0; });
    var merged = [];
    for (var i = 0; i < tx.segs.length; i += 2) {
      var a = tx.segs[i], z = tx.segs[i + 1];
      if (!z) { merged.push(a); break; }
      merged.push({ at0: a.at0 != null && z.at0 != null ? Math.min(a.at0, z.at0) : null, at1: a.at1 != null && z.at1 != null ? Math.max(a.at1, z.at1) : null,
        t0: Math.min(a.t0, z.t0), t1: Math.max(a.t1, z.t1), n: a.n + z.n, errors: a.errors + z.errors, server: a.server + z.server,
        name: a.name === z.name ? a.name : null, ms: a.ms + z.ms });
    }
    tx.segs = merged;
  }

  function addTick(tx, tick) {
    tx.ticks.push(tick);
    if (tx.ticks.length > MAX_TICKS) tx.ticks = tx.ticks.filter(function (_, i) { return i % 2 === 1; });
  }

  /** Folds one run event into the specialist's state; true if it was a tool or turn event. */
  function apply(b, tx, ev, t) {
    if (!ev || typeof ev !== 'object') return false;
    var type = ev.type, call, turn = turnOf(ev.turn), callId, g, open;
    if (type === 'specialist.tool.started') {
      callId = typeof ev.callId === 'string' && ev.callId ? ev.callId : '#' + (++seq);
      if (tx.calls.has(callId) || tx.open.has(callId)) return true;
      g = group(tx, turn);
      call = { kind: 'call', callId: callId, tool: str(ev.tool, NAME_CHARS) || '?', turn: turn, server: ev.server === true, input: str(ev.input),
        result: null, error: null, isError: false, ms: null, at0: time(ev.at), t0: t, done: false, chars: 0 };
      g.calls.push(call); tx.entries++;
      tx.calls.set(callId, call);
      tx.total.calls++;
      if (call.server) tx.total.server++;
      tx.open.set(callId, { callId: callId, at0: call.at0, t0: t, name: call.tool, server: call.server, turn: turn, call: call });
      if (tx.open.size > MAX_OPEN) {
        // Never finished (or the done event was lost): forget the oldest.
        var oldest = tx.open.keys().next().value;
        tx.open.delete(oldest);
      }
      account(b, call, len(call.input));
      bound(b, tx);
      tx.v++;
      return true;
    }
    if (type === 'specialist.tool.done') {
      callId = typeof ev.callId === 'string' && ev.callId ? ev.callId : '#' + (++seq);
      var at1 = time(ev.at), ms = num(ev.ms);
      open = tx.open.get(callId);
      call = tx.calls.get(callId);
      if (call && call.done) return true;
      if (!open && !call) {
        // Its start was not seen: it began ms before it ended.
        g = group(tx, turn);
        call = { kind: 'call', callId: callId, tool: str(ev.tool, NAME_CHARS) || '?', turn: turn, server: ev.server === true, input: null,
          result: null, error: null, isError: false, ms: null, at0: at1 != null && ms != null ? at1 - ms : null, t0: ms != null ? t - ms : t, done: false, chars: 0 };
        g.calls.push(call); tx.entries++;
        tx.calls.set(callId, call);
        tx.total.calls++;
        if (call.server) tx.total.server++;
      }
      if (open) tx.open.delete(callId);
      var isError = ev.isError === true;
      if (isError) tx.total.errors++;
      var start = open || call;
      addSeg(tx, { at0: start.at0, at1: at1, t0: start.t0, t1: t, n: 1, errors: isError ? 1 : 0, server: (open ? open.server : call.server) ? 1 : 0,
        name: open ? open.name : call.tool, ms: ms, error: isError ? str(ev.error, NAME_CHARS) : null });
      if (call) {
        call.done = true; call.isError = isError; call.ms = ms; call.at1 = at1; call.t1 = t;
        call.result = str(ev.result); call.error = str(ev.error);
        if (isError) { g = tx.byTurn.get(call.turn); if (g) g.errors++; }
        account(b, call, len(call.result) + len(call.error));
      }
      bound(b, tx);
      tx.v++;
      return true;
    }
    if (type === 'specialist.turn') {
      g = group(tx, turn);
      var first = !g.seen;
      if (first) tx.total.turns++;
      g.seen = true;
      g.model = str(ev.model, NAME_CHARS); g.stopReason = str(ev.stopReason, NAME_CHARS); g.final = ev.final === true;
      g.toolUses = num(ev.toolUses);
      var u = ev.usage && typeof ev.usage === 'object' ? ev.usage : null;
      g.usage = u ? { input: num(u.inputTokens), output: num(u.outputTokens) } : null;
      g.at = time(ev.at); g.t = t;
      // The same turn again (a replayed batch): its new text replaces the old.
      if (g.chars) { b.chars -= g.chars; g.chars = 0; }
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

  /** The loop fields of an outcome (turns, stop reason, loop limit, tool calls), or null if it has none. */
  function outcomeSummary(o) {
    if (!o || typeof o !== 'object') return null;
    if (o.turns === undefined && o.toolCalls === undefined && o.loopLimit === undefined && o.report === undefined) return null;
    var calls = o.toolCalls, count = null, errors = null, server = null;
    if (Array.isArray(calls)) {
      var last = calls[calls.length - 1], m = typeof last === 'string' ? /^…(\d+) more$/.exec(last) : null;
      count = m ? calls.length - 1 + Number(m[1]) : calls.length;
      if (!m) {
        errors = 0; server = 0;
        calls.forEach(function (c) { if (c && c.isError === true) errors++; if (c && c.server === true) server++; });
      }
    }
    // What it reported with its finding (weighed runs), and the distinct sources behind it.
    var confidence = o.report && typeof o.report === 'object' ? num(o.report.confidence) : null;
    var sources = Array.isArray(o.sources) ? o.sources.length : null;
    return { status: typeof o.status === 'string' ? o.status : null, turns: num(o.turns), stopReason: str(o.stopReason, NAME_CHARS),
      loopLimit: str(o.loopLimit, NAME_CHARS), toolCalls: count, toolErrors: errors, serverCalls: server, confidence: confidence, sources: sources };
  }

  /**
   * What the lane draws, times as the run's clock (at…) and the page's (t…):
   * finished calls (segs), running ones (open) and turn ends (ticks).
   */
  function marks(tx) {
    var open = [];
    tx.open.forEach(function (o) { open.push(o); });
    return { segs: tx.segs, open: open, ticks: tx.ticks };
  }

  /** A one-line title for a lane segment (redacted). */
  function segTitle(s, running) {
    var name = s.name != null ? redact(s.name, NAME_CHARS) : null;
    if (running) return (name || 'tool') + ' · ' + (s.server ? 'server' : 'client') + ' tool · turn ' + s.turn + ' · running';
    var head = s.n > 1 ? s.n + ' tool calls' + (name ? ' (' + name + ')' : '') : (name || 'tool') + ' · ' + (s.server ? 'server' : 'client') + ' tool';
    var ms = s.ms != null ? ' · ' + Math.round(s.ms) + ' ms' + (s.n > 1 ? ' in all' : '') : '';
    var err = s.errors ? (s.n > 1 ? ' · ' + s.errors + ' failed' : ' · error' + (s.error ? ': ' + redact(s.error, NAME_CHARS) : '')) : '';
    return head + ms + err;
  }

  /**
   * The transcript to show: the last maxShown entries (turns and tool calls), each text
   * redacted, with how many came before; and the counts over the whole loop.
   */
  function view(tx, maxShown) {
    maxShown = maxShown || 100;
    var turns = [], shown = 0, hidden = 0;
    for (var i = tx.groups.length - 1; i >= 0; i--) {
      var g = tx.groups[i];
      if (shown >= maxShown) { hidden += 1 + g.calls.length + g.dropped; continue; }
      var room = maxShown - shown - 1, calls = g.calls, skipped = g.dropped;
      if (calls.length > room) { skipped += calls.length - room; hidden += calls.length - room; calls = calls.slice(calls.length - room); }
      shown += 1 + calls.length;
      turns.unshift({
        turn: g.turn, seen: g.seen, model: g.model != null ? redact(g.model, NAME_CHARS) : null, stopReason: g.stopReason != null ? redact(g.stopReason, NAME_CHARS) : null,
        final: g.final, toolUses: g.toolUses, usage: g.usage, text: g.text != null ? redact(g.text) : null, trimmed: !!g.trimmed, earlierCalls: skipped,
        calls: calls.map(function (c) {
          return { tool: redact(c.tool, NAME_CHARS), callId: redact(c.callId, NAME_CHARS), server: c.server, running: !c.done && tx.open.has(c.callId), done: c.done,
            input: c.input != null ? redact(c.input) : null, result: c.result != null ? redact(c.result) : null, error: c.error != null ? redact(c.error) : null,
            isError: c.isError, ms: c.ms, trimmed: !!c.trimmed };
        })
      });
    }
    var dropped = tx.earlier.turns + tx.earlier.calls;
    return { turns: turns, earlier: dropped + hidden, earlierTurns: tx.earlier.turns, earlierCalls: tx.earlier.calls, earlierErrors: tx.earlier.errors,
      total: { turns: tx.total.turns, calls: tx.total.calls, errors: tx.total.errors, server: tx.total.server, running: tx.open.size } };
  }

  return { budget: budget, create: create, apply: apply, outcomeSummary: outcomeSummary, marks: marks, segTitle: segTitle, view: view,
    redact: redact, isSecretKey: isSecretKey,
    limits: { entries: MAX_ENTRIES, segments: MAX_SEGMENTS, ticks: MAX_TICKS, open: MAX_OPEN, chars: MAX_CHARS } };
})()`;
