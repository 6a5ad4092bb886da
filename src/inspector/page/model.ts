/**
 * The inspector page's model: the wire messages (src/inspector/wire.ts) folded into actors,
 * their state history, specialists' attempts and outcomes, and an event log. Untrusted input:
 * every message is checked before it is read, and a malformed one changes nothing it should not.
 */
import type { WireActorMessage, WireEventMessage, WireSnapshotMessage } from '../wire.ts';
import { WALL_MAX, WALL_MIN, arrLen, errText, runTime, stateString } from './format.ts';
import * as TX from './transcript.ts';

/** A state machine's config as the wire carries it (JSON); every field checked where read. */
export interface MachineNode {
  id?: unknown;
  type?: unknown;
  initial?: unknown;
  states?: Record<string, unknown>;
  on?: unknown;
  always?: unknown;
  after?: unknown;
  invoke?: unknown;
  onDone?: unknown;
}

/** Tokens a model call used, as fanfold reports them. */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
}

/** A failed attempt of a specialist, and the retry after it. */
export interface Retry {
  attempt: number;
  /** When the page learnt of it. */
  t: number;
  /** When it failed, on the run's clock. */
  at: number | null | undefined;
  error: unknown;
  delayMs: number | undefined;
  reason: unknown;
}

/** A state the actor entered, when, and on which event. */
export interface Visit {
  t: number;
  v: string;
  ev: string | null;
}

/** What the page makes of an actor from its logic and snapshots. */
export type ActorKind = 'actor' | 'machine' | 'lead' | 'specialist' | 'synthesizer' | 'fanOut' | 'timer';

/** One actor the page knows of. Times named `…T` are the page's (message times), the rest the run's clock. */
export interface Actor {
  /** Unique in the page: the session id, with `#n` when a session id came back (a restarted app). */
  key: string;
  sid: string;
  name: string;
  parent: string | null;
  root: string;
  children: string[];
  /** Children's keys by name (the latest child of a name). */
  byName: Map<string, string>;
  def: MachineNode | null;
  isMachine: boolean;
  kind: ActorKind;
  /** The snapshot's status: active, done, error, stopped. */
  status: string;
  value: unknown;
  valueStr: string;
  history: Visit[];
  snap: Snapshot | null;
  createdT: number;
  endT: number | null;
  lastT: number;
  events: number;
  /** A later actor of the same name took its place under its parent. */
  superseded: boolean;
  /** Known only from run events (a specialist that never got an actor). */
  virtual: boolean;
  spec: { id: unknown; angle: unknown; kind: unknown } | null;
  phase: string | null;
  /** Model calls made (attempts begun and not waiting). */
  calls: number;
  model: unknown;
  runStart: number | null;
  runEnd: number | null;
  outcome: string | null;
  attemptsFinal: number | null;
  error: unknown;
  usage: Usage | null;
  retries: Retry[];
  /** Characters of streamed text. */
  streamed: number;
  ctx: LeadContext | null;
  result: LeadResult | null;
  fan: FanState | null;
  turn: number | null;
  tx: TX.Transcript | null;
  loopSum: TX.LoopSummary | null;
}

/** The lead's context fields the page keeps. */
export interface LeadContext {
  startedAt: unknown;
  deadlineAt: unknown;
  status: unknown;
  error: unknown;
  stop: unknown;
  total: number;
  settled: unknown;
  fulfilled: unknown;
}

/** A lead's output (its run's result), as far as the page reads it. */
export interface LeadResult {
  endedAt?: unknown;
  modelCalls?: unknown;
  usage?: unknown;
  missing?: unknown;
}

/** A fan-out's counts. */
export interface FanState {
  running: number;
  fulfilled: number;
  unsuccessful: number;
  total: number;
  stop: unknown;
}

/** An actor's snapshot, compacted by the wire: any field may be missing or of another type. */
export interface Snapshot {
  status?: unknown;
  value?: unknown;
  input?: unknown;
  progress?: unknown;
  context?: unknown;
  output?: unknown;
  error?: unknown;
  nextIndex?: unknown;
  outcomes?: unknown;
  running?: unknown;
  fulfilled?: unknown;
  unsuccessful?: unknown;
  stop?: unknown;
}

/** A specialist's progress, as fanfold puts it in the snapshot. */
interface Progress {
  phase: string;
  attempt: number;
  turn?: unknown;
  startedAt?: unknown;
  usage?: unknown;
  lastError?: unknown;
}

/** A specialist's outcome, as fanfold reports it. */
interface Outcome {
  status?: unknown;
  attempts?: unknown;
  error?: unknown;
  usage?: unknown;
  startedAt?: unknown;
  endedAt?: unknown;
  model?: unknown;
}

/** A run event (`specialist.*`) as the lead's `fanOut.progress` batches carry it. */
interface RunEvent {
  type: unknown;
  id: string;
  at?: unknown;
  model?: unknown;
  text?: unknown;
  attempt?: unknown;
  error?: unknown;
  delayMs?: unknown;
  reason?: unknown;
  outcome?: unknown;
}

/** An event sent to an actor, as far as the page reads it. */
type SentEvent = { type: unknown } & Record<string, unknown>;

/** One line of the event log. */
export interface LogEntry {
  t: number;
  key: string;
  root: string;
  kind: 'created' | 'state' | 'event';
  type: string;
  src: string | null;
  detail: string;
}

/** Everything the page knows, and what the reader chose to look at. */
export interface Model {
  actors: Map<string, Actor>;
  /** Session ids to actor keys (the latest actor of that id). */
  alias: Map<unknown, string>;
  gen: number;
  roots: string[];
  log: LogEntry[];
  version: number;
  maxT: number;
  lastT: number;
  badTimes: number;
  rootSel: string | null;
  /** Show each new run as it starts. */
  follow: boolean;
  selActor: string | null;
  logActor: string;
  logText: string;
  collapsed: Set<string>;
  laneSort: string;
  txBudget: TX.TextBudget;
}

/** Run events about one specialist's loop, as the lead's fan-out batches them. */
const LOOP_EVENTS: Record<string, number> = { 'specialist.tool.started': 1, 'specialist.tool.done': 1, 'specialist.turn': 1 };

/** The page's counters (for tests and the curious). */
export const stats = {
  renders: 0,
  lastRenderMs: 0,
  maxRenderMs: 0,
  totalRenderMs: 0,
  batches: 0,
  messages: 0,
  ingestMs: 0,
  connectedAt: 0,
  firstDataAt: 0,
  lastBatchAt: 0,
  parts: {} as Record<string, number>,
};

/** The model. Replaced whole when the server starts over (`hello`): read it afresh each time. */
export let S: Model = fresh();

function fresh(): Model {
  return {
    actors: new Map(),
    alias: new Map(),
    gen: 0,
    roots: [],
    log: [],
    version: 0,
    maxT: 0,
    lastT: 0,
    badTimes: 0,
    rootSel: null,
    follow: true,
    selActor: null,
    logActor: '',
    logText: '',
    collapsed: new Set(),
    laneSort: 'order',
    txBudget: TX.budget(),
  };
}

/** Starts over from an empty model, keeping the reader's lane sort. */
export function resetModel(): void {
  const keep = { laneSort: S.laneSort };
  S = fresh();
  S.laneSort = keep.laneSort;
}

function newActor(key: string, sid: string, name: string, parentKey: string | null, t: number): Actor {
  return {
    key: key,
    sid: sid,
    name: name,
    parent: parentKey,
    root: key,
    children: [],
    byName: new Map(),
    def: null,
    isMachine: false,
    kind: 'actor',
    status: 'active',
    value: undefined,
    valueStr: '',
    history: [],
    snap: null,
    createdT: t,
    endT: null,
    lastT: t,
    events: 0,
    superseded: false,
    virtual: false,
    spec: null,
    phase: null,
    calls: 0,
    model: null,
    runStart: null,
    runEnd: null,
    outcome: null,
    attemptsFinal: null,
    error: null,
    usage: null,
    retries: [],
    streamed: 0,
    ctx: null,
    result: null,
    fan: null,
    turn: null,
    tx: null,
    loopSum: null,
  };
}

function parseDef(d: unknown): MachineNode | null {
  if (typeof d === 'string') {
    try {
      d = JSON.parse(d);
    } catch {
      return null;
    }
  }
  return d && typeof d === 'object' ? (d as MachineNode) : null;
}

/** When a message was sent: its createdAt if sane, else the previous message's time, else now. */
function messageTime(createdAt: unknown): number {
  const t = typeof createdAt === 'number' || (typeof createdAt === 'string' && createdAt.trim() !== '') ? Number(createdAt) : NaN;
  if (t >= WALL_MIN && t <= WALL_MAX) return t;
  S.badTimes++;
  return S.lastT || Date.now();
}

/** Folds one wire message into the model; anything that is not one is ignored. */
export function ingest(raw: unknown): void {
  if (!raw || typeof raw !== 'object') return;
  const m = raw as { type?: unknown; sessionId?: unknown; createdAt?: unknown };
  if (typeof m.type !== 'string' || m.sessionId == null) return;
  const t = messageTime(m.createdAt);
  S.lastT = t;
  if (t > S.maxT) S.maxT = t;
  stats.messages++;
  if (m.type === '@xstate.actor') onActor(raw as WireActorMessage, t);
  else if (m.type === '@xstate.snapshot') onSnapshot(raw as WireSnapshotMessage, t);
  else if (m.type === '@xstate.event') onEvent(raw as WireEventMessage, t);
  S.version++;
}

function actorFor(sid: unknown, t: number): Actor {
  const key = S.alias.get(sid);
  let a = key ? S.actors.get(key) : undefined;
  if (a) return a;
  // Messages for an actor whose creation was not seen (the inspector connected late).
  a = newActor(String(sid), String(sid), String(sid), null, t);
  S.actors.set(a.key, a);
  S.alias.set(sid, a.key);
  S.roots.push(a.key);
  if (S.follow) S.rootSel = a.key;
  return a;
}

/** Fields a virtual actor (known from run events only) hands on to the real one that turns up. */
function carry<K extends keyof Actor>(a: Actor, prev: Actor, field: K): void {
  if (a[field] == null) a[field] = prev[field];
}

function onActor(m: WireActorMessage, t: number): void {
  let key = String(m.sessionId);
  if (S.actors.has(key)) {
    S.gen++;
    key = m.sessionId + '#' + S.gen;
  }
  S.alias.set(m.sessionId, key);
  const parentKey = m.parentId != null ? S.alias.get(m.parentId) : undefined;
  const parent = parentKey ? S.actors.get(parentKey) : undefined;
  const a = newActor(key, String(m.sessionId), String(m.name != null ? m.name : m.sessionId), parent ? parent.key : null, t);
  a.def = parseDef(m.definition);
  a.isMachine = !!a.def?.states;
  S.actors.set(key, a);
  if (parent) {
    a.root = parent.root;
    const prevKey = parent.byName.get(a.name);
    const prev = prevKey ? S.actors.get(prevKey) : undefined;
    if (prev?.virtual) {
      (['runStart', 'model', 'runEnd', 'outcome', 'attemptsFinal', 'error', 'usage', 'tx', 'loopSum'] as const).forEach((f) => carry(a, prev, f));
      a.retries = prev.retries;
      a.streamed = prev.streamed;
      parent.children = parent.children.filter((k) => k !== prev.key);
      S.actors.delete(prev.key);
    } else if (prev) {
      prev.superseded = true;
    }
    parent.children.push(key);
    parent.byName.set(a.name, key);
  } else {
    S.roots.push(key);
    if (S.follow) {
      S.rootSel = key;
      S.selActor = null;
      S.logActor = '';
    }
  }
  // Senders read this snapshot when they send (@statelyai/inspect on a later tick), so it may be
  // newer than the events that follow: it sets the current state, not the state history.
  applySnap(a, m.snapshot, t, null, true);
  addLog(a, t, 'created', 'created', null, a.isMachine ? 'machine' + (a.def?.id ? ' #' + a.def.id : '') : a.kind);
}

function onSnapshot(m: WireSnapshotMessage, t: number): void {
  const a = actorFor(m.sessionId, t);
  const ev = m.event && typeof m.event === 'object' ? m.event : null;
  applySnap(a, m.snapshot, t, ev ? ev.type : null);
}

function applySnap(a: Actor, raw: unknown, t: number, evType: unknown, fromActorMessage?: boolean): void {
  if (!raw || typeof raw !== 'object') return;
  const snap = raw as Snapshot;
  a.snap = snap;
  a.lastT = t;
  const st = typeof snap.status === 'string' ? snap.status : 'active';
  a.status = st;
  if (st !== 'active' && a.endT == null) a.endT = t;
  if (a.isMachine && snap.value !== undefined) {
    const vs = stateString(snap.value);
    if (fromActorMessage) {
      a.valueStr = vs;
      a.value = snap.value;
    } else if (vs !== a.valueStr || !a.history.length) {
      a.valueStr = vs;
      a.value = snap.value;
      // Event types are strings on the wire (a stray other value is shown as text).
      a.history.push({ t: t, v: vs, ev: evType as string | null });
      addLog(a, t, 'state', '→ ' + vs, null, evType ? 'after ' + String(evType) : '');
    }
  }
  const input = snap.input as { spec?: unknown; deadlineAt?: unknown } | null | undefined;
  const prog = snap.progress as Progress | null | undefined,
    ctx = snap.context as Record<string, unknown> | null | undefined;
  if (prog && input?.spec && typeof input.spec === 'object') {
    const spec = input.spec as { id?: unknown; angle?: unknown; kind?: unknown };
    a.kind = a.name === 'synthesizer' || spec.id === 'synthesizer' ? 'synthesizer' : 'specialist';
    a.spec = { id: spec.id, angle: spec.angle, kind: spec.kind };
    a.phase = prog.phase;
    a.calls = prog.phase === 'backingOff' ? prog.attempt - 1 : prog.attempt;
    if (typeof prog.turn === 'number' && Number.isFinite(prog.turn)) a.turn = prog.turn;
    const startedAt = runTime(prog.startedAt);
    if (a.runStart == null && startedAt != null) a.runStart = startedAt;
    if (prog.usage && typeof prog.usage === 'object') a.usage = prog.usage as Usage;
    if (prog.attempt > 1 && prog.lastError) addRetry(a, prog.attempt, { t: t, error: prog.lastError });
    const output = snap.output as Outcome | null | undefined;
    if (st === 'done' && output && output.status) applyOutcome(a, output);
  } else if (snap.nextIndex !== undefined && snap.outcomes !== undefined) {
    a.kind = 'fanOut';
    a.fan = { running: snap.running as number, fulfilled: snap.fulfilled as number, unsuccessful: snap.unsuccessful as number, total: arrLen(snap.outcomes), stop: snap.stop || null };
  } else if (input && typeof input === 'object' && input.deadlineAt !== undefined && !a.isMachine) {
    a.kind = 'timer';
  } else if (a.isMachine && ctx && typeof ctx === 'object' && ctx.input && ctx.outcomes !== undefined && ctx.startedAt !== undefined) {
    a.kind = 'lead';
    a.ctx = { startedAt: ctx.startedAt, deadlineAt: ctx.deadlineAt, status: ctx.status, error: ctx.error, stop: ctx.stop, total: arrLen(ctx.outcomes), settled: ctx.settled, fulfilled: ctx.fulfilled };
    const startedAt = runTime(ctx.startedAt);
    if (a.runStart == null && startedAt != null) a.runStart = startedAt;
    if (ctx.error) a.error = ctx.error;
    if (snap.output && typeof snap.output === 'object') {
      a.result = snap.output as LeadResult;
      const endedAt = runTime(a.result.endedAt);
      if (endedAt != null) a.runEnd = endedAt;
    }
  } else if (a.isMachine) {
    a.kind = 'machine';
  }
  if (st === 'error' && snap.error) a.error = snap.error;
}

function addRetry(a: Actor, attempt: number, info: { t: number; at?: number | null; error?: unknown; delayMs?: number; reason?: unknown }): void {
  for (const r of a.retries) {
    if (r.attempt === attempt) {
      if (info.at != null) r.at = info.at;
      if (info.delayMs != null) r.delayMs = info.delayMs;
      if (info.reason) r.reason = info.reason;
      if (info.error) r.error = info.error;
      return;
    }
  }
  a.retries.push({ attempt: attempt, t: info.t, at: info.at, error: info.error, delayMs: info.delayMs, reason: info.reason });
  a.retries.sort((x, y) => x.attempt - y.attempt);
}

function applyOutcome(a: Actor, o: Outcome | null | undefined): void {
  if (!o || typeof o !== 'object') return;
  a.outcome = o.status as string | null;
  if (typeof o.attempts === 'number') a.attemptsFinal = o.attempts;
  a.error = o.error || null;
  if (o.usage && typeof o.usage === 'object') a.usage = o.usage as Usage;
  const startedAt = runTime(o.startedAt),
    endedAt = runTime(o.endedAt);
  if (startedAt != null) a.runStart = startedAt;
  if (endedAt != null) a.runEnd = endedAt;
  if (o.model) a.model = o.model;
  const loop = TX.outcomeSummary(o);
  if (loop) a.loopSum = loop;
}

function onEvent(m: WireEventMessage, t: number): void {
  const a = actorFor(m.sessionId, t);
  const ev: SentEvent = m.event && typeof m.event === 'object' ? m.event : { type: String(m.event) };
  const type = String(ev.type);
  a.events++;
  const srcKey = m.sourceId != null ? S.alias.get(m.sourceId) : undefined;
  addLog(a, t, 'event', type, srcKey || null, detailOf(ev));
  if (type === 'fanOut.progress' && Array.isArray(ev.events)) {
    for (const re of ev.events as unknown[]) applyRunEvent(a, re, t);
  } else if ((type === 'specialist.started' || type === 'specialist.retrying' || LOOP_EVENTS[type] === 1) && typeof ev.id === 'string' && a.byName.has(ev.id)) {
    // The synthesizer reports to the lead directly.
    const target = S.actors.get(a.byName.get(ev.id)!);
    if (target) applyRunEventTo(target, ev as unknown as RunEvent, t);
  }
}

function applyRunEvent(lead: Actor, raw: unknown, t: number): void {
  if (!raw || typeof raw !== 'object') return;
  const re = raw as RunEvent;
  if (typeof re.id !== 'string') return;
  const fanKey = lead.byName.get('fanOut');
  const container = (fanKey && S.actors.get(fanKey)) || lead;
  const key = container.byName.get(re.id);
  let target = key ? S.actors.get(key) : undefined;
  if (!target) {
    // A specialist that never got an actor (it was still queued when the run stopped).
    const vkey = container.key + '/' + re.id;
    target = newActor(vkey, vkey, re.id, container.key, t);
    target.virtual = true;
    target.kind = 'specialist';
    target.root = container.root;
    target.status = 'done';
    S.actors.set(vkey, target);
    container.children.push(vkey);
    container.byName.set(re.id, vkey);
  }
  applyRunEventTo(target, re, t);
}

function applyRunEventTo(a: Actor, re: RunEvent, t: number): void {
  switch (re.type) {
    case 'specialist.started': {
      const at = runTime(re.at);
      if (at != null && a.runStart == null) a.runStart = at;
      if (re.model) a.model = re.model;
      break;
    }
    case 'specialist.token':
      a.streamed += typeof re.text === 'string' ? re.text.length : 0;
      break;
    case 'specialist.retrying':
      addRetry(a, re.attempt as number, { t: t, at: runTime(re.at), error: re.error, delayMs: re.delayMs as number, reason: re.reason });
      break;
    case 'specialist.done':
    case 'specialist.failed':
    case 'specialist.timedOut':
    case 'specialist.skipped':
      applyOutcome(a, re.outcome as Outcome | null | undefined);
      break;
    case 'specialist.tool.started':
    case 'specialist.tool.done':
    case 'specialist.turn':
      if (!a.tx) a.tx = TX.create();
      TX.apply(S.txBudget, a.tx, re, t);
      break;
  }
}

/** The event log's detail for an event: what a batch holds, an output's status, an error. */
function detailOf(ev: SentEvent): string {
  const type = String(ev.type);
  if (type === 'fanOut.progress' && Array.isArray(ev.events)) {
    const events = ev.events as Array<{ type?: unknown; id?: unknown } | null>;
    const counts: Record<string, number> = {},
      order: string[] = [];
    events.forEach((e) => {
      const k = e?.type ? String(e.type).replace(/^specialist\./, '') : '?';
      if (!counts[k]) {
        counts[k] = 0;
        order.push(k);
      }
      counts[k]++;
    });
    const parts = order.map((k) => k + ' ×' + counts[k]);
    const ids = events
      .filter((e) => e?.id)
      .slice(0, 4)
      .map((e) => e!.id);
    return parts.join(', ') + (ids.length ? ' (' + ids.join(', ') + (events.length > 4 ? ', …' : '') + ')' : '') + (ev.allStarted ? ' · all started' : '');
  }
  if (type.indexOf('xstate.done.actor.') === 0) {
    const out = ev.output as { status?: unknown; error?: unknown } | null | undefined;
    if (out && typeof out === 'object') return 'output: ' + (out.status || 'done') + (out.error ? ' — ' + errText(out.error) : '');
    return 'done';
  }
  if (type.indexOf('xstate.error.actor.') === 0) return 'error: ' + errText(ev.error);
  if (ev.error) return errText(ev.error);
  if (typeof ev.id === 'string') return ev.id;
  if (typeof ev.reason === 'string') return ev.reason;
  return '';
}

function addLog(a: Actor, t: number, kind: LogEntry['kind'], type: string, srcKey: string | null, detail: string): void {
  S.log.push({ t: t, key: a.key, root: a.root, kind: kind, type: type, src: srcKey, detail: detail || '' });
}
