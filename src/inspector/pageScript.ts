/**
 * The inspector page's script: plain browser JavaScript (no bundler, no dependencies), kept as
 * a string so `tsc` ships it. It connects to the server's `/ui` websocket, folds the wire
 * messages into a model of actors, and re-renders at most once per animation frame. Long lists
 * (actors, lanes, events) are virtualised: only the rows in view are in the DOM.
 *
 * A specialist's tool calls and turns are folded by `pageTranscript.ts` (embedded here as `TX`).
 *
 * Written without template literals, so it can live inside one.
 */
import { TRANSCRIPT_JS } from './pageTranscript.ts';

export const APP_JS = String.raw`(function () {
  'use strict';
  // The fold of specialists' tool calls and turns (pageTranscript.ts).
  var TX = ${TRANSCRIPT_JS};
  // Transcript entries (turns and tool calls) shown for the selected specialist, at most.
  var TRANSCRIPT_SHOWN = 100;
  // Run events about one specialist's loop, as the lead's fan-out batches them.
  var LOOP_EVENTS = { 'specialist.tool.started': 1, 'specialist.tool.done': 1, 'specialist.turn': 1 };
  var ROW_H = 20, LANE_H = 20, LOG_H = 18;
  var OUTCOME_ORDER = { rejected: 0, timedOut: 1, skipped: 2, stopped: 3, backingOff: 4, calling: 5, active: 6, fulfilled: 7 };
  // Wall-clock times outside 2000..2100 (ms since the epoch) are not trusted: one absurd
  // createdAt would stretch the time axis to Infinity.
  var WALL_MIN = 946684800000, WALL_MAX = 4102444800000;
  // At most this many ticks on the time axis, whatever its span.
  var MAX_TICKS = 50;

  var S = fresh();
  var stats = { renders: 0, lastRenderMs: 0, maxRenderMs: 0, totalRenderMs: 0, batches: 0, messages: 0, ingestMs: 0, connectedAt: 0, firstDataAt: 0, lastBatchAt: 0, parts: {} };
  var cache = { key: '', rows: [], lanes: null, log: [], logKey: '', chartKey: '', detailsKey: '', transcriptKey: '', optionsKey: '', rootsKey: '' };

  function fresh() {
    return { actors: new Map(), alias: new Map(), gen: 0, roots: [], log: [], version: 0, maxT: 0, lastT: 0, badTimes: 0,
      rootSel: null, follow: true, selActor: null, logActor: '', logText: '', collapsed: new Set(), laneSort: 'order',
      txBudget: TX.budget() };
  }

  // ---------- model ----------
  function newActor(key, sid, name, parentKey, t) {
    return { key: key, sid: sid, name: name, parent: parentKey, root: key, children: [], byName: new Map(),
      def: null, isMachine: false, kind: 'actor', status: 'active', value: undefined, valueStr: '', history: [], snap: null,
      createdT: t, endT: null, lastT: t, events: 0, superseded: false, virtual: false,
      spec: null, phase: null, calls: 0, model: null, runStart: null, runEnd: null, outcome: null, attemptsFinal: null,
      error: null, usage: null, retries: [], streamed: 0, ctx: null, result: null, fan: null,
      turn: null, tx: null, loopSum: null };
  }

  function parseDef(d) {
    if (typeof d === 'string') { try { d = JSON.parse(d); } catch (e) { return null; } }
    return d && typeof d === 'object' ? d : null;
  }

  function arrLen(a) {
    if (!Array.isArray(a)) return 0;
    var last = a[a.length - 1];
    if (typeof last === 'string') { var m = /^…(\d+) more$/.exec(last); if (m) return a.length - 1 + Number(m[1]); }
    return a.length;
  }

  function stateString(v) {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      var parts = [];
      for (var k in v) { var sub = stateString(v[k]); parts.push(sub ? k + '.' + sub : k); }
      return parts.length === 1 ? parts[0] : '{' + parts.join(', ') + '}';
    }
    return '';
  }

  function errText(e) {
    if (!e) return '';
    if (typeof e === 'string') return e;
    var msg = e.message != null ? String(e.message) : JSON.stringify(e);
    return e.kind ? e.kind + ': ' + msg : msg;
  }

  /** A time of the run's own clock (outcomes, progress): any finite number within the wall-clock
   * range's magnitude (a simulated clock starts at 0), else null. */
  function runTime(x) {
    return typeof x === 'number' && isFinite(x) && Math.abs(x) <= WALL_MAX ? x : null;
  }

  /** When a message was sent: its createdAt if sane, else the previous message's time, else now. */
  function messageTime(createdAt) {
    var t = typeof createdAt === 'number' || (typeof createdAt === 'string' && createdAt.trim() !== '') ? Number(createdAt) : NaN;
    if (t >= WALL_MIN && t <= WALL_MAX) return t;
    S.badTimes++;
    return S.lastT || Date.now();
  }

  function ingest(m) {
    if (!m || typeof m !== 'object' || typeof m.type !== 'string' || m.sessionId == null) return;
    var t = messageTime(m.createdAt);
    S.lastT = t;
    if (t > S.maxT) S.maxT = t;
    stats.messages++;
    if (m.type === '@xstate.actor') onActor(m, t);
    else if (m.type === '@xstate.snapshot') onSnapshot(m, t);
    else if (m.type === '@xstate.event') onEvent(m, t);
    S.version++;
  }

  function actorFor(sid, t) {
    var key = S.alias.get(sid);
    var a = key ? S.actors.get(key) : null;
    if (a) return a;
    // Messages for an actor whose creation was not seen (the inspector connected late).
    a = newActor(String(sid), String(sid), String(sid), null, t);
    S.actors.set(a.key, a); S.alias.set(sid, a.key); S.roots.push(a.key);
    if (S.follow) S.rootSel = a.key;
    return a;
  }

  function onActor(m, t) {
    var key = String(m.sessionId);
    if (S.actors.has(key)) { S.gen++; key = m.sessionId + '#' + S.gen; }
    S.alias.set(m.sessionId, key);
    var parentKey = m.parentId != null ? S.alias.get(m.parentId) : null;
    var parent = parentKey ? S.actors.get(parentKey) : null;
    var a = newActor(key, String(m.sessionId), String(m.name != null ? m.name : m.sessionId), parent ? parent.key : null, t);
    a.def = parseDef(m.definition);
    a.isMachine = !!(a.def && a.def.states);
    S.actors.set(key, a);
    if (parent) {
      a.root = parent.root;
      var prevKey = parent.byName.get(a.name);
      var prev = prevKey ? S.actors.get(prevKey) : null;
      if (prev && prev.virtual) {
        ['runStart', 'model', 'runEnd', 'outcome', 'attemptsFinal', 'error', 'usage', 'tx', 'loopSum'].forEach(function (f) { if (a[f] == null) a[f] = prev[f]; });
        a.retries = prev.retries; a.streamed = prev.streamed;
        parent.children = parent.children.filter(function (k) { return k !== prev.key; });
        S.actors.delete(prev.key);
      } else if (prev) {
        prev.superseded = true;
      }
      parent.children.push(key);
      parent.byName.set(a.name, key);
    } else {
      S.roots.push(key);
      if (S.follow) { S.rootSel = key; S.selActor = null; S.logActor = ''; }
    }
    // Senders read this snapshot when they send (@statelyai/inspect on a later tick), so it may be
    // newer than the events that follow: it sets the current state, not the state history.
    applySnap(a, m.snapshot, t, null, true);
    addLog(a, t, 'created', 'created', null, a.isMachine ? 'machine' + (a.def && a.def.id ? ' #' + a.def.id : '') : a.kind);
  }

  function onSnapshot(m, t) {
    var a = actorFor(m.sessionId, t);
    var ev = m.event && typeof m.event === 'object' ? m.event : null;
    applySnap(a, m.snapshot, t, ev ? ev.type : null);
  }

  function applySnap(a, snap, t, evType, fromActorMessage) {
    if (!snap || typeof snap !== 'object') return;
    a.snap = snap; a.lastT = t;
    var st = typeof snap.status === 'string' ? snap.status : 'active';
    a.status = st;
    if (st !== 'active' && a.endT == null) a.endT = t;
    if (a.isMachine && snap.value !== undefined) {
      var vs = stateString(snap.value);
      if (fromActorMessage) {
        a.valueStr = vs; a.value = snap.value;
      } else if (vs !== a.valueStr || !a.history.length) {
        a.valueStr = vs; a.value = snap.value;
        a.history.push({ t: t, v: vs, ev: evType });
        addLog(a, t, 'state', '→ ' + vs, null, evType ? 'after ' + evType : '');
      }
    }
    var input = snap.input, prog = snap.progress, ctx = snap.context;
    if (prog && input && input.spec && typeof input.spec === 'object') {
      a.kind = (a.name === 'synthesizer' || input.spec.id === 'synthesizer') ? 'synthesizer' : 'specialist';
      a.spec = { id: input.spec.id, angle: input.spec.angle, kind: input.spec.kind };
      a.phase = prog.phase;
      a.calls = prog.phase === 'backingOff' ? prog.attempt - 1 : prog.attempt;
      if (typeof prog.turn === 'number' && isFinite(prog.turn)) a.turn = prog.turn;
      if (a.runStart == null && runTime(prog.startedAt) != null) a.runStart = prog.startedAt;
      if (prog.usage && typeof prog.usage === 'object') a.usage = prog.usage;
      if (prog.attempt > 1 && prog.lastError) addRetry(a, prog.attempt, { t: t, error: prog.lastError });
      if (st === 'done' && snap.output && snap.output.status) applyOutcome(a, snap.output);
    } else if (snap.nextIndex !== undefined && snap.outcomes !== undefined) {
      a.kind = 'fanOut';
      a.fan = { running: snap.running, fulfilled: snap.fulfilled, unsuccessful: snap.unsuccessful, total: arrLen(snap.outcomes), stop: snap.stop || null };
    } else if (input && typeof input === 'object' && input.deadlineAt !== undefined && !a.isMachine) {
      a.kind = 'timer';
    } else if (a.isMachine && ctx && typeof ctx === 'object' && ctx.input && ctx.outcomes !== undefined && ctx.startedAt !== undefined) {
      a.kind = 'lead';
      a.ctx = { startedAt: ctx.startedAt, deadlineAt: ctx.deadlineAt, status: ctx.status, error: ctx.error, stop: ctx.stop,
        total: arrLen(ctx.outcomes), settled: ctx.settled, fulfilled: ctx.fulfilled };
      if (a.runStart == null && runTime(ctx.startedAt) != null) a.runStart = ctx.startedAt;
      if (ctx.error) a.error = ctx.error;
      if (snap.output && typeof snap.output === 'object') {
        a.result = snap.output;
        if (runTime(snap.output.endedAt) != null) a.runEnd = snap.output.endedAt;
      }
    } else if (a.isMachine) {
      a.kind = 'machine';
    }
    if (st === 'error' && snap.error) a.error = snap.error;
  }

  function addRetry(a, attempt, info) {
    for (var i = 0; i < a.retries.length; i++) {
      if (a.retries[i].attempt === attempt) {
        var r = a.retries[i];
        if (info.at != null) r.at = info.at;
        if (info.delayMs != null) r.delayMs = info.delayMs;
        if (info.reason) r.reason = info.reason;
        if (info.error) r.error = info.error;
        return;
      }
    }
    a.retries.push({ attempt: attempt, t: info.t, at: info.at, error: info.error, delayMs: info.delayMs, reason: info.reason });
    a.retries.sort(function (x, y) { return x.attempt - y.attempt; });
  }

  function applyOutcome(a, o) {
    if (!o || typeof o !== 'object') return;
    a.outcome = o.status;
    if (typeof o.attempts === 'number') a.attemptsFinal = o.attempts;
    a.error = o.error || null;
    if (o.usage && typeof o.usage === 'object') a.usage = o.usage;
    if (runTime(o.startedAt) != null) a.runStart = o.startedAt;
    if (runTime(o.endedAt) != null) a.runEnd = o.endedAt;
    if (o.model) a.model = o.model;
    var loop = TX.outcomeSummary(o);
    if (loop) a.loopSum = loop;
  }

  function onEvent(m, t) {
    var a = actorFor(m.sessionId, t);
    var ev = m.event && typeof m.event === 'object' ? m.event : { type: String(m.event) };
    var type = String(ev.type);
    a.events++;
    var srcKey = m.sourceId != null ? S.alias.get(m.sourceId) : null;
    addLog(a, t, 'event', type, srcKey || null, detailOf(ev));
    if (type === 'fanOut.progress' && Array.isArray(ev.events)) {
      for (var i = 0; i < ev.events.length; i++) applyRunEvent(a, ev.events[i], t);
    } else if ((type === 'specialist.started' || type === 'specialist.retrying' || LOOP_EVENTS[type] === 1) && typeof ev.id === 'string' && a.byName.has(ev.id)) {
      // The synthesizer reports to the lead directly.
      var target = S.actors.get(a.byName.get(ev.id));
      if (target) applyRunEventTo(target, ev, t);
    }
  }

  function applyRunEvent(lead, re, t) {
    if (!re || typeof re !== 'object' || typeof re.id !== 'string') return;
    var fanKey = lead.byName.get('fanOut');
    var container = (fanKey && S.actors.get(fanKey)) || lead;
    var key = container.byName.get(re.id);
    var target = key ? S.actors.get(key) : null;
    if (!target) {
      // A specialist that never got an actor (it was still queued when the run stopped).
      var vkey = container.key + '/' + re.id;
      target = newActor(vkey, vkey, re.id, container.key, t);
      target.virtual = true; target.kind = 'specialist'; target.root = container.root; target.status = 'done';
      S.actors.set(vkey, target);
      container.children.push(vkey);
      container.byName.set(re.id, vkey);
    }
    applyRunEventTo(target, re, t);
  }

  function applyRunEventTo(a, re, t) {
    switch (re.type) {
      case 'specialist.started':
        if (runTime(re.at) != null && a.runStart == null) a.runStart = re.at;
        if (re.model) a.model = re.model;
        break;
      case 'specialist.token':
        a.streamed += typeof re.text === 'string' ? re.text.length : 0;
        break;
      case 'specialist.retrying':
        addRetry(a, re.attempt, { t: t, at: runTime(re.at), error: re.error, delayMs: re.delayMs, reason: re.reason });
        break;
      case 'specialist.done': case 'specialist.failed': case 'specialist.timedOut': case 'specialist.skipped':
        applyOutcome(a, re.outcome);
        break;
      case 'specialist.tool.started': case 'specialist.tool.done': case 'specialist.turn':
        if (!a.tx) a.tx = TX.create();
        TX.apply(S.txBudget, a.tx, re, t);
        break;
    }
  }

  function detailOf(ev) {
    var type = String(ev.type);
    if (type === 'fanOut.progress' && Array.isArray(ev.events)) {
      var counts = {}, order = [];
      ev.events.forEach(function (e) {
        var k = e && e.type ? String(e.type).replace(/^specialist\./, '') : '?';
        if (!counts[k]) { counts[k] = 0; order.push(k); }
        counts[k]++;
      });
      var parts = order.map(function (k) { return k + ' ×' + counts[k]; });
      var ids = ev.events.filter(function (e) { return e && e.id; }).slice(0, 4).map(function (e) { return e.id; });
      return parts.join(', ') + (ids.length ? ' (' + ids.join(', ') + (ev.events.length > 4 ? ', …' : '') + ')' : '') + (ev.allStarted ? ' · all started' : '');
    }
    if (type.indexOf('xstate.done.actor.') === 0) {
      var out = ev.output;
      if (out && typeof out === 'object') return 'output: ' + (out.status || 'done') + (out.error ? ' — ' + errText(out.error) : '');
      return 'done';
    }
    if (type.indexOf('xstate.error.actor.') === 0) return 'error: ' + errText(ev.error);
    if (ev.error) return errText(ev.error);
    if (typeof ev.id === 'string') return ev.id;
    if (typeof ev.reason === 'string') return ev.reason;
    return '';
  }

  function addLog(a, t, kind, type, srcKey, detail) {
    S.log.push({ t: t, key: a.key, root: a.root, kind: kind, type: type, src: srcKey, detail: detail || '' });
  }

  // ---------- derived views ----------
  function rootOf() {
    var key = S.rootSel;
    return key ? S.actors.get(key) || null : null;
  }

  function skewOf(root) {
    // Outcome times come from the run's clock; if it is not wall time (a simulated clock), map it onto the root's start.
    if (!root || typeof root.runStart !== 'number') return 0;
    var d = root.createdT - root.runStart;
    return Math.abs(d) < 60000 ? 0 : d;
  }

  function nowFor(root) {
    if (root.status !== 'active') {
      if (root.runEnd != null) return root.runEnd + skewOf(root);
      return root.endT != null ? root.endT : S.maxT;
    }
    var n = Date.now();
    return n - S.maxT < 60000 ? Math.max(n, S.maxT) : S.maxT;
  }

  function spanOf(a, skew, now) {
    var start = a.runStart != null ? a.runStart + skew : (a.virtual ? null : a.createdT);
    var end;
    if (a.runEnd != null && (a.outcome != null || a.status !== 'active')) end = a.runEnd + skew;
    else if (a.endT != null) end = a.endT;
    else end = now;
    if (start != null && end < start) end = start;
    return { start: start, end: start == null ? null : end };
  }

  function statusOf(a) {
    if (a.outcome) return a.outcome;
    if (a.kind === 'lead' || a.kind === 'machine') {
      if (a.status === 'active') return 'active';
      if (a.status === 'done') { var v = a.valueStr; return v === 'done' ? 'fulfilled' : (v === 'failed' ? 'rejected' : v === 'cancelled' ? 'skipped' : v === 'partial' ? 'fulfilled' : 'fulfilled'); }
      return a.status === 'error' ? 'rejected' : 'stopped';
    }
    if (a.status === 'active') return a.phase || 'active';
    if (a.status === 'done') return 'fulfilled';
    return a.status === 'error' ? 'rejected' : a.status;
  }

  function attemptsOf(a) {
    if (a.attemptsFinal != null) return a.attemptsFinal;
    if (a.kind === 'specialist' || a.kind === 'synthesizer') return a.calls;
    if (a.result && typeof a.result.modelCalls === 'number') return a.result.modelCalls;
    return null;
  }

  function tokensOf(a) {
    var u = a.usage || (a.result && a.result.usage);
    if (u && typeof u === 'object' && (u.inputTokens || u.outputTokens)) return (u.inputTokens || 0) + ' / ' + (u.outputTokens || 0);
    if (a.streamed) return '~' + a.streamed + ' chars';
    return '';
  }

  function stateText(a) {
    switch (a.kind) {
      case 'lead': case 'machine':
        return (a.valueStr || a.status) + (a.status === 'error' ? ' (error)' : a.status === 'stopped' ? ' (stopped)' : '');
      case 'fanOut':
        if (!a.fan) return a.status;
        return (a.status === 'active' ? 'running ' + a.fan.running + ' · ' : a.status + ' · ') + (a.fan.fulfilled + a.fan.unsuccessful) + '/' + a.fan.total + ' settled';
      case 'specialist': case 'synthesizer':
        return a.outcome || (a.status === 'active' ? a.phase || 'active' : a.status);
      case 'timer':
        return a.status === 'active' ? 'armed' : a.status;
      default:
        return a.status;
    }
  }

  /** The actor's name under the sub-leads (or parent actors) it sits in, e.g. "alpha › a": names
   * repeat across sub-leads, so lists show this path. The run's root and fan-out actors are left out. */
  function pathOf(a) {
    var parts = [a.name], p = a.parent != null ? S.actors.get(a.parent) : null;
    for (var depth = 0; p && p.parent != null && depth < 1000; depth++) {
      if (p.kind !== 'fanOut') parts.unshift(p.name);
      p = S.actors.get(p.parent);
    }
    return parts.join(' › ');
  }

  function clock(t) {
    var d = new Date(t), p = function (n) { return (n < 10 ? '0' : '') + n; };
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function fmtMs(ms) {
    if (ms == null || !isFinite(ms)) return '';
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
  }

  /** The lane's note on a specialist's loop: tool calls (failed ones), a loop limit. Empty without tools. */
  function loopText(a) {
    var tx = a.tx, sum = a.loopSum;
    var calls = tx ? tx.total.calls : sum && sum.toolCalls ? sum.toolCalls : 0;
    var failed = tx ? tx.total.errors : sum && sum.toolErrors ? sum.toolErrors : 0;
    var text = '';
    if (calls) text += ' · ' + calls + (calls === 1 ? ' tool call' : ' tool calls') + (failed ? ' (' + failed + ' failed)' : '');
    if (sum && sum.loopLimit) text += ' · limit: ' + sum.loopLimit;
    return text;
  }

  function derive() {
    var root = rootOf();
    var key = S.version + '|' + S.rootSel + '|' + S.laneSort + '|' + S.collapsed.size;
    var live = root && root.status === 'active';
    if (key === cache.key && !live) return;
    cache.key = key;
    cache.rows = [];
    cache.lanes = null;
    if (!root) return;
    var skew = skewOf(root), now = nowFor(root);
    // Actor tree, depth first.
    (function walk(a, depth) {
      cache.rows.push({ a: a, depth: depth });
      if (S.collapsed.has(a.key)) return;
      for (var i = 0; i < a.children.length; i++) { var c = S.actors.get(a.children[i]); if (c) walk(c, depth + 1); }
    })(root, 0);
    // Lanes: specialists (sub-leads as groups), the synthesis after them.
    var lanes = [], synth = null, order = 0;
    function lane(c, depth, prefix) {
      var sp = spanOf(c, skew, now);
      var st = statusOf(c);
      var marks = [];
      c.retries.forEach(function (r) {
        var x = r.at != null ? r.at + skew : r.t;
        var timeout = r.error && r.error.kind === 'timeout';
        marks.push({ x: x, kind: timeout ? 'timeout' : 'retry', title: 'attempt ' + (r.attempt - 1) + ' failed' + (r.error ? ': ' + errText(r.error) : '') + (r.delayMs ? '; retry in ' + fmtMs(r.delayMs) : '') + (r.reason === 'fallback' ? ' (fallback model)' : '') });
      });
      if (st === 'timedOut' && sp.end != null) marks.push({ x: sp.end, kind: 'end-timeout', title: 'cut off: ' + errText(c.error) });
      var attempts = attemptsOf(c);
      var dur = sp.start != null ? sp.end - sp.start : null;
      var text = st + (attempts != null && attempts !== '' ? ' · ' + attempts + (attempts === 1 ? ' attempt' : ' attempts') : '') + (dur != null ? ' · ' + fmtMs(dur) : ' · never started') + loopText(c);
      return { a: c, depth: depth, label: prefix + c.name, start: sp.start, end: sp.end, dur: dur, st: st, text: text,
        error: c.error && st !== 'fulfilled' ? errText(c.error) : '', marks: marks, group: c.kind === 'lead' || c.kind === 'machine' && c.children.length > 0, order: order++, slowest: false };
    }
    (function walk(a, depth, prefix) {
      for (var i = 0; i < a.children.length; i++) {
        var c = S.actors.get(a.children[i]);
        if (!c || c.kind === 'timer' || c.superseded) continue;
        if (c.kind === 'fanOut') { walk(c, depth, prefix); continue; }
        if (c.kind === 'synthesizer' && depth === 0) { synth = lane(c, depth, prefix); continue; }
        lanes.push(lane(c, depth, prefix));
        if (c.children.length) walk(c, depth + 1, prefix + c.name + '/');
      }
    })(root, 0, '');
    // Slowest specialist, overlap, time range.
    var rootSpan = spanOf(root, skew, now);
    var t0 = rootSpan.start != null ? rootSpan.start : root.createdT, t1 = Math.max(rootSpan.end || t0, now);
    var slowest = null, counts = {}, top = 0, intervals = [];
    lanes.forEach(function (l) {
      // The header counts the root's own specialists; sub-leads' lanes are in the timeline.
      if (l.depth === 0) { counts[l.st] = (counts[l.st] || 0) + 1; top++; }
      if (l.start == null) return;
      if (l.start < t0) t0 = l.start;
      if (l.end > t1) t1 = l.end;
      if (l.group) return;
      intervals.push(l);
      if (l.st !== 'skipped' && (!slowest || l.dur > slowest.dur)) slowest = l;
    });
    if (synth && synth.end != null && synth.end > t1) t1 = synth.end;
    if (slowest) slowest.slowest = true;
    var peak = 0, points = [];
    if (intervals.length) {
      var ev = [];
      intervals.forEach(function (l) { ev.push([l.start, 1]); ev.push([l.end, -1]); });
      ev.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
      var cur = 0;
      ev.forEach(function (e) { cur += e[1]; if (cur > peak) peak = cur; });
      var buckets = 160, span = Math.max(1, t1 - t0), idx = 0; cur = 0;
      for (var b = 0; b <= buckets && isFinite(span); b++) {
        var tb = t0 + (span * b) / buckets;
        while (idx < ev.length && ev[idx][0] <= tb) { cur += ev[idx][1]; idx++; }
        points.push(cur);
      }
    }
    var sorted = lanes.slice();
    if (S.laneSort === 'slowest') sorted.sort(function (x, y) { return (y.dur == null ? -1 : y.dur) - (x.dur == null ? -1 : x.dur) || x.order - y.order; });
    else if (S.laneSort === 'start') sorted.sort(function (x, y) { return (x.start == null ? Infinity : x.start) - (y.start == null ? Infinity : y.start) || x.order - y.order; });
    else if (S.laneSort === 'failures') sorted.sort(function (x, y) { return (OUTCOME_ORDER[x.st] != null ? OUTCOME_ORDER[x.st] : 5) - (OUTCOME_ORDER[y.st] != null ? OUTCOME_ORDER[y.st] : 5) || x.order - y.order; });
    // Times are sanitised on the way in; should anything still be off, fall back to the root's own times.
    if (!isFinite(t0)) t0 = root.createdT;
    if (!isFinite(t1) || !isFinite(t1 - t0)) t1 = t0;
    // Room on the right for the final state's label.
    t1 = Math.max(t1, t0 + 1);
    t1 += (t1 - t0) * 0.08;
    cache.lanes = { list: sorted, synth: synth, t0: t0, t1: t1, slowest: slowest, peak: peak, points: points, counts: counts, top: top, skew: skew, now: now, total: lanes.length };
  }

  // ---------- rendering ----------
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  // Scroll metrics of the virtual lists, read once per frame before any DOM write (no forced layouts).
  var metrics = {};
  function readMetrics() {
    ['tree', 'lanes', 'log'].forEach(function (id) {
      var c = $(id);
      metrics[id] = { top: c.scrollTop, h: c.clientHeight, sh: c.scrollHeight };
    });
  }

  function vlist(container, count, rowH, make, top) {
    var spacer = container.firstChild;
    if (!spacer || spacer.className !== 'spacer') {
      container.textContent = '';
      spacer = el('div', 'spacer');
      spacer.appendChild(el('div', 'window'));
      container.appendChild(spacer);
    }
    spacer.style.height = count * rowH + 'px';
    var m = metrics[container.id] || { top: container.scrollTop, h: container.clientHeight };
    if (top == null) top = m.top;
    var h = m.h || 400;
    var start = Math.max(0, Math.floor(top / rowH) - 5), end = Math.min(count, Math.ceil((top + h) / rowH) + 5);
    var win = spacer.firstChild;
    win.style.transform = 'translateY(' + start * rowH + 'px)';
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { var row = make(i); row.style.height = rowH + 'px'; frag.appendChild(row); }
    win.replaceChildren(frag);
  }

  var scheduled = false, loading = false;
  function invalidate() {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) setTimeout(render, 100);
    else requestAnimationFrame(render);
  }

  function render() {
    scheduled = false;
    var t = performance.now();
    readMetrics();
    part('derive', derive);
    part('header', renderHeader);
    part('chart', renderChart);
    part('tree', renderTree);
    part('timeline', renderTimeline);
    part('log', renderLog);
    var ms = performance.now() - t;
    stats.renders++; stats.lastRenderMs = ms; stats.totalRenderMs += ms;
    if (ms > stats.maxRenderMs) stats.maxRenderMs = ms;
  }

  function part(name, fn) {
    var t = performance.now();
    fn();
    var ms = performance.now() - t;
    if (!(stats.parts[name] >= ms)) stats.parts[name] = ms;
  }

  function renderHeader() {
    var rootsKey = S.roots.length + '|' + S.rootSel + '|' + S.version;
    if (rootsKey !== cache.rootsKey) {
      cache.rootsKey = rootsKey;
      var sel = $('root-select');
      if (document.activeElement !== sel) {
        var frag = document.createDocumentFragment();
        S.roots.forEach(function (k) {
          var a = S.actors.get(k);
          var o = el('option', null, a.name + ' (' + a.sid + ') · ' + clock(a.createdT) + ' · ' + (a.valueStr || a.status));
          o.value = k;
          if (k === S.rootSel) o.selected = true;
          frag.appendChild(o);
        });
        sel.replaceChildren(frag);
      }
    }
    var root = rootOf();
    var sum = $('summary');
    if (!root) { sum.textContent = 'waiting for an actor…'; return; }
    var L = cache.lanes;
    var parts = [root.name + ': ' + (root.valueStr || root.status)];
    if (L && L.top) {
      var c = [];
      for (var k in L.counts) c.push(L.counts[k] + ' ' + k);
      parts.push(L.top + (root.kind === 'lead' ? ' specialists' : ' actors') + ' (' + c.join(', ') + ')' + (L.total > L.top ? ' + ' + (L.total - L.top) + ' below' : ''));
    }
    var sp = spanOf(root, skewOf(root), nowFor(root));
    if (sp.start != null) parts.push(fmtMs(sp.end - sp.start) + (root.status === 'active' ? ' so far' : ''));
    if (root.error) parts.push('error: ' + errText(root.error));
    else if (root.result && Array.isArray(root.result.missing) && root.result.missing.length) parts.push('missing: ' + arrLen(root.result.missing));
    sum.textContent = parts.join(' · ');
  }

  function chartActor() {
    var root = rootOf();
    var sel = S.selActor ? S.actors.get(S.selActor) : null;
    return sel && sel.isMachine ? sel : root;
  }

  function renderChart() {
    var a = chartActor();
    var chart = $('chart'), nameEl = $('machine-name'), stateEl = $('machine-state'), pathEl = $('state-path');
    var key = a ? a.key + '|' + a.valueStr + '|' + a.status + '|' + a.history.length : '';
    if (key === cache.chartKey) return;
    cache.chartKey = key;
    chart.textContent = '';
    if (!a) { nameEl.textContent = ''; stateEl.textContent = ''; pathEl.textContent = ''; return; }
    nameEl.textContent = a.name;
    var final = a.status === 'done';
    stateEl.textContent = a.valueStr || a.status;
    stateEl.className = 'pill' + (final ? ' final ' + a.valueStr : '') + (a.status === 'error' ? ' error' : a.status === 'stopped' ? ' stopped' : '');
    pathEl.textContent = '';
    var t0 = a.history.length ? a.history[0].t : a.createdT;
    if (!a.history.length && a.valueStr) pathEl.appendChild(el('span', 'cur', a.valueStr));
    a.history.forEach(function (h, i) {
      if (i) pathEl.appendChild(document.createTextNode(' → '));
      var s = el('span', i === a.history.length - 1 ? 'cur' : null, h.v);
      s.title = '+' + fmtMs(h.t - t0) + (h.ev ? ' on ' + h.ev : '');
      pathEl.appendChild(s);
    });
    if (!a.def || !a.def.states) {
      chart.appendChild(el('div', 'empty', '"' + a.name + '" is not a state machine (' + a.kind + '): no statechart to show.'));
      return;
    }
    var active = new Set(['']);
    (function walk(v, prefix) {
      if (typeof v === 'string') { active.add(prefix ? prefix + '.' + v : v); return; }
      if (v && typeof v === 'object') for (var k in v) { var p = prefix ? prefix + '.' + k : k; active.add(p); walk(v[k], p); }
    })(a.value, '');
    chart.appendChild(stateBox(a.def, a.def.id || a.name, '', active, a.def.initial, true));
  }

  function guardName(g) {
    if (!g) return '';
    if (typeof g === 'string') return g;
    if (typeof g === 'object' && g.type) return String(g.type);
    return '';
  }

  function transitionsOf(node) {
    var list = [];
    function add(label, t) {
      if (t == null) return;
      if (Array.isArray(t)) { t.forEach(function (x) { add(label, x); }); return; }
      if (typeof t === 'string') t = { target: t };
      if (typeof t !== 'object') return;
      var targets = t.target == null ? [] : Array.isArray(t.target) ? t.target : [t.target];
      list.push({ ev: label, targets: targets.map(function (x) { return String(x).replace(/^\./, ''); }), guard: guardName(t.guard) });
    }
    if (node.on && typeof node.on === 'object') for (var k in node.on) add(k, node.on[k]);
    if (node.always) add('always', node.always);
    if (node.after && typeof node.after === 'object') for (var d in node.after) add('after ' + d + (/^\d+$/.test(d) ? ' ms' : ''), node.after[d]);
    var inv = node.invoke ? (Array.isArray(node.invoke) ? node.invoke : [node.invoke]) : [];
    inv.forEach(function (i) {
      if (!i || typeof i !== 'object') return;
      var name = i.id || (typeof i.src === 'string' ? i.src : 'invoked');
      add('done: ' + name, i.onDone);
      add('error: ' + name, i.onError);
    });
    if (node.onDone) add('done', node.onDone);
    return list;
  }

  function stateBox(node, name, path, active, parentInitial, isRoot) {
    var on = active.has(path);
    var box = el('div', 'state' + (isRoot ? ' root' : '') + (on ? ' active' : '') + (node.type === 'final' ? ' final' : ''));
    box.setAttribute('data-state', path || name);
    var head = el('div', 'state-head');
    head.appendChild(el('span', 'state-name', name));
    if (!isRoot && parentInitial === name) head.appendChild(el('span', 'badge', 'initial'));
    if (node.type === 'final') head.appendChild(el('span', 'badge', 'final'));
    if (node.type === 'parallel') head.appendChild(el('span', 'badge', 'parallel'));
    if (node.type === 'history') head.appendChild(el('span', 'badge', 'history'));
    if (on && !isRoot) head.appendChild(el('span', 'badge now', 'current'));
    box.appendChild(head);
    var inv = node.invoke ? (Array.isArray(node.invoke) ? node.invoke : [node.invoke]) : [];
    if (inv.length) {
      var ivs = el('ul', 'invokes');
      inv.forEach(function (i) { if (i && typeof i === 'object') ivs.appendChild(el('li', null, 'invokes ' + (typeof i.src === 'string' ? i.src : 'actor') + (i.id && i.id !== i.src ? ' as ' + i.id : ''))); });
      box.appendChild(ivs);
    }
    var trs = transitionsOf(node);
    if (trs.length) {
      var ul = el('ul', 'transitions');
      trs.forEach(function (t) {
        var li = el('li');
        li.appendChild(el('span', 'ev', t.ev));
        if (t.targets.length) {
          li.appendChild(document.createTextNode(' → '));
          li.appendChild(el('span', 'target', t.targets.join(', ')));
        } else {
          li.appendChild(el('span', 'internal', ' ⟲'));
        }
        if (t.guard) li.appendChild(el('span', 'guard', ' [' + t.guard + ']'));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    if (node.states && typeof node.states === 'object') {
      var kids = el('div', 'substates' + (node.type === 'parallel' ? ' parallel' : ''));
      for (var k in node.states) {
        var child = node.states[k];
        if (child && typeof child === 'object') kids.appendChild(stateBox(child, k, path ? path + '.' + k : k, active, node.initial, false));
      }
      box.appendChild(kids);
    }
    return box;
  }

  function renderTree() {
    var rows = cache.rows;
    if (cache.reveal) {
      // Selected from a lane: bring its row into the tree's view.
      var want = cache.reveal, tm = metrics.tree;
      cache.reveal = null;
      for (var ri = 0; ri < rows.length; ri++) {
        if (rows[ri].a.key !== want) continue;
        var y = ri * ROW_H;
        if (tm && (y < tm.top || y + ROW_H > tm.top + tm.h)) {
          var top = Math.max(0, y - Math.floor(tm.h / 2));
          $('tree').scrollTop = top;
          tm.top = $('tree').scrollTop;
        }
        break;
      }
    }
    $('tree-count').textContent = rows.length ? rows.length + ' actors' : '';
    var root = rootOf();
    var skew = skewOf(root), now = root ? nowFor(root) : 0;
    vlist($('tree'), rows.length, ROW_H, function (i) {
      var r = rows[i], a = r.a;
      var row = el('div', 'tree-row st-' + statusOf(a) + (S.selActor === a.key ? ' selected' : ''));
      row.setAttribute('data-actor', a.name);
      row.setAttribute('data-key', a.key);
      row.setAttribute('data-kind', a.kind);
      var name = el('span', 'name');
      name.style.paddingLeft = r.depth * 14 + 'px';
      var tg = el('span', 'toggle', a.children.length ? (S.collapsed.has(a.key) ? '▸' : '▾') : '');
      tg.setAttribute('data-toggle', a.key);
      name.appendChild(tg);
      name.appendChild(document.createTextNode(a.name + (a.children.length && S.collapsed.has(a.key) ? ' (' + a.children.length + ')' : '')));
      name.title = a.name + ' — ' + a.sid;
      row.appendChild(name);
      row.appendChild(el('span', 'kind', a.kind));
      var st = el('span', 'st', stateText(a));
      row.appendChild(st);
      var att = attemptsOf(a);
      row.appendChild(el('span', 'attempts', att == null ? '' : att));
      var sp = spanOf(a, skew, now);
      row.appendChild(el('span', 'elapsed', sp.start != null ? fmtMs(sp.end - sp.start) : ''));
      row.appendChild(el('span', 'tokens', tokensOf(a)));
      var et = a.error && (a.outcome !== 'fulfilled') ? errText(a.error) : '';
      var er = el('span', 'err', et);
      er.title = et;
      row.appendChild(er);
      return row;
    });
    renderDetails();
  }

  function renderDetails() {
    var a = S.selActor ? S.actors.get(S.selActor) : null;
    renderTranscript(a);
    var key = a ? a.key + '|' + S.version : '';
    if (key === cache.detailsKey) return;
    cache.detailsKey = key;
    $('details-name').textContent = a ? pathOf(a) + ' (' + a.kind + ', ' + a.sid + ')' : 'none (click a row)';
    if (!a) { $('details').textContent = ''; return; }
    var info = { state: stateText(a), status: a.status, error: a.error || undefined, retries: a.retries.length ? a.retries : undefined, snapshot: a.snap };
    var text = JSON.stringify(info, null, 2);
    $('details').textContent = text.length > 20000 ? text.slice(0, 20000) + '\n…' : text;
  }

  /** The selected specialist's loop: each turn, its tool calls under it, the outcome's summary. All text. */
  function renderTranscript(a) {
    var box = $('transcript');
    var sum = a ? a.loopSum : null, tx = a ? a.tx : null;
    var key = a && (tx || sum) ? a.key + '|' + (tx ? tx.v : 0) + '|' + (a.outcome || '') + '|' + a.status + '|' + (sum ? JSON.stringify(sum) : '') : '';
    if (key === cache.transcriptKey) return;
    cache.transcriptKey = key;
    if (!key) { box.textContent = ''; box.hidden = true; return; }
    box.hidden = false;
    var frag = document.createDocumentFragment();
    var v = tx ? TX.view(tx, TRANSCRIPT_SHOWN) : null;
    var head = el('div', 'tx-summary');
    head.setAttribute('data-testid', 'transcript-summary');
    var parts = [];
    if (sum && a.outcome) {
      parts.push(a.outcome);
      if (sum.turns != null) parts.push(sum.turns + (sum.turns === 1 ? ' turn' : ' turns'));
      if (sum.stopReason) parts.push('last stop: ' + TX.redact(sum.stopReason, 200));
      parts.push('loop limit: ' + (sum.loopLimit ? TX.redact(sum.loopLimit, 200) : 'none'));
      if (sum.toolCalls != null) parts.push(sum.toolCalls + (sum.toolCalls === 1 ? ' tool call' : ' tool calls') + (sum.toolErrors ? ' (' + sum.toolErrors + ' failed)' : ''));
      if (sum.confidence != null) parts.push('confidence ' + sum.confidence.toFixed(2));
      if (sum.sources != null) parts.push(sum.sources + (sum.sources === 1 ? ' source' : ' sources'));
    } else if (v) {
      parts.push((a.phase || a.status) + (a.turn != null ? ' · turn ' + a.turn : ''));
      parts.push(v.total.calls + (v.total.calls === 1 ? ' tool call' : ' tool calls') + (v.total.errors ? ' (' + v.total.errors + ' failed)' : '') + (v.total.running ? ', ' + v.total.running + ' running' : ''));
    }
    head.textContent = 'Transcript · ' + parts.join(' · ');
    frag.appendChild(head);
    if (v && v.earlier) {
      var note = el('div', 'tx-earlier', '…' + v.earlier + ' earlier ' + (v.earlier === 1 ? 'entry' : 'entries') +
        (v.earlierTurns || v.earlierCalls ? ' (not kept: ' + v.earlierTurns + ' turns, ' + v.earlierCalls + ' tool calls' + (v.earlierErrors ? ', ' + v.earlierErrors + ' failed' : '') + ')' : ''));
      note.setAttribute('data-testid', 'transcript-earlier');
      frag.appendChild(note);
    }
    if (v) v.turns.forEach(function (g) {
      var turn = el('div', 'tx-turn' + (g.seen ? '' : ' pending'));
      turn.setAttribute('data-turn', g.turn);
      var h = ['turn ' + g.turn];
      if (g.model) h.push(g.model);
      if (g.seen) h.push('stop: ' + (g.stopReason || 'none'));
      else h.push('in progress');
      if (g.final) h.push('final (a limit was reached)');
      if (g.toolUses) h.push(g.toolUses + (g.toolUses === 1 ? ' tool use' : ' tool uses'));
      if (g.usage && (g.usage.input != null || g.usage.output != null)) h.push((g.usage.input || 0) + ' / ' + (g.usage.output || 0) + ' tokens');
      turn.appendChild(el('div', 'tx-turn-head', h.join(' · ')));
      if (g.text) turn.appendChild(el('pre', 'tx-text', g.text));
      else if (g.trimmed) turn.appendChild(el('div', 'tx-trimmed', '(text not kept: the page keeps a bounded amount of transcript text)'));
      if (g.earlierCalls) turn.appendChild(el('div', 'tx-earlier', '…' + g.earlierCalls + ' earlier tool calls of this turn'));
      g.calls.forEach(function (c) {
        var call = el('div', 'tx-call ' + (c.server ? 'server' : 'client') + (c.isError ? ' error' : '') + (c.running ? ' running' : ''));
        call.setAttribute('data-tool', c.tool);
        var ch = [c.tool, (c.server ? 'server' : 'client') + ' tool'];
        if (c.ms != null) ch.push(fmtMs(c.ms));
        ch.push(c.running ? 'running' : !c.done ? 'never finished' : c.isError ? 'error' : 'ok');
        call.appendChild(el('div', 'tx-call-head', ch.join(' · ')));
        function field(label, text, cls) {
          if (text == null || text === '') return;
          var f = el('div', 'tx-field');
          f.appendChild(el('span', 'tx-label', label));
          f.appendChild(el('pre', cls, text));
          call.appendChild(f);
        }
        field('input', c.input, 'tx-input');
        if (c.isError) field('error', c.error, 'tx-error');
        // An error result usually is the error's text: shown once.
        if (!(c.isError && c.result === c.error)) field('result', c.result, 'tx-result');
        if (c.trimmed) call.appendChild(el('div', 'tx-trimmed', '(input and result not kept)'));
        turn.appendChild(call);
      });
      frag.appendChild(turn);
    });
    box.replaceChildren(frag);
  }

  /** A new selection of a specialist that used tools: open the details pane, where its transcript is. */
  function openDetails() {
    var d = $('details-box'), a = S.selActor ? S.actors.get(S.selActor) : null;
    if (d && a && (a.tx || (a.loopSum && a.loopSum.toolCalls))) d.open = true;
  }

  function pct(L, x) { return ((x - L.t0) / (L.t1 - L.t0)) * 100; }

  function laneEl(L, l, cls) {
    var row = el('div', 'lane st-' + l.st + (l.slowest ? ' slowest' : '') + (l.group ? ' group' : '') + (cls ? ' ' + cls : ''));
    row.setAttribute('data-actor', l.a.name);
    row.setAttribute('data-key', l.a.key);
    if (S.selActor === l.a.key) row.className += ' selected';
    row.setAttribute('data-kind', l.a.kind);
    row.setAttribute('data-status', l.st);
    var label = el('div', 'lane-label');
    label.style.paddingLeft = 6 + l.depth * 12 + 'px';
    label.appendChild(el('span', 'lane-name', l.label));
    label.appendChild(el('span', 'lane-status', l.text));
    label.title = l.label + ': ' + l.text + (l.error ? ' — ' + l.error : '');
    row.appendChild(label);
    var track = el('div', 'lane-track');
    if (l.start != null) {
      var bar = el('div', 'bar');
      var left = pct(L, l.start);
      bar.style.left = left + '%';
      bar.style.width = Math.max(0, pct(L, l.end) - left) + '%';
      bar.title = l.label + ': ' + l.text + (l.error ? ' — ' + l.error : '');
      track.appendChild(bar);
    }
    if (l.error) {
      // The error next to the bar, where there is room: after it, or before it.
      var note = el('div', 'bar-note', l.error);
      note.title = l.error;
      var endP = l.start != null ? pct(L, l.end) : 0, startP = l.start != null ? pct(L, l.start) : 0;
      if (endP < 62) note.style.left = endP + 0.8 + '%';
      else if (startP > 38) { note.style.right = 100 - startP + 0.8 + '%'; note.style.textAlign = 'right'; }
      else { note.style.left = startP + 0.8 + '%'; note.className += ' inside'; }
      track.appendChild(note);
    }
    if (l.a.tx) toolMarks(L, l, track);
    l.marks.forEach(function (m) {
      var d = el('div', 'mark ' + m.kind);
      d.style.left = pct(L, m.x) + '%';
      d.title = m.title;
      track.appendChild(d);
    });
    row.appendChild(track);
    return row;
  }

  /**
   * A lane's tool calls (one segment each, from start to end; calls that overlap in time, like a
   * turn's parallel calls, on up to 3 rows inside the bar) and turn ends. O(marks kept), which
   * pageTranscript.ts bounds per lane; only lanes in view are drawn.
   */
  function toolMarks(L, l, track) {
    var m = TX.marks(l.a.tx), skew = L.skew;
    var live = l.a.outcome == null && l.a.status === 'active';
    function at(runT, pageT) { return runT != null ? runT + skew : pageT; }
    function clamp(p) { return Math.max(0, Math.min(100, p)); }
    m.ticks.forEach(function (k) {
      var d = el('div', 'turn-tick');
      d.style.left = clamp(pct(L, at(k.at, k.t))) + '%';
      d.title = 'turn ' + k.turn + ' ended' + (k.stopReason ? ': ' + TX.redact(k.stopReason, 200) : '');
      d.setAttribute('data-turn', k.turn);
      track.appendChild(d);
    });
    var items = [];
    m.segs.forEach(function (s) {
      var kind = s.server === s.n ? 'server' : s.server ? 'mixed' : 'client';
      var x0 = at(s.at0, s.t0), x1 = Math.max(x0, at(s.at1, s.t1));
      items.push({ p0: clamp(pct(L, x0)), p1: clamp(pct(L, x1)), cls: 'tool ' + kind + (s.errors ? ' error' : '') + (s.n > 1 ? ' merged' : ''),
        title: TX.segTitle(s, false), tool: s.name != null ? s.name : '', n: s.n, errors: s.errors });
    });
    m.open.forEach(function (o) {
      var x0 = at(o.at0, o.t0), x1 = live ? L.now : l.end;
      items.push({ p0: clamp(pct(L, x0)), p1: clamp(pct(L, Math.max(x0, x1 == null ? x0 : x1))), cls: 'tool ' + (o.server ? 'server' : 'client') + (live ? ' running' : ' unfinished'),
        title: TX.segTitle(o, true).replace(/running$/, live ? 'running' : 'never finished'), tool: o.name, n: 1, errors: 0 });
    });
    if (!items.length) return;
    // Rows: each call in the first row free at its start (a mark is at least ~0.4% wide).
    items.sort(function (x, y) { return x.p0 - y.p0 || y.p1 - x.p1; });
    var ends = [], rows = 0;
    items.forEach(function (it) {
      var r = 0;
      while (r < ends.length && ends[r] > it.p0) r++;
      if (r >= 3) { r = 0; for (var i = 1; i < ends.length; i++) if (ends[i] < ends[r]) r = i; }
      ends[r] = Math.max(ends[r] || 0, it.p1, it.p0 + 0.4);
      it.row = r;
      if (r + 1 > rows) rows = r + 1;
    });
    var h = rows === 1 ? 8 : rows === 2 ? 5 : 3, top = 4 + (12 - rows * h - (rows - 1)) / 2;
    items.forEach(function (it) {
      var d = el('div', it.cls);
      d.style.left = it.p0 + '%';
      d.style.width = Math.max(0, it.p1 - it.p0) + '%';
      d.style.top = top + it.row * (h + 1) + 'px';
      d.style.height = h + 'px';
      d.title = it.title;
      d.setAttribute('data-tool', it.tool);
      d.setAttribute('data-calls', it.n);
      d.setAttribute('data-errors', it.errors);
      d.setAttribute('data-row', it.row);
      track.appendChild(d);
    });
  }

  function renderTimeline() {
    var L = cache.lanes, root = rootOf();
    var lanesEl = $('lanes'), axis = $('axis'), rootLane = $('root-lane'), synthEl = $('synthesis-lane');
    if (!L || !root) {
      lanesEl.textContent = ''; axis.textContent = ''; rootLane.textContent = ''; synthEl.textContent = ''; $('lane-summary').textContent = '';
      return;
    }
    var summary = L.total + ' lanes';
    if (L.peak) summary += ' · up to ' + L.peak + ' in parallel';
    if (L.slowest) summary += ' · slowest: ' + L.slowest.label + ' (' + fmtMs(L.slowest.dur) + ')';
    if (L.synth && L.synth.dur != null) summary += ' · synthesis ' + fmtMs(L.synth.dur);
    $('lane-summary').textContent = summary;
    // Axis: ticks and the number of lanes running over time.
    axis.textContent = '';
    var al = el('div', 'lane-label', 'running in parallel (peak ' + L.peak + ')');
    axis.appendChild(al);
    var at = el('div', 'lane-track');
    if (L.points.length > 1 && L.peak > 0) {
      var NS = 'http://www.w3.org/2000/svg';
      var svg = document.createElementNS(NS, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('viewBox', '0 0 1000 100');
      svg.setAttribute('preserveAspectRatio', 'none');
      var d = 'M0,100';
      var n = L.points.length - 1;
      L.points.forEach(function (p, i) { d += ' L' + ((i / n) * 1000).toFixed(1) + ',' + (100 - (p / L.peak) * 100).toFixed(1); });
      d += ' L1000,100 Z';
      var path = document.createElementNS(NS, 'path');
      path.setAttribute('d', d);
      svg.appendChild(path);
      at.appendChild(svg);
    }
    var span = L.t1 - L.t0;
    if (isFinite(span) && span > 0) {
      // A counted loop: with a huge span, x + step can round back to x.
      var step = Math.max(niceStep(span / 6), span / MAX_TICKS);
      for (var ti = 0; ti <= MAX_TICKS; ti++) {
        var x = ti * step;
        if (x > span) break;
        var tk = el('div', 'tick', fmtMs(x));
        tk.style.left = (x / span) * 100 + '%';
        at.appendChild(tk);
      }
    }
    axis.appendChild(at);
    // The root's own lane: one segment per state it went through.
    rootLane.textContent = '';
    var rl = el('div', 'lane-label');
    rl.appendChild(el('span', 'lane-name', root.name));
    rl.appendChild(el('span', 'lane-status', root.valueStr || root.status));
    rootLane.appendChild(rl);
    var rt = el('div', 'lane-track');
    var hist = root.history;
    for (var i = 0; i < hist.length; i++) {
      // The first state begins when the root does (its first snapshot comes after its children started).
      var s = i === 0 ? Math.min(hist[0].t, L.t0) : hist[i].t, e = i + 1 < hist.length ? hist[i + 1].t : (root.status === 'active' ? L.now : s);
      var seg = el('div', 'seg' + (i % 2 ? ' alt' : '') + ' s-' + hist[i].v.replace(/[^A-Za-z0-9_-]/g, '_'), hist[i].v);
      var left = Math.max(0, pct(L, s));
      seg.style.left = left + '%';
      seg.style.width = Math.max(0.4, pct(L, e) - left) + '%';
      if (i === hist.length - 1 && root.status !== 'active') { seg.style.left = 'auto'; seg.style.right = '0'; seg.style.width = 'auto'; }
      seg.title = hist[i].v + ' +' + fmtMs(s - L.t0) + (hist[i].ev ? ' on ' + hist[i].ev : '');
      rt.appendChild(seg);
    }
    rootLane.appendChild(rt);
    vlist(lanesEl, L.list.length, LANE_H, function (i) { return laneEl(L, L.list[i]); });
    synthEl.textContent = '';
    if (L.synth) synthEl.appendChild(laneEl(L, L.synth, 'synthesis'));
  }

  function niceStep(raw) {
    if (!(raw > 0) || !isFinite(raw)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }

  function renderLog() {
    var root = rootOf();
    var sel = $('log-actor');
    // Options: the actors of the selected run.
    // Rebuilt when the run or the selection changes, and at most once a second while actors arrive.
    var optKey = S.rootSel + '|' + cache.rows.length + '|' + S.logActor, nowMs = performance.now();
    var urgent = cache.optionsKey.split('|')[0] !== String(S.rootSel) || cache.optionsKey.split('|')[2] !== S.logActor;
    if (optKey !== cache.optionsKey && document.activeElement !== sel && (urgent || nowMs - (cache.optionsAt || 0) > 1000 || !S.log.length)) {
      cache.optionsKey = optKey;
      cache.optionsAt = nowMs;
      clearTimeout(cache.optionsRetry);
      var frag = document.createDocumentFragment();
      var all = el('option', null, 'all actors'); all.value = ''; frag.appendChild(all);
      cache.rows.forEach(function (r) {
        var o = el('option', null, pathOf(r.a) + ' (' + r.a.kind + ')');
        o.value = r.a.key;
        if (r.a.key === S.logActor) o.selected = true;
        frag.appendChild(o);
      });
      sel.replaceChildren(frag);
      sel.value = S.logActor;
    } else if (optKey !== cache.optionsKey) {
      // Skipped for now: make sure the last actors make it into the list.
      clearTimeout(cache.optionsRetry);
      cache.optionsRetry = setTimeout(invalidate, 1100);
    }
    var logKey = S.log.length + '|' + S.rootSel + '|' + S.logActor + '|' + S.logText;
    if (logKey !== cache.logKey) {
      cache.logKey = logKey;
      var text = S.logText.toLowerCase(), want = S.logActor, rk = root ? root.key : null;
      cache.log = S.log.filter(function (e) {
        if (e.root !== rk) return false;
        if (want && e.key !== want) return false;
        if (text && (e.type + ' ' + e.detail).toLowerCase().indexOf(text) === -1) return false;
        return true;
      });
    }
    var list = cache.log;
    $('log-count').textContent = list.length + ' shown';
    var t0 = root ? root.createdT : 0;
    var logEl = $('log'), lm = metrics.log;
    var atBottom = lm.top + lm.h >= lm.sh - LOG_H * 2;
    var makeRow = function (i) {
      var e = list[i], a = S.actors.get(e.key), src = e.src ? S.actors.get(e.src) : null;
      var row = el('div', 'log-row k-' + e.kind);
      row.setAttribute('data-actor', a ? a.name : e.key);
      row.setAttribute('data-key', e.key);
      row.appendChild(el('span', 't', '+' + fmtMs(e.t - t0)));
      var who = el('span', 'actor', (src ? pathOf(src) + ' → ' : '') + (a ? pathOf(a) : e.key));
      who.title = who.textContent;
      row.appendChild(who);
      row.appendChild(el('span', 'type', e.type));
      var d = el('span', 'detail', e.detail);
      d.title = e.detail;
      row.appendChild(d);
      return row;
    };
    // Follow the tail unless the reader scrolled up.
    var total = list.length * LOG_H;
    if (atBottom && total > lm.h) {
      var tail = total - lm.h;
      vlist(logEl, list.length, LOG_H, makeRow, tail);
      logEl.scrollTop = tail;
      metrics.log.top = tail;
    } else {
      vlist(logEl, list.length, LOG_H, makeRow);
    }
  }

  // ---------- interaction ----------
  $('root-select').addEventListener('change', function (e) {
    S.rootSel = e.target.value;
    S.follow = S.rootSel === S.roots[S.roots.length - 1];
    S.selActor = null; S.logActor = '';
    cache.key = ''; invalidate();
  });
  $('lane-sort').addEventListener('change', function (e) { S.laneSort = e.target.value; cache.key = ''; invalidate(); });
  $('log-actor').addEventListener('change', function (e) { S.logActor = e.target.value; invalidate(); });
  $('log-text').addEventListener('input', function (e) { S.logText = e.target.value; invalidate(); });
  ['tree', 'lanes', 'log'].forEach(function (id) { $(id).addEventListener('scroll', invalidate, { passive: true }); });
  window.addEventListener('resize', invalidate);
  $('tree').addEventListener('click', function (e) {
    var t = e.target;
    var toggle = t && t.getAttribute && t.getAttribute('data-toggle');
    if (toggle) {
      if (S.collapsed.has(toggle)) S.collapsed.delete(toggle); else S.collapsed.add(toggle);
      cache.key = ''; invalidate(); return;
    }
    var row = t && t.closest ? t.closest('.tree-row') : null;
    if (!row || !row.getAttribute('data-key')) return;
    var key = row.getAttribute('data-key');
    S.selActor = S.selActor === key ? null : key;
    S.logActor = S.selActor || '';
    cache.chartKey = ''; cache.detailsKey = ''; cache.optionsKey = '';
    openDetails();
    invalidate();
  });
  // Lanes and the synthesis lane select their own actor, by its unique key (names repeat across sub-leads).
  function onLaneClick(e) {
    var row = e.target && e.target.closest ? e.target.closest('.lane') : null;
    var key = row ? row.getAttribute('data-key') : null;
    if (!key || !S.actors.has(key)) return;
    S.selActor = key; S.logActor = key;
    cache.detailsKey = ''; cache.chartKey = ''; cache.optionsKey = '';
    openDetails();
    cache.reveal = key;
    invalidate();
  }
  $('lanes').addEventListener('click', onLaneClick);
  $('synthesis-lane').addEventListener('click', onLaneClick);
  // Live bars grow while the run is active.
  setInterval(function () { var r = rootOf(); if (r && r.status === 'active' && !loading) invalidate(); }, 250);

  // ---------- notices ----------
  // The server's own frames about the view (e.g. messages it dropped at its limits), shown in a
  // banner until dismissed, as text. Two shapes: {"type":"@fanfold.notice","level":"warning",
  // "message":"…"} and {"t":"notice","id":"dropped","level":"warning","text":"…"}; a notice with an
  // id replaces the one shown with the same id. Only top-level frames count: inside a batch, a
  // message of that type comes from an inspected app, not from the server.
  var NOTICE_LEVELS = ['info', 'warning', 'error'], MAX_NOTICES = 5, NOTICE_CHARS = 1000;
  var notices = [];
  function noticeText(data) {
    if (Array.isArray(data)) return null;
    var text = data.type === '@fanfold.notice' ? data.message : data.t === 'notice' ? data.text : undefined;
    if (text == null) return null;
    return typeof text === 'string' ? text : JSON.stringify(text);
  }
  function addNotice(data, text) {
    var level = NOTICE_LEVELS.indexOf(data.level) >= 0 ? data.level : 'warning';
    var id = typeof data.id === 'string' || typeof data.id === 'number' ? String(data.id) : null;
    if (text.length > NOTICE_CHARS) text = text.slice(0, NOTICE_CHARS) + '…';
    var same = notices.filter(function (n) { return id != null ? n.id === id : n.id == null && n.level === level && n.text === text; })[0];
    if (same && id != null) { same.level = level; same.text = text; notices.splice(notices.indexOf(same), 1); notices.push(same); }
    // The same notice again (e.g. after a reconnect): counted, not repeated.
    else if (same) { notices.splice(notices.indexOf(same), 1); same.count++; notices.push(same); }
    else notices.push({ id: id, level: level, text: text, count: 1 });
    if (notices.length > MAX_NOTICES) notices.splice(0, notices.length - MAX_NOTICES);
    renderNotices();
  }
  function renderNotices() {
    var box = $('notices');
    var frag = document.createDocumentFragment();
    notices.forEach(function (n) {
      var row = el('div', 'notice level-' + n.level);
      row.setAttribute('data-level', n.level);
      if (n.id != null) row.setAttribute('data-id', n.id);
      row.appendChild(el('span', 'notice-level', n.level));
      row.appendChild(el('span', 'notice-text', n.text + (n.count > 1 ? ' (×' + n.count + ')' : '')));
      var close = el('button', 'notice-close', '×');
      close.type = 'button';
      close.title = 'Dismiss';
      close.setAttribute('aria-label', 'Dismiss this notice');
      close.addEventListener('click', function () { var i = notices.indexOf(n); if (i >= 0) notices.splice(i, 1); renderNotices(); });
      row.appendChild(close);
      frag.appendChild(row);
    });
    box.replaceChildren(frag);
    box.hidden = notices.length === 0;
  }

  // ---------- connection ----------
  var conn = $('conn'), retryMs = 500, moreTimer = 0;
  function connect() {
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ui');
    ws.onopen = function () { retryMs = 500; stats.connectedAt = performance.now(); conn.textContent = 'live'; conn.className = 'conn live'; };
    ws.onmessage = function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (!data || typeof data !== 'object') return;
      var notice = noticeText(data);
      if (notice != null) {
        addNotice(data, notice);
      } else if (data.t === 'hello') {
        // The server sends everything from the start after this: begin from a clean model.
        var keep = { laneSort: S.laneSort };
        S = fresh(); S.laneSort = keep.laneSort; cache.key = ''; cache.chartKey = ''; cache.logKey = ''; cache.optionsKey = ''; cache.rootsKey = ''; cache.transcriptKey = ''; cache.detailsKey = '';
        invalidate();
      } else if (data.t === 'batch' && Array.isArray(data.messages)) {
        if (!stats.firstDataAt) stats.firstDataAt = performance.now();
        stats.batches++; stats.lastBatchAt = performance.now();
        var ti = performance.now();
        for (var i = 0; i < data.messages.length; i++) ingest(data.messages[i]);
        stats.ingestMs += performance.now() - ti;
        conn.textContent = 'live · ' + stats.messages + ' messages';
        // More history follows at once: render after the last chunk (or soon, if it is slow to come).
        clearTimeout(moreTimer);
        loading = !!data.more;
        if (loading) moreTimer = setTimeout(function () { loading = false; invalidate(); }, 1000);
        else invalidate();
      }
    };
    ws.onclose = function () {
      conn.textContent = 'disconnected — retrying'; conn.className = 'conn down';
      setTimeout(connect, retryMs);
      retryMs = Math.min(5000, retryMs * 2);
    };
  }
  connect();

  // For tests and the curious: counters, and a plain-text digest of what the page shows.
  window.fanfoldInspector = {
    stats: stats,
    model: function () { return S; },
    digest: function () {
      derive();
      var root = rootOf();
      if (!root) return null;
      var L = cache.lanes;
      function laneText(l) {
        var tx = l.a.tx;
        return l.label + ' ' + l.st + ' attempts=' + attemptsOf(l.a) + ' error=' + (l.error || '-') + ' retries=' + l.a.retries.length + ' dur=' + l.dur +
          (tx ? ' tools=' + tx.total.calls + ' failed=' + tx.total.errors + ' turns=' + tx.total.turns : '');
      }
      return {
        root: root.name, state: root.valueStr, status: root.status, history: root.history.map(function (h) { return h.v; }),
        actors: cache.rows.map(function (r) { return r.depth + ' ' + r.a.name + ' ' + r.a.kind + ' ' + stateText(r.a); }),
        lanes: L ? L.list.map(laneText) : [], synthesis: L && L.synth ? laneText(L.synth) : null,
        slowest: L && L.slowest ? L.slowest.label : null, peak: L ? L.peak : 0
      };
    },
    /** The transcript the details pane shows for an actor (by key, or by name), or null. */
    transcript: function (keyOrName) {
      var a = S.actors.get(keyOrName);
      if (!a) S.actors.forEach(function (x) { if (!a && x.name === keyOrName && !x.superseded) a = x; });
      if (!a) return null;
      return { view: a.tx ? TX.view(a.tx, TRANSCRIPT_SHOWN) : null, outcome: a.loopSum, marks: a.tx ? TX.marks(a.tx) : null };
    },
    budget: function () { return { chars: S.txBudget.chars, max: S.txBudget.max, trimmed: S.txBudget.trimmed, queued: S.txBudget.queue.length - S.txBudget.head }; }
  };
})();
`;
