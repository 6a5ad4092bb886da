/**
 * The inspector page's fold of specialists' tool-use loops (src/inspector/page/transcript.ts),
 * run outside the page: tool calls and turns into lane segments and a transcript, redaction
 * of what it shows, and its bounds per specialist and across a page. Also: the wire redacts
 * and keeps these events' fields.
 */
import { describe, expect, it } from 'vitest';
import { APP_JS } from '../src/inspector/page.ts';
import * as transcript from '../src/inspector/page/transcript.ts';
import { EVENT_LIMITS, compactJson, normalizeWireMessage, redactSecrets, WIRE_VERSION } from '../src/inspector/index.ts';

const SECRET = 'sk-ant-secret-0123456789abcdefghijklmnopqrstuvwxyz';

// The module the page bundles, with its own types.
const fold = () => transcript;

const started = (id: string, callId: string, turn: number, tool: string, at: number, extra: Record<string, unknown> = {}) => ({
  type: 'specialist.tool.started',
  id,
  tool,
  callId,
  turn,
  server: false,
  input: '{"q":"x"}',
  at,
  ...extra,
});
const done = (id: string, callId: string, turn: number, tool: string, at: number, ms: number, extra: Record<string, unknown> = {}) => ({
  type: 'specialist.tool.done',
  id,
  tool,
  callId,
  turn,
  server: false,
  ms,
  isError: false,
  error: null,
  result: `${tool} result`,
  at,
  ...extra,
});
const turnEvent = (id: string, turn: number, at: number, extra: Record<string, unknown> = {}) => ({
  type: 'specialist.turn',
  id,
  turn,
  model: 'claude-test',
  stopReason: 'tool_use',
  toolUses: 2,
  final: false,
  text: `turn ${turn} text`,
  usage: { inputTokens: 10, outputTokens: 3 },
  at,
  ...extra,
});

describe("the page's tool-call fold", () => {
  it('is the script the page runs', () => {
    // Its bounds, as the bundled page has them (see inspector-page-build.test.ts for the bundle itself).
    expect(APP_JS).toContain(`MAX_ENTRIES = ${transcript.limits.entries}`);
    expect(() => new Function(APP_JS)).not.toThrow();
  });

  it('groups tool calls under their turn, in order, with inputs, results, errors and durations; server tools apart', () => {
    const TX = fold();
    const budget = TX.budget();
    const tx = TX.create();
    // The order a loop reports them in: a server tool inside turn 1's call, the turn, its client tools, turn 2.
    const events = [
      { ...started('a', 'srvtoolu_1', 1, 'web_search', 100), server: true, input: '{"query":"fusion"}' },
      { ...done('a', 'srvtoolu_1', 1, 'web_search', 130, 30), server: true },
      turnEvent('a', 1, 150),
      started('a', 'toolu_1', 1, 'search', 151),
      started('a', 'toolu_2', 1, 'fetch_page', 151, { input: '{"url":"https://x"}' }),
      done('a', 'toolu_2', 1, 'fetch_page', 170, 19, { isError: true, error: 'The tool "fetch_page" failed: 404', result: 'The tool "fetch_page" failed: 404' }),
    ];
    for (const event of events) expect(TX.apply(budget, tx, event, 1_000)).toBe(true);
    expect(TX.apply(budget, tx, { type: 'specialist.token', id: 'a', text: 'x' }, 1_000)).toBe(false);

    // search is still running.
    let view = TX.view(tx);
    expect(view.total).toEqual({ turns: 1, calls: 3, errors: 1, server: 1, running: 1 });
    expect(view.turns).toHaveLength(1);
    expect(view.turns[0]).toMatchObject({ turn: 1, seen: true, model: 'claude-test', stopReason: 'tool_use', text: 'turn 1 text' });
    expect(view.turns[0]!.calls.map((call) => [call.tool, call.server, call.running, call.isError, call.ms])).toEqual([
      ['web_search', true, false, false, 30],
      ['search', false, true, false, null],
      ['fetch_page', false, false, true, 19],
    ]);
    expect(view.turns[0]!.calls[2]).toMatchObject({ input: '{"url":"https://x"}', error: 'The tool "fetch_page" failed: 404' });
    let marks = TX.marks(tx);
    expect(marks.segs.map((seg) => [seg.name, seg.at0, seg.at1, seg.server, seg.errors])).toEqual([
      ['web_search', 100, 130, 1, 0],
      ['fetch_page', 151, 170, 0, 1],
    ]);
    expect(marks.open.map((call) => [call.name, call.turn])).toEqual([['search', 1]]);
    expect(marks.ticks).toEqual([{ at: 150, t: 1_000, turn: 1, stopReason: 'tool_use' }]);
    expect(TX.segTitle(marks.segs[1]!, false)).toBe('fetch_page · client tool · 19 ms · error: The tool "fetch_page" failed: 404');
    expect(TX.segTitle(marks.open[0]!, true)).toBe('search · client tool · turn 1 · running');

    // search ends, turn 2 answers; events seen twice (a replayed batch) change nothing.
    TX.apply(budget, tx, done('a', 'toolu_1', 1, 'search', 190, 39), 1_000);
    TX.apply(budget, tx, turnEvent('a', 2, 260, { stopReason: 'end_turn', toolUses: 0, text: 'the finding' }), 1_000);
    for (const event of events) TX.apply(budget, tx, event, 1_000);
    view = TX.view(tx);
    expect(view.total).toEqual({ turns: 2, calls: 3, errors: 1, server: 1, running: 0 });
    expect(view.turns.map((turn) => [turn.turn, turn.stopReason, turn.text, turn.calls.length])).toEqual([
      [1, 'tool_use', 'turn 1 text', 3],
      [2, 'end_turn', 'the finding', 0],
    ]);
    expect(view.turns[0]!.calls[1]).toMatchObject({ tool: 'search', running: false, done: true, result: 'search result', ms: 39 });
    marks = TX.marks(tx);
    expect(marks.segs).toHaveLength(3);
    expect(marks.open).toHaveLength(0);
    expect(marks.ticks.map((tick) => tick.turn)).toEqual([1, 2]);
  });

  it('takes a call whose start it never saw (it began ms before it ended), and a turn whose calls came first', () => {
    const TX = fold();
    const budget = TX.budget();
    const tx = TX.create();
    TX.apply(budget, tx, done('a', 'toolu_9', 3, 'search', 500, 120), 2_000);
    const view = TX.view(tx);
    expect(view.turns[0]).toMatchObject({ turn: 3, seen: false });
    expect(view.turns[0]!.calls[0]).toMatchObject({ tool: 'search', done: true, input: null, result: 'search result', ms: 120 });
    expect(TX.marks(tx).segs[0]).toMatchObject({ at0: 380, at1: 500 });
    TX.apply(budget, tx, turnEvent('a', 3, 300), 2_000);
    TX.apply(budget, tx, turnEvent('a', 1, 100), 2_000);
    expect(TX.view(tx).turns.map((turn) => [turn.turn, turn.seen])).toEqual([
      [1, true],
      [3, true],
    ]);
  });

  it('ignores junk: events without fields, odd types, absurd times', () => {
    const TX = fold();
    const budget = TX.budget();
    const tx = TX.create();
    for (const junk of [
      null,
      1,
      'x',
      {},
      { type: 'specialist.tool.started' },
      { type: 'specialist.tool.done', ms: 'x', at: 1.7e308 },
      { type: 'specialist.turn', turn: -5, usage: 'x' },
      { type: 'specialist.tool.started', callId: {}, tool: { a: 1 }, input: [1, 2], at: Infinity },
    ]) {
      expect(() => TX.apply(budget, tx, junk, 1_000)).not.toThrow();
    }
    const view = TX.view(tx);
    expect(JSON.stringify(view)).not.toMatch(/NaN|Infinity/);
    expect(TX.marks(tx).segs.every((seg) => seg.at0 === null || Number.isFinite(seg.at0))).toBe(true);
  });

  it('redacts what it shows as redactSecrets does, and values under secret-looking keys in JSON text', () => {
    const TX = fold();
    const samples = [
      `key ${SECRET} here`,
      'Authorization: Bearer abcdefghijklmnop',
      'Basic dXNlcjpwYXNzd29yZA==',
      'Basic research is fine',
      'AIzaSyA1234567890abcdefghijklmnopqrstu and ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'sk-proj-abcdefghijklmnopqrstuvwxyz',
      'nothing to hide',
    ];
    for (const sample of samples) expect(TX.redact(sample), sample).toBe(redactSecrets(sample));
    expect(TX.redact('{"q":"fusion","password":"hunter2","apiKey":"abc","inputTokens":12,"author":"Ada"}')).toBe(
      '{"q":"fusion","password":"[redacted]","apiKey":"[redacted]","inputTokens":12,"author":"Ada"}',
    );
    // Cut JSON text: the open value is redacted too, the marker left as it was.
    expect(TX.redact('{"token": "abcdef…(+20 chars)')).toBe('{"token": "[redacted]');
    expect(TX.redact({ token: 'abc' })).toBe('{"token":"[redacted]"}');
    // Long text is cut with a marker; text cut by the events' 1,000-character preview stays as it is.
    expect(TX.redact('x'.repeat(5_000))).toBe(`${'x'.repeat(1_000)}…(+4000 chars)`);
    const preview = `${'y'.repeat(1_000)}…(+250 chars)`;
    expect(TX.redact(preview)).toBe(preview);

    const budget = TX.budget();
    const tx = TX.create();
    TX.apply(budget, tx, started('a', 'c1', 1, 'search', 1, { input: JSON.stringify({ q: SECRET, secret: 'plain' }) }), 1);
    TX.apply(budget, tx, done('a', 'c1', 1, 'search', 2, 1, { isError: true, error: `failed: ${SECRET}`, result: `echo ${SECRET}` }), 1);
    TX.apply(budget, tx, turnEvent('a', 1, 0, { text: `using ${SECRET}` }), 1);
    const shown = JSON.stringify(TX.view(tx));
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('plain');
    expect(TX.segTitle(TX.marks(tx).segs[0]!, false)).toBe('search · client tool · 1 ms · error: failed: [redacted]');
  });

  it('keeps at most 200 entries per specialist, aggregating older turns into counts; shows the last 100', () => {
    const TX = fold();
    const budget = TX.budget();
    const tx = TX.create();
    // 400 turns with 3 calls each, one of them failing every 10th turn.
    for (let turn = 1; turn <= 400; turn++) {
      TX.apply(budget, tx, turnEvent('a', turn, turn * 10), turn);
      for (let n = 0; n < 3; n++) {
        TX.apply(budget, tx, started('a', `c${turn}-${n}`, turn, 'search', turn * 10 + 1), turn);
        TX.apply(budget, tx, done('a', `c${turn}-${n}`, turn, 'search', turn * 10 + 5, 4, { isError: turn % 10 === 0 && n === 0 }), turn);
      }
    }
    expect(tx.entries).toBeLessThanOrEqual(TX.limits.entries);
    const view = TX.view(tx, 100);
    expect(view.total).toEqual({ turns: 400, calls: 1_200, errors: 40, server: 0, running: 0 });
    // Kept: the last 50 turns (4 entries each); shown: the last 25.
    expect(view.earlierTurns).toBe(350);
    expect(view.earlierCalls).toBe(1_050);
    expect(view.earlierErrors).toBe(35);
    expect(view.turns.map((turn) => turn.turn)).toEqual(Array.from({ length: 25 }, (_, i) => 376 + i));
    expect(view.turns.reduce((n, turn) => n + 1 + turn.calls.length, 0)).toBe(100);
    expect(view.earlier).toBe(1_600 - 100);
    // The lane: neighbours merged, every call still covered, the failures still marked.
    const { segs, ticks } = TX.marks(tx);
    expect(segs.length).toBeLessThanOrEqual(TX.limits.segments);
    expect(segs.reduce((n, seg) => n + seg.n, 0)).toBe(1_200);
    expect(segs.reduce((n, seg) => n + seg.errors, 0)).toBe(40);
    expect(segs[0]!.at0).toBe(11);
    expect(Math.max(...segs.map((seg) => seg.at1!))).toBe(4_005);
    expect(ticks.length).toBeLessThanOrEqual(TX.limits.ticks);
    expect(TX.segTitle(segs[0]!, false)).toMatch(/^\d+ tool calls \(search\) · \d+ ms in all/);
  });

  it('keeps one turn with thousands of calls to its last ones, and at most 64 running', () => {
    const TX = fold();
    const budget = TX.budget();
    const tx = TX.create();
    TX.apply(budget, tx, turnEvent('a', 1, 0), 0);
    for (let n = 0; n < 3_000; n++) TX.apply(budget, tx, started('a', `c${n}`, 1, 'search', n), 0);
    expect(tx.entries).toBeLessThanOrEqual(TX.limits.entries);
    expect(TX.marks(tx).open).toHaveLength(TX.limits.open);
    const view = TX.view(tx, 100);
    expect(view.turns).toHaveLength(1);
    expect(view.turns[0]!.calls).toHaveLength(99);
    expect(view.turns[0]!.calls.at(-1)!.input).toBe('{"q":"x"}');
    expect(view.total.calls).toBe(3_000);
    expect(view.earlier).toBe(3_000 - 99);
  });

  it('shares a text budget across specialists: past it, the oldest entries lose their text, keeping the rest', () => {
    const TX = fold();
    const budget = TX.budget(50_000);
    const txs = Array.from({ length: 1_000 }, () => TX.create());
    const long = 'r'.repeat(1_000);
    txs.forEach((tx, i) => {
      for (let n = 0; n < 4; n++) {
        TX.apply(budget, tx, started(`s${i}`, `c${n}`, 1, 'search', n, { input: long }), 0);
        TX.apply(budget, tx, done(`s${i}`, `c${n}`, 1, 'search', n + 1, 1, { result: long }), 0);
      }
      TX.apply(budget, tx, turnEvent(`s${i}`, 1, 5, { text: long }), 0);
    });
    expect(budget.chars).toBeLessThanOrEqual(50_000);
    expect(budget.trimmed).toBeGreaterThan(4_000);
    expect(budget.queue.length - budget.head).toBeLessThan(100);
    const first = TX.view(txs[0]!);
    expect(first.turns[0]!.calls[0]).toMatchObject({ tool: 'search', done: true, input: null, result: null, trimmed: true, ms: 1 });
    expect(first.total.calls).toBe(4);
    const last = TX.view(txs.at(-1)!);
    expect(last.turns[0]!.text).toBe(long);
  });

  it('reads the loop fields of an outcome, whole or cut by the wire', () => {
    const TX = fold();
    expect(
      TX.outcomeSummary({
        status: 'fulfilled',
        turns: 3,
        stopReason: 'end_turn',
        loopLimit: null,
        toolCalls: [
          { name: 'a', ms: 1, isError: true },
          { name: 'w', ms: 2, isError: false, server: true },
        ],
      }),
    ).toEqual({ status: 'fulfilled', turns: 3, stopReason: 'end_turn', loopLimit: null, toolCalls: 2, toolErrors: 1, serverCalls: 1, confidence: null, sources: null });
    expect(TX.outcomeSummary({ status: 'rejected', turns: 8, loopLimit: 'maxTurns', toolCalls: [{}, {}, {}, '…9 more'] })).toMatchObject({ loopLimit: 'maxTurns', toolCalls: 12, toolErrors: null });
    // A weighed run's finding: what it reported and the sources behind it.
    expect(TX.outcomeSummary({ status: 'fulfilled', turns: 1, report: { confidence: 0.82, sources: ['https://a.example/'] }, sources: ['https://a.example/', 'https://b.example/'] })).toMatchObject({
      confidence: 0.82,
      sources: 2,
    });
    expect(TX.outcomeSummary({ status: 'fulfilled', attempts: 1 })).toBeNull();
  });
});

describe('the wire and tool events', () => {
  const progress = (events: unknown[]) => ({ type: 'fanOut.progress', events, settled: [], allStarted: true });

  it('redacts secret-looking text in every field of tool and turn events, and keeps a 1,000-character preview whole', () => {
    const input = JSON.stringify({ q: SECRET });
    const capped = `${'z'.repeat(1_000)}…(+77 chars)`;
    const event = progress([
      { type: 'specialist.tool.started', id: 'a', tool: 'search', callId: 'toolu_1', turn: 1, server: false, input, at: 1 },
      { type: 'specialist.tool.done', id: 'a', tool: 'search', callId: 'toolu_1', turn: 1, server: false, ms: 3, isError: true, error: `boom ${SECRET}`, result: capped, at: 4 },
      {
        type: 'specialist.turn',
        id: 'a',
        turn: 1,
        model: 'm',
        stopReason: 'tool_use',
        toolUses: 1,
        final: false,
        text: `Bearer abcdefghijklmnop ${SECRET}`,
        usage: { inputTokens: 5, outputTokens: 1 },
        at: 0,
      },
    ]);
    const compacted = compactJson(event, EVENT_LIMITS) as { events: Array<Record<string, unknown>> };
    expect(JSON.stringify(compacted)).not.toContain(SECRET);
    expect(compacted.events[0]!['input']).toBe('{"q":"[redacted]"}');
    expect(compacted.events[1]).toMatchObject({ error: 'boom [redacted]', result: capped, ms: 3, isError: true });
    expect(compacted.events[2]).toMatchObject({ text: '[redacted] [redacted]', usage: { inputTokens: 5, outputTokens: 1 } });
    // A message from elsewhere (a recording, a websocket client) gets the same.
    for (const version of [WIRE_VERSION, 'other/1']) {
      const message = normalizeWireMessage({ type: '@xstate.event', sessionId: 'x:0', createdAt: String(Date.now()), _version: version, event });
      expect(JSON.stringify(message)).not.toContain(SECRET);
      expect((message as unknown as { event: { events: Array<Record<string, unknown>> } }).event.events[1]!['result']).toBe(capped);
    }
  });
});
