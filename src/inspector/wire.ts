/**
 * The inspector's wire format: the JSON messages `@statelyai/inspect`'s
 * `createWebSocketInspector` sends (one object per websocket frame), and the conversion of
 * XState inspection events into them for in-process use.
 *
 * Three message types, each with `sessionId`, `rootId`, `createdAt` (ms since epoch, as a
 * string), `id: null` and `_version`:
 * - `@xstate.actor` — an actor was created: `name`, `parentId`, `definition` (the machine
 *   config as a JSON string, or `{"id":name}` for other logic), `snapshot`;
 * - `@xstate.event` — an event was sent to `sessionId`: `event`, `sourceId`;
 * - `@xstate.snapshot` — `sessionId` has a new snapshot: `snapshot`, `event` (what caused it; only its
 *   `type` in messages this module makes, as the event went out whole in its `@xstate.event`).
 *
 * Everything that goes on the wire passes {@link compactJson}: functions are dropped (or named,
 * in definitions), actor refs become ids, circular references a marker, long arrays and
 * strings are cut with a marker saying how much was left out, and anything that looks like a
 * secret is replaced by `[redacted]`: text under a secret-looking key (see {@link isSecretKey}),
 * and secret-looking text (see {@link redactSecrets}) anywhere, object keys and the protocol's
 * own fields (`name`, `sessionId`, `parentId`…) included.
 */
import type { AnyEventObject, InspectionEvent, Observer } from 'xstate';
import { redactSecrets } from '../redact.ts';

export { redactSecrets };

/** `_version` of the messages this module creates. */
export const WIRE_VERSION = 'fanfold-inspector/1';

interface WireBase {
  sessionId: string;
  rootId: string | undefined;
  /** ms since epoch, as a decimal string (as `@statelyai/inspect` sends it). */
  createdAt: string;
  id: null;
  _version: string;
}

/** An actor was created. */
export interface WireActorMessage extends WireBase {
  type: '@xstate.actor';
  name: string;
  parentId: string | undefined;
  /** JSON of the machine config (`{"id":…}` for non-machine logic). */
  definition: string | undefined;
  snapshot: unknown;
}

/** An event was sent to the actor `sessionId` (from `sourceId`, if another actor sent it). */
export interface WireEventMessage extends WireBase {
  type: '@xstate.event';
  event: { type: string } & Record<string, unknown>;
  sourceId: string | undefined;
}

/** The actor `sessionId` has a new snapshot, caused by `event`. */
export interface WireSnapshotMessage extends WireBase {
  type: '@xstate.snapshot';
  event: { type: string } & Record<string, unknown>;
  snapshot: unknown;
}

/** One message of the inspection websocket protocol. */
export type WireMessage = WireActorMessage | WireEventMessage | WireSnapshotMessage;

/** Bounds of {@link compactJson}: every value it returns is at most this big. */
export interface CompactLimits {
  /** Nesting below this depth becomes `"[…]"`. */
  maxDepth: number;
  /** Items past this many are replaced by one marker string `"…N more"`. */
  maxArrayItems: number;
  /** Keys past this many are replaced by a `"…": "N more keys"` entry. */
  maxObjectKeys: number;
  /** Characters past this many are replaced by `…(+N chars)`. */
  maxStringLength: number;
  /**
   * Values kept; past it, containers still unfilled end in a marker (`"…": "N more keys"`,
   * `"…N more"`), so one message costs O(1) at any scale. Breadth first: deep values go first.
   */
  maxNodes: number;
  /** Functions: dropped (`'drop'`, for data) or `{ type: name }` (`'name'`, for definitions, as Stately does). */
  functions?: 'drop' | 'name';
}

/**
 * Limits for snapshots. Small on purpose: a fan-out's snapshot lists every specialist and is
 * re-sent on every transition, so at 1,000 specialists full snapshots would make inspection
 * traffic quadratic.
 */
export const SNAPSHOT_LIMITS: CompactLimits = { maxDepth: 6, maxArrayItems: 3, maxObjectKeys: 100, maxStringLength: 300, maxNodes: 100 };
/** Limits for events: a fan-out's batch of up to 128 run events must pass whole. */
export const EVENT_LIMITS: CompactLimits = { maxDepth: 10, maxArrayItems: 256, maxObjectKeys: 200, maxStringLength: 1_000, maxNodes: 20_000 };
/** Limits for machine definitions: whole, with functions named. */
export const DEFINITION_LIMITS: CompactLimits = { maxDepth: 64, maxArrayItems: 2_000, maxObjectKeys: 2_000, maxStringLength: 2_000, maxNodes: 100_000, functions: 'name' };

const REDACTED = '[redacted]';
/**
 * Parts of a key (lowercased, `-`, `_`, `.` and spaces removed) that say its value is a secret:
 * `x-goog-api-key`, `ANTHROPIC_API_KEY`, `openaiApiKey`, `x-auth-token`, `Set-Cookie`,
 * `clientSecret`, `password`, `credentials`… `auth` but not `author`/`authority`; `key` only
 * as a whole key or in a known kind of key (`taskKey`, `cacheKey` are names, not secrets).
 */
const SECRET_KEY_PART = /apikey|token|secret|passw|passphrase|auth(?!or(?!iz))|cookie|credential|bearer|privatekey|accesskey|signingkey|encryptionkey|sessionkey|masterkey|^(?:key|pass|pwd)$/;
/** {@link isSecretKey}'s pattern, as source text: the inspector page applies the same rule. */
export const SECRET_KEY_SOURCE = SECRET_KEY_PART.source;
const STRING_CUT = /…\(\+\d+ chars\)$/;
const ARRAY_CUT = /^…\d+ more$/;

/**
 * True for a key whose text value is a secret, e.g. `apiKey`, `x-goog-api-key`,
 * `ANTHROPIC_API_KEY`, `authorization`, `token`, `password`, `cookie`. {@link compactJson}
 * redacts text under such keys (and the text items of a list under one); numbers, booleans and
 * null stay (`inputTokens: 120` and `maxTokens: 1024` are counts, not secrets), and objects are
 * walked, their own keys deciding. Keys of a machine's `on` are event types, never secrets.
 *
 * @example
 * isSecretKey('x-goog-api-key'); // → true
 * isSecretKey('taskKey');        // → false
 */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PART.test(key.toLowerCase().replace(/[-_.\s]/g, ''));
}

function cutString(text: string, max: number): string {
  const clean = redactSecrets(text);
  if (clean.length <= max) return clean;
  // Already cut by an earlier pass: keep it as it is (compacting twice changes nothing).
  if (STRING_CUT.test(clean) && clean.length <= max + 24) return clean;
  return `${clean.slice(0, max)}…(+${clean.length - max} chars)`;
}

interface ActorRefShape {
  id: string;
  sessionId: string;
  send: unknown;
  getSnapshot: unknown;
}

function isActorRef(value: object): value is ActorRefShape {
  const ref = value as Partial<ActorRefShape>;
  return typeof ref.sessionId === 'string' && typeof ref.send === 'function' && typeof ref.getSnapshot === 'function';
}

/** Sets an own property, `__proto__` included (plain assignment would change the prototype instead). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A plain-JSON copy of `value` within `limits`: safe to `JSON.stringify`, never circular,
 * never holding functions, class instances (other than errors, dates, maps and sets) or
 * credentials. Objects with `toJSON` (XState snapshots, actor refs) are converted first.
 *
 * Breadth first: the node budget is spent on shallow fields before deep ones, so a snapshot's
 * `status`, `value` and top-level context survive and only deep detail is cut.
 *
 * @example
 * compactJson({ apiKey: 'sk-ant-…', items: new Array(50).fill(1) }, SNAPSHOT_LIMITS);
 * // → { apiKey: '[redacted]', items: [1, 1, 1, '…47 more'] }
 */
export function compactJson(value: unknown, limits: CompactLimits): unknown {
  /** A container to fill: its source, its copy, and its parent (to detect cycles). */
  interface Pending {
    source: object;
    original: object;
    target: Record<string, unknown> | unknown[];
    depth: number;
    parent: Pending | null;
    /** The key it sits under in its parent object (`on`: a machine's transitions, keyed by event types). */
    key: string | undefined;
    /** Under a secret-looking key: its text items are secrets. */
    secret: boolean;
  }
  let nodes = 0;
  const queue: Pending[] = [];

  const onChain = (pending: Pending | null, object: object): boolean => {
    for (let at = pending; at; at = at.parent) if (at.original === object || at.source === object) return true;
    return false;
  };

  /** A primitive, or an empty container queued to be filled. `key`: where it sits in its parent object; `secret`: that key looks like a secret's. */
  const convert = (input: unknown, depth: number, parent: Pending | null, key?: string, secret = false): unknown => {
    nodes++;
    switch (typeof input) {
      case 'string':
        return secret ? REDACTED : cutString(input, limits.maxStringLength);
      case 'number':
        return Number.isFinite(input) ? input : String(input);
      case 'boolean':
        return input;
      case 'bigint':
        return input.toString();
      case 'function':
        return limits.functions === 'name' ? { type: (input as { name?: string }).name || 'anonymous' } : undefined;
      case 'undefined':
      case 'symbol':
        return undefined;
    }
    if (input === null) return null;
    const object = input as object;
    if (onChain(parent, object)) return '[Circular]';
    if (depth >= limits.maxDepth || nodes > limits.maxNodes) return '[…]';
    if (isActorRef(object)) return { xstate$$type: 1, id: object.id, sessionId: object.sessionId };
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    let source: object = object;
    if (object instanceof Error) {
      // Own fields such as `kind` and `status`, but never `cause` (an SDK error's cause may hold the request) or `stack`.
      const fields: Record<string, unknown> = { name: object.name, message: object.message };
      for (const key of Object.keys(object)) {
        if (key !== 'cause' && key !== 'stack') fields[key] = (object as unknown as Record<string, unknown>)[key];
      }
      source = fields;
    } else if (!Array.isArray(object) && typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      let json: unknown;
      try {
        json = (object as { toJSON(): unknown }).toJSON();
      } catch {
        return '[unserialisable]';
      }
      if (typeof json !== 'object' || json === null) {
        nodes--;
        return convert(json, depth, parent, key, secret);
      }
      source = json;
    } else if (object instanceof Map) {
      source = [...object.entries()];
    } else if (object instanceof Set) {
      source = [...object];
    } else if (ArrayBuffer.isView(object)) {
      return `[${object.constructor.name} ${object.byteLength} bytes]`;
    } else if (!Array.isArray(object) && !isPlainObject(object)) {
      // A class instance (a client, a socket, a provider…): never walked, it may hold anything.
      return `[${(object.constructor as { name?: string } | undefined)?.name || 'object'}]`;
    }
    const target: Record<string, unknown> | unknown[] = Array.isArray(source) ? [] : {};
    queue.push({ source, original: object, target, depth, parent, key, secret: secret && Array.isArray(source) });
    return target;
  };

  const fill = (pending: Pending) => {
    const { source, target, depth } = pending;
    if (Array.isArray(source)) {
      const list = target as unknown[];
      // An array cut by an earlier pass ends with its marker: keep it as it is.
      const max = limits.maxArrayItems;
      const alreadyCut = source.length === max + 1 && typeof source[max] === 'string' && ARRAY_CUT.test(source[max] as string);
      let keep = alreadyCut ? source.length : Math.min(source.length, max);
      for (let index = 0; index < keep; index++) {
        // Out of budget: the marker still says how many items there were.
        if (nodes >= limits.maxNodes && !alreadyCut) {
          keep = index;
          break;
        }
        const item = convert(source[index], depth + 1, pending, undefined, pending.secret);
        list.push(item === undefined ? null : item);
      }
      if (keep < source.length) list.push(`…${source.length - keep} more`);
      return;
    }
    const out = target as Record<string, unknown>;
    const record = source as Record<string, unknown>;
    const keys = Object.keys(record);
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      if (key === '…' && typeof record[key] === 'string') {
        // The marker of an earlier pass.
        out[key] = record[key];
        continue;
      }
      if (index >= limits.maxObjectKeys || nodes >= limits.maxNodes) {
        out['…'] = `${keys.length - index} more keys`;
        break;
      }
      // A key is text too: one that looks like a credential is redacted, a long one cut.
      let name = cutString(key, limits.maxStringLength);
      if (name !== key) {
        for (let n = 2; Object.hasOwn(out, name) || name === '…'; n++) name = `${cutString(key, limits.maxStringLength)}#${n}`;
      }
      // Text under a secret-looking key (and text items of a list under one) is redacted; numbers,
      // booleans and null stay (`inputTokens: 12`), objects are walked (their own keys decide).
      // A machine's `on` is keyed by event types (`auth.login`, `specialist.token`): not secrets.
      const secret = pending.key !== 'on' && isSecretKey(key);
      const item = convert(record[key], depth + 1, pending, key, secret);
      if (item !== undefined) put(out, name, item);
    }
  };

  const root = convert(value, 0, null);
  for (let head = 0; head < queue.length; head++) fill(queue[head]!);
  return root;
}

/** Limits for a snapshot's `value` (its current state): kept whole whatever the snapshot limits cut. */
const STATE_VALUE_LIMITS: CompactLimits = { maxDepth: 32, maxArrayItems: 100, maxObjectKeys: 500, maxStringLength: 300, maxNodes: 5_000 };

/**
 * Limits for a message this module already compacted (a recording): a compacted value holds at
 * most `maxNodes` values plus one marker per container, so twice the budget keeps it as it is.
 */
function again(limits: CompactLimits): CompactLimits {
  return { ...limits, maxNodes: limits.maxNodes * 2 + 2 };
}

/** A snapshot within {@link SNAPSHOT_LIMITS}, its state `value` whole. */
export function compactSnapshot(snapshot: unknown, limits: CompactLimits = SNAPSHOT_LIMITS): unknown {
  const compacted = compactJson(snapshot, limits);
  if (typeof snapshot === 'object' && snapshot !== null && 'value' in snapshot && typeof compacted === 'object' && compacted !== null && !Array.isArray(compacted)) {
    (compacted as Record<string, unknown>).value = compactJson((snapshot as { value: unknown }).value, STATE_VALUE_LIMITS);
  }
  return compacted;
}

/** Event types that carry one streamed text delta each: never sent to inspectors (their text arrives in the outcome). */
const TOKEN_EVENT_TYPES = new Set(['specialist.token', 'synthesis.token']);

/** True for a streamed-delta event (`specialist.token`, `synthesis.token`). */
export function isTokenEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && TOKEN_EVENT_TYPES.has((event as { type?: unknown }).type as string);
}

interface InspectedRef {
  id: string;
  sessionId: string;
  _parent?: InspectedRef | undefined;
  logic?: { config?: unknown };
  system?: object;
  getSnapshot(): unknown;
}

/**
 * Every XState system numbers its actors from `x:0`, so two runs in one process would share
 * session ids: actors of the second and later systems seen get a `~N` suffix. Module-wide, so
 * an in-process server and a recorder watching the same run agree on every id.
 */
const systemTags = new WeakMap<object, string>();
let systemsSeen = 0;

function sessionIdOf(ref: InspectedRef): string {
  const system = ref.system;
  if (!system) return ref.sessionId;
  let tag = systemTags.get(system);
  if (tag === undefined) {
    systemsSeen++;
    tag = systemsSeen === 1 ? '' : `~${systemsSeen}`;
    systemTags.set(system, tag);
  }
  return ref.sessionId + tag;
}

function eventObject(event: unknown, limits: CompactLimits): WireEventMessage['event'] {
  const compacted = compactJson(event, limits);
  if (typeof compacted === 'object' && compacted !== null && !Array.isArray(compacted) && typeof (compacted as { type?: unknown }).type === 'string') {
    return compacted as WireEventMessage['event'];
  }
  return { type: typeof event === 'string' ? event : 'unknown' };
}

function definitionOf(ref: InspectedRef, name: string): string {
  const config = ref.logic?.config;
  return JSON.stringify(typeof config === 'object' && config !== null ? compactJson(config, DEFINITION_LIMITS) : { id: name });
}

/** Longest `sessionId`, `rootId`, `parentId`, `sourceId` or `name` kept; longer ones are cut with a marker. */
export const MAX_FIELD_LENGTH = 256;

/** A protocol field (an id, a name): text, redacted and at most {@link MAX_FIELD_LENGTH} long. */
function field(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  return text === undefined ? undefined : cutString(text, MAX_FIELD_LENGTH);
}

/** 2000-01-01 and 2100-01-01, in ms since epoch: a `createdAt` outside is not a time of a run. */
const EARLIEST_TIME = Date.UTC(2000, 0, 1);
const LATEST_TIME = Date.UTC(2100, 0, 1);

/** `createdAt` as sent, if it is a whole number of ms between 2000 and 2100; else the time it arrived. */
function createdAtOf(value: unknown): string {
  const ms = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : typeof value === 'number' ? value : NaN;
  return Number.isSafeInteger(ms) && ms >= EARLIEST_TIME && ms <= LATEST_TIME ? String(ms) : String(Date.now());
}

/**
 * Converts one XState inspection event into the wire message `createWebSocketInspector` would
 * send for it, or `undefined` for events that protocol leaves out (`@xstate.microstep`,
 * `@xstate.action`) and for streamed-delta events (see {@link isTokenEvent}).
 *
 * @example
 * createActor(machine, { inspect: (event) => { const message = toWireMessage(event); if (message) socket.send(JSON.stringify(message)); } });
 */
export function toWireMessage(event: InspectionEvent): WireMessage | undefined {
  const ref = event.actorRef as unknown as InspectedRef;
  let root: InspectedRef = ref;
  while (root._parent) root = root._parent;
  const base = { sessionId: field(sessionIdOf(ref)) ?? '', rootId: field(sessionIdOf(root)), createdAt: String(Date.now()), id: null, _version: WIRE_VERSION };
  switch (event.type) {
    case '@xstate.actor': {
      const config = ref.logic?.config as { id?: unknown } | undefined;
      const name = ref.id === ref.sessionId && typeof config?.id === 'string' ? config.id : ref.id;
      let snapshot: unknown;
      try {
        snapshot = compactSnapshot(ref.getSnapshot());
      } catch {
        snapshot = { status: 'active' };
      }
      return {
        type: '@xstate.actor',
        ...base,
        name: field(name) ?? base.sessionId,
        parentId: ref._parent ? field(sessionIdOf(ref._parent)) : undefined,
        definition: definitionOf(ref, name),
        snapshot,
      };
    }
    case '@xstate.event': {
      if (isTokenEvent(event.event)) return undefined;
      const source = event.sourceRef as unknown as InspectedRef | undefined;
      return { type: '@xstate.event', ...base, event: eventObject(event.event, EVENT_LIMITS), sourceId: source ? field(sessionIdOf(source)) : undefined };
    }
    case '@xstate.snapshot': {
      if (isTokenEvent(event.event)) return undefined;
      return { type: '@xstate.snapshot', ...base, event: { type: eventType(event.event) }, snapshot: compactSnapshot(event.snapshot) };
    }
    default:
      return undefined;
  }
}

/** The type of an event, for snapshot messages: the event itself already went out in its `@xstate.event` message. */
function eventType(event: unknown): string {
  const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : event;
  return typeof type === 'string' ? cutString(type, EVENT_LIMITS.maxStringLength) : '';
}

const MESSAGE_TYPES: ReadonlySet<unknown> = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

/**
 * Why `raw` is not an inspection message, or `undefined` if it is one (streamed-delta events
 * included, though {@link normalizeWireMessage} drops them). The same test as
 * {@link normalizeWireMessage}'s, without its cost.
 *
 * @example
 * wireMessageProblem({ type: '@xstate.actor' }); // → 'it has no sessionId (a string)'
 */
export function wireMessageProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return `expected a JSON object like {"type":"@xstate.actor","sessionId":…}, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : `a ${typeof raw}`}`;
  const { type, sessionId } = raw as { type?: unknown; sessionId?: unknown };
  if (!MESSAGE_TYPES.has(type)) return `its type is ${type === undefined ? 'missing' : (JSON.stringify(type)?.slice(0, 80) ?? String(type))}, not @xstate.actor, @xstate.event or @xstate.snapshot`;
  if (field(sessionId) === undefined) return 'it has no sessionId (a string)';
  return undefined;
}

/**
 * Checks and bounds a message that came from outside (a websocket client, a recording): the
 * result holds only the protocol's fields, compacted and redacted like {@link toWireMessage}'s
 * (ids and names at most {@link MAX_FIELD_LENGTH} long; a `createdAt` that is not a time
 * between 2000 and 2100 becomes the time it arrived). Returns `undefined` for anything that is
 * not one of the three message types (see {@link wireMessageProblem}), and for streamed-delta
 * events.
 */
export function normalizeWireMessage(raw: unknown): WireMessage | undefined {
  if (wireMessageProblem(raw) !== undefined) return undefined;
  const message = raw as Record<string, unknown>;
  const sessionId = field(message.sessionId)!;
  // Our own messages (a recording) are compact already: compacting them again must not cut more.
  const ours = message._version === WIRE_VERSION;
  const snapshotLimits = ours ? again(SNAPSHOT_LIMITS) : SNAPSHOT_LIMITS;
  const eventLimits = ours ? again(EVENT_LIMITS) : EVENT_LIMITS;
  const base = {
    sessionId,
    rootId: field(message.rootId),
    createdAt: createdAtOf(message.createdAt),
    id: null,
    _version: field(message._version) ?? 'unknown',
  };
  switch (message.type) {
    case '@xstate.actor': {
      const name = field(message.name) ?? sessionId;
      let definition: string | undefined;
      if (typeof message.definition === 'string') {
        definition = message.definition.length > 4_000_000 ? JSON.stringify({ id: name }) : redactSecrets(message.definition);
        // Keys that hold secrets are redacted too: re-serialise when the definition parses.
        try {
          definition = JSON.stringify(compactJson(JSON.parse(definition) as unknown, DEFINITION_LIMITS));
        } catch {
          definition = JSON.stringify({ id: name });
        }
      } else if (typeof message.definition === 'object' && message.definition !== null) {
        definition = JSON.stringify(compactJson(message.definition, DEFINITION_LIMITS));
      }
      return { type: '@xstate.actor', ...base, name, parentId: field(message.parentId), definition, snapshot: compactSnapshot(message.snapshot ?? { status: 'active' }, snapshotLimits) };
    }
    case '@xstate.event':
      if (isTokenEvent(message.event)) return undefined;
      return { type: '@xstate.event', ...base, event: eventObject(message.event, eventLimits), sourceId: field(message.sourceId) };
    default:
      if (isTokenEvent(message.event)) return undefined;
      return { type: '@xstate.snapshot', ...base, event: { type: eventType(message.event) }, snapshot: compactSnapshot(message.snapshot, snapshotLimits) };
  }
}

/** The default of {@link serializeWireMessage}'s `maxBytes`: 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Limits for a definition that does not fit whole in a message: its shape (states, transitions), short texts. */
const SMALL_DEFINITION_LIMITS: CompactLimits = { maxDepth: 32, maxArrayItems: 100, maxObjectKeys: 500, maxStringLength: 200, maxNodes: 10_000, functions: 'name' };

/** Bytes of `text` in UTF-8 (without `Buffer`: this module runs in browsers too). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function fits(line: string, maxBytes: number): boolean {
  // A UTF-16 unit is 1 to 3 bytes in UTF-8: most lines need no count.
  if (line.length * 3 <= maxBytes) return true;
  return line.length <= maxBytes && utf8Length(line) <= maxBytes;
}

/**
 * `message` as one JSON line of at most `maxBytes` bytes (UTF-8), or `undefined` if even a
 * smaller form does not fit. A message too big whole is compacted further, step by step: a
 * machine definition to its shape, then to `{"id":name}`; an event to a snapshot's limits, then
 * to its `type`; a snapshot to `{status, value}`. The same message always gives the same line,
 * so a recording replays to what the live view showed.
 *
 * @example
 * const line = serializeWireMessage(message); // → '{"type":"@xstate.actor",…}' or undefined
 */
export function serializeWireMessage(message: WireMessage, maxBytes: number = MAX_MESSAGE_BYTES): string | undefined {
  let line = JSON.stringify(message);
  if (fits(line, maxBytes)) return line;
  const steps: Array<(current: WireMessage) => WireMessage> = [];
  if (message.type === '@xstate.actor') {
    steps.push((current) => {
      const actor = current as WireActorMessage;
      if (actor.definition === undefined) return actor;
      try {
        return { ...actor, definition: JSON.stringify(compactJson(JSON.parse(actor.definition) as unknown, SMALL_DEFINITION_LIMITS)), snapshot: compactSnapshot(actor.snapshot) };
      } catch {
        return { ...actor, definition: JSON.stringify({ id: actor.name }) };
      }
    });
    steps.push((current) => ({ ...(current as WireActorMessage), definition: JSON.stringify({ id: (current as WireActorMessage).name }) }));
  } else if (message.type === '@xstate.event') {
    steps.push((current) => ({ ...(current as WireEventMessage), event: eventObject((current as WireEventMessage).event, SNAPSHOT_LIMITS) }));
    steps.push((current) => ({ ...(current as WireEventMessage), event: { type: (current as WireEventMessage).event.type } }));
  }
  if (message.type !== '@xstate.event') {
    steps.push((current) => {
      const snapshot = (current as WireActorMessage | WireSnapshotMessage).snapshot;
      const { status, value } = typeof snapshot === 'object' && snapshot !== null ? (snapshot as { status?: unknown; value?: unknown }) : {};
      return { ...current, snapshot: compactJson({ status, value }, SNAPSHOT_LIMITS) } as WireMessage;
    });
  }
  let current = message;
  for (const step of steps) {
    current = step(current);
    line = JSON.stringify(current);
    if (fits(line, maxBytes)) return line;
  }
  return undefined;
}

/** An XState inspection observer: a function, or an observer object (as `@statelyai/inspect` returns). */
export type InspectionObserver = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

function deliver(observer: InspectionObserver, event: InspectionEvent): void {
  if (typeof observer === 'function') observer(event);
  else observer.next?.(event);
}

/**
 * One observer that feeds several: e.g. the local inspector and a recorder at once. An
 * observer that throws is reported to `onError` (default `console.error`) and does not stop
 * the others, nor the run.
 *
 * @example
 * runFanOut(config, { provider, inspect: combineInspectors(server.inspect, recorder.inspect) });
 */
export function combineInspectors(...observers: Array<InspectionObserver | undefined>): (event: InspectionEvent) => void {
  const list = observers.filter((observer): observer is InspectionObserver => observer !== undefined);
  return (event) => {
    for (const observer of list) {
      try {
        deliver(observer, event);
      } catch (error) {
        console.error('An inspection observer failed:', error);
      }
    }
  };
}

/** Options of {@link filterInspection}. */
export interface FilterInspectionOptions {
  /** Streamed-delta events (`specialist.token`, `synthesis.token`): `'drop'` (default) or `'keep'`. */
  tokens?: 'drop' | 'keep';
  /**
   * Hand the observer bounded, redacted copies of snapshots, events and machine definitions
   * (see {@link compactJson}) instead of the live objects. Default `true`.
   */
  compact?: boolean;
}

/**
 * Wraps an inspection observer — e.g. `createWebSocketInspector(…).inspect` or
 * `createBrowserInspector().inspect` from `@statelyai/inspect` — so it receives no streamed
 * deltas and only bounded, redacted data. Without it, the synthesizer's deltas reach the lead
 * one event each (and the lead's whole context is re-sent with each), and a secret kept in a
 * machine's context would be sent as is.
 *
 * @example
 * const stately = createWebSocketInspector({ url: 'ws://127.0.0.1:4000/inspect' });
 * runFanOut(config, { provider, inspect: filterInspection(stately.inspect) });
 */
export function filterInspection(observer: InspectionObserver, options: FilterInspectionOptions = {}): (event: InspectionEvent) => void {
  const dropTokens = (options.tokens ?? 'drop') === 'drop';
  const compact = options.compact ?? true;
  return (event) => {
    if (dropTokens && 'event' in event && isTokenEvent(event.event)) return;
    if (!compact) return deliver(observer, event);
    switch (event.type) {
      case '@xstate.snapshot':
      case '@xstate.microstep':
      case '@xstate.transition':
        return deliver(observer, { ...event, event: eventObject(event.event, SNAPSHOT_LIMITS), snapshot: compactSnapshot(event.snapshot) as typeof event.snapshot } as InspectionEvent);
      case '@xstate.event':
        return deliver(observer, { ...event, event: eventObject(event.event, EVENT_LIMITS) as AnyEventObject });
      case '@xstate.actor': {
        // Inspectors read the definition and the snapshot from the actor ref itself: hand them
        // a stand-in that answers with bounded, redacted copies.
        const ref = event.actorRef as unknown as InspectedRef;
        const config = ref.logic?.config;
        const standIn = {
          id: ref.id,
          sessionId: ref.sessionId,
          _parent: ref._parent,
          system: ref.system,
          logic: typeof config === 'object' && config !== null ? { config: compactJson(config, DEFINITION_LIMITS) } : {},
          // Read when the inspector asks (a machine's snapshot cannot be read while it initialises).
          getSnapshot: () => compactSnapshot(ref.getSnapshot()),
          send: () => {},
          toJSON: () => ({ xstate$$type: 1, id: ref.id }),
        };
        return deliver(observer, { ...event, actorRef: standIn as unknown as typeof event.actorRef });
      }
      default:
        return deliver(observer, event);
    }
  };
}
