/**
 * The inspector page's HTML and CSS, served by the inspector server. Kept as strings in a `.ts`
 * module so that `tsc` ships them in `dist/` and nothing is fetched from the internet (no CDN,
 * no web fonts). The script is typed TypeScript under `page/`, bundled at build time into
 * `pageScript.gen.ts` (see scripts/build-inspector-page.ts).
 */
export { APP_JS } from './pageScript.gen.ts';

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fanfold inspector</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header class="top">
  <h1>fanfold inspector</h1>
  <label class="root-pick">run <select id="root-select" data-testid="root-select"></select></label>
  <span id="summary" class="summary" data-testid="summary">waiting for an actor…</span>
  <span id="conn" class="conn" data-testid="connection">connecting…</span>
</header>
<div id="notices" class="notices" role="status" aria-live="polite" data-testid="notices" hidden></div>
<main class="grid">
  <section class="panel chart-panel">
    <h2>Statechart <span id="machine-name" class="machine-name" data-testid="machine-name"></span>
      <span id="machine-state" class="pill" data-testid="machine-state"></span></h2>
    <div id="state-path" class="state-path" data-testid="state-path"></div>
    <div id="chart" class="chart" data-testid="statechart"></div>
  </section>
  <section class="panel tree-panel">
    <h2>Actors <span id="tree-count" class="muted"></span></h2>
    <div class="tree-row head"><span>actor</span><span>kind</span><span>state</span><span title="attempts (model calls)">att.</span><span>elapsed</span><span title="tokens in / out">tokens</span><span>error</span></div>
    <div id="tree" class="vlist" data-testid="actor-tree"></div>
    <details id="details-box" class="details"><summary>Selected actor: <span id="details-name">none (click a row)</span></summary><div id="transcript" class="transcript" data-testid="transcript" hidden></div><pre id="details" data-testid="details"></pre></details>
  </section>
  <section class="panel timeline-panel">
    <h2>Timeline <span id="lane-summary" class="muted" data-testid="lane-summary"></span>
      <label class="right">sort <select id="lane-sort" data-testid="lane-sort">
        <option value="order">config order</option>
        <option value="slowest">slowest first</option>
        <option value="start">start time</option>
        <option value="failures">failures first</option>
      </select></label></h2>
    <div id="axis" class="axis"></div>
    <div id="root-lane" class="root-lane" data-testid="root-lane"></div>
    <div id="lanes" class="vlist lanes" data-testid="lanes"></div>
    <div id="synthesis-lane" class="synthesis-lane" data-testid="synthesis-lane"></div>
  </section>
  <section class="panel log-panel">
    <h2>Events
      <label>actor <select id="log-actor" data-testid="log-actor"><option value="">all actors</option></select></label>
      <input id="log-text" type="search" placeholder="filter by type…" data-testid="log-text">
      <span id="log-count" class="muted"></span></h2>
    <div id="log" class="vlist" data-testid="event-log"></div>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

export const APP_CSS = `
:root {
  --bg: #f6f7f9; --panel: #fff; --line: #dde1e6; --text: #1d232b; --muted: #68717d;
  --fulfilled: #2e7d32; --rejected: #c62828; --timedOut: #e65100; --skipped: #8d949c;
  --active: #1565c0; --backingOff: #f9a825; --stopped: #8d949c; --accent: #6a1b9a;
  --tooling: #00838f; --tool-client: #00acc1; --tool-server: #7e57c2;
  font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; background: var(--bg); color: var(--text); }
body { display: flex; flex-direction: column; }
.top { display: flex; align-items: center; gap: 14px; padding: 6px 12px; background: #222a35; color: #f3f5f7; flex: 0 0 auto; }
.top h1 { font-size: 15px; margin: 0; font-weight: 600; letter-spacing: .2px; }
.top select { max-width: 280px; }
#log-actor { width: 200px; }
.summary { flex: 1; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.conn { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #55606e; }
.conn.live { background: #2e7d32; }
.conn.down { background: #c62828; }
.notices { flex: 0 0 auto; }
.notices[hidden] { display: none; }
.notice { display: flex; gap: 8px; align-items: center; padding: 4px 12px; font-size: 12px; background: #fff4d6; color: #5d4200; border-bottom: 1px solid #f0d58c; }
.notice.level-error { background: #fdecea; color: #8e1b1b; border-color: #f5c2c0; }
.notice.level-info { background: #e8f1fb; color: #163d6b; border-color: #c4daf3; }
.notice-level { font-weight: 700; font-size: 10px; text-transform: uppercase; letter-spacing: .4px; }
.notice-text { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.notice-close { border: none; background: transparent; color: inherit; cursor: pointer; font-size: 15px; line-height: 1; padding: 0 4px; }
.grid { flex: 1; min-height: 0; display: grid; gap: 8px; padding: 8px;
  grid-template-columns: minmax(380px, 42%) 1fr; grid-template-rows: minmax(0, 56fr) minmax(0, 44fr); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; display: flex; flex-direction: column; min-height: 0; min-width: 0; overflow: hidden; }
.panel h2 { font-size: 13px; margin: 0; padding: 6px 10px; border-bottom: 1px solid var(--line); display: flex; align-items: center; gap: 8px; flex-wrap: wrap; font-weight: 600; }
.panel h2 label { font-weight: normal; }
.panel h2 .right { margin-left: auto; }
.muted { color: var(--muted); font-weight: normal; }
.chart-panel { grid-column: 1; grid-row: 1; }
.tree-panel { grid-column: 1; grid-row: 2; }
.timeline-panel { grid-column: 2; grid-row: 1; }
.log-panel { grid-column: 2; grid-row: 2; }
.pill { padding: 1px 8px; border-radius: 10px; background: var(--active); color: #fff; font-weight: 600; }
.pill.final { background: var(--fulfilled); }
.pill.final.partial { background: var(--backingOff); color: #222; }
.pill.final.failed, .pill.error { background: var(--rejected); }
.pill.final.cancelled, .pill.stopped { background: var(--skipped); }
.machine-name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.state-path { padding: 4px 10px; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); white-space: nowrap; overflow-x: auto; }
.state-path .cur { color: var(--text); font-weight: 600; }
.chart { flex: 1; overflow: auto; padding: 8px; }
.chart .empty { color: var(--muted); }
.state { border: 1px solid #b9c0c8; border-radius: 7px; padding: 2px 6px 4px; margin: 2px; background: #fff; min-width: 90px; }
.state.root { border: none; padding: 0; margin: 0; background: transparent; }
.state.root > .state-head { display: none; }
.state.root.active { border: none; background: transparent; }
.state.active { border: 2px solid var(--active); background: #eef4fc; }
.state.final { border-style: double; border-width: 3px; }
.state.final.active { border-color: var(--fulfilled); background: #edf7ee; }
.state-head { display: flex; gap: 6px; align-items: baseline; font-weight: 600; }
.state-name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { font-size: 10px; font-weight: normal; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; }
.badge.now { color: #fff; background: var(--active); border-color: var(--active); }
.state.final.active > .state-head .badge.now { background: var(--fulfilled); border-color: var(--fulfilled); }
.substates { display: flex; flex-wrap: wrap; align-items: flex-start; margin-top: 4px; }
.substates.parallel { border-top: 1px dashed #b9c0c8; }
.transitions, .invokes { list-style: none; margin: 1px 0 0; padding: 0; font-size: 11px; line-height: 1.25; color: #38414b; }
.transitions li { white-space: nowrap; }
.transitions .ev { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--accent); }
.transitions .target { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
.transitions .guard { color: var(--muted); }
.transitions .internal { color: var(--muted); }
.invokes { color: var(--muted); }
.vlist { position: relative; overflow: auto; flex: 1; min-height: 0; }
.vlist > .spacer { position: relative; width: 100%; }
.vlist > .spacer > .window { position: absolute; left: 0; right: 0; top: 0; }
.tree-row { display: grid; grid-template-columns: minmax(110px, 2fr) 70px minmax(80px, 1.4fr) 42px 58px 74px minmax(60px, 2.2fr); gap: 6px; align-items: center; padding: 0 8px; white-space: nowrap; font-size: 12px; cursor: pointer; }
.tree-row > span { overflow: hidden; text-overflow: ellipsis; }
.tree-row.head { font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); cursor: default; height: 22px; }
.tree-row:hover:not(.head) { background: #f0f3f7; }
.tree-row.selected { background: #e3ecf8; }
.tree-row .toggle { display: inline-block; width: 12px; color: var(--muted); }
.tree-row .err { color: var(--rejected); }
.st-fulfilled .st, .st.st-fulfilled { color: var(--fulfilled); }
.st-rejected .st, .st.st-rejected { color: var(--rejected); }
.st-timedOut .st, .st.st-timedOut { color: var(--timedOut); }
.st-skipped .st, .st-stopped .st { color: var(--skipped); }
.st-calling .st, .st-active .st { color: var(--active); }
.st-backingOff .st { color: #a07000; }
.details { border-top: 1px solid var(--line); flex: 0 0 auto; max-height: 40%; overflow: auto; }
.details summary { padding: 4px 10px; cursor: pointer; color: var(--muted); }
.details > pre { margin: 0; padding: 4px 10px 8px; font-size: 11px; white-space: pre-wrap; word-break: break-all; }
.details[open] { max-height: 60%; }
.transcript { padding: 2px 10px 6px; font-size: 12px; border-bottom: 1px dashed var(--line); }
.transcript[hidden] { display: none; }
.tx-summary { font-weight: 600; padding: 2px 0 4px; }
.tx-earlier, .tx-trimmed { color: var(--muted); font-style: italic; padding: 1px 0; }
.tx-turn { border-left: 3px solid var(--active); padding: 2px 0 4px 8px; margin: 4px 0; }
.tx-turn.pending { border-left-color: var(--backingOff); }
.tx-turn-head { font-weight: 600; color: #38414b; }
.tx-text, .tx-field pre { margin: 2px 0; font-size: 11px; white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.tx-text { color: var(--text); }
.tx-call { border: 1px solid var(--line); border-left: 3px solid var(--tool-client); border-radius: 3px; padding: 2px 6px; margin: 3px 0 3px 4px; background: #fafbfc; }
.tx-call.server { border-left-color: var(--tool-server); }
.tx-call.error { border-left-color: var(--rejected); background: #fdf3f2; }
.tx-call.running { border-left-style: dashed; }
.tx-call-head { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11px; }
.tx-call.error .tx-call-head, .tx-error { color: var(--rejected); }
.tx-field { display: flex; gap: 6px; align-items: baseline; }
.tx-label { flex: 0 0 44px; color: var(--muted); font-size: 10px; text-transform: uppercase; letter-spacing: .3px; }
.tx-field pre { flex: 1; min-width: 0; }
.axis, .lane, .root-lane { display: flex; }
.axis { height: 40px; border-bottom: 1px solid var(--line); flex: 0 0 auto; }
.axis .lane-label { font-size: 11px; color: var(--muted); display: flex; align-items: flex-end; padding-bottom: 2px; }
.lane-label { width: 40%; min-width: 250px; max-width: 460px; flex: 0 0 auto; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; padding: 0 6px; font-size: 12px; display: flex; gap: 6px; align-items: center; }
.lane-name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; flex: 0 0 auto; max-width: 55%; overflow: hidden; text-overflow: ellipsis; }
.lane-status { color: var(--muted); overflow: hidden; text-overflow: ellipsis; }
.lane-error { color: var(--rejected); overflow: hidden; text-overflow: ellipsis; }
.bar-note { position: absolute; top: 2px; font-size: 11px; line-height: 16px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: var(--rejected); max-width: 60%; }
.lane.st-timedOut .bar-note { color: var(--timedOut); }
.bar-note.inside { color: #1d232b; background: rgba(255, 255, 255, .88); padding: 0 4px; border-radius: 3px; top: 3px; line-height: 14px; }
.lane-track { position: relative; flex: 1; border-left: 1px solid var(--line); min-width: 0; }
.lane { height: 20px; border-bottom: 1px solid #f0f2f4; cursor: pointer; }
.lane:hover { background: #f6f8fb; }
.lane.selected { background: #e3ecf8; }
.lane.group .lane-name { font-weight: 700; }
.lane .bar { position: absolute; top: 4px; height: 12px; border-radius: 3px; background: var(--active); min-width: 2px; }
.lane.st-fulfilled .bar { background: var(--fulfilled); }
.lane.st-rejected .bar { background: var(--rejected); }
.lane.st-timedOut .bar { background: repeating-linear-gradient(135deg, var(--timedOut) 0 5px, #ffb74d 5px 10px); }
.lane.st-skipped .bar, .lane.st-stopped .bar { background: var(--skipped); }
.lane.st-backingOff .bar { background: var(--backingOff); }
.lane.group .bar { height: 6px; top: 7px; opacity: .6; }
.lane.slowest .lane-name::after { content: " ◆ slowest"; color: var(--accent); font-family: system-ui, sans-serif; font-size: 11px; }
.lane.slowest .bar { outline: 2px solid var(--accent); }
.lane.st-tooling .bar { background: var(--tooling); }
.st-tooling .st { color: var(--tooling); }
.lane .tool { position: absolute; top: 6px; height: 8px; min-width: 3px; border-radius: 2px; background: var(--tool-client); box-shadow: 0 0 0 1px #fff; }
.lane .tool.server { background: var(--tool-server); }
.lane .tool.mixed { background: linear-gradient(var(--tool-client) 50%, var(--tool-server) 50%); }
.lane .tool.error { background: var(--rejected); box-shadow: 0 0 0 1px #fff, inset 0 -2px 0 #000; }
.lane .tool.merged { opacity: .85; }
.lane .tool.running { background: repeating-linear-gradient(90deg, var(--tool-client) 0 4px, #b2ebf2 4px 8px); }
.lane .tool.server.running { background: repeating-linear-gradient(90deg, var(--tool-server) 0 4px, #d1c4e9 4px 8px); }
.lane .tool.unfinished { background: #b0bec5; }
.lane .turn-tick { position: absolute; top: 3px; width: 1px; height: 14px; margin-left: -0.5px; background: rgba(0, 0, 0, .55); }
.mark { position: absolute; top: 1px; width: 3px; height: 18px; margin-left: -1px; background: #ff8f00; border-radius: 1px; }
.mark.timeout { background: var(--timedOut); width: 4px; }
.mark.end-timeout { background: #000; width: 2px; }
.root-lane { height: 24px; border-bottom: 1px solid var(--line); flex: 0 0 auto; }
.root-lane .lane-name { font-weight: 700; }
.seg { position: absolute; top: 3px; height: 18px; border-radius: 3px; font-size: 10px; line-height: 18px; padding: 0 3px; overflow: hidden; white-space: nowrap; text-overflow: clip; color: #fff; background: #5c6bc0; border-right: 1px solid #fff; }
.seg.alt { background: #3949ab; }
.seg.s-done { background: var(--fulfilled); }
.seg.s-partial { background: var(--backingOff); color: #222; }
.seg.s-failed { background: var(--rejected); }
.seg.s-cancelled { background: var(--skipped); }
.synthesis-lane { flex: 0 0 auto; border-top: 2px solid var(--line); }
.synthesis-lane:empty { display: none; }
.tick { position: absolute; bottom: 0; font-size: 10px; color: var(--muted); border-left: 1px solid var(--line); padding-left: 2px; height: 12px; line-height: 12px; }
.spark { position: absolute; left: 0; top: 2px; width: 100%; height: 24px; }
.spark path { fill: #90caf9; stroke: var(--active); stroke-width: 1; vector-effect: non-scaling-stroke; }
.log-row { display: grid; grid-template-columns: 64px minmax(90px, 1fr) minmax(140px, 1.6fr) minmax(120px, 2.4fr); gap: 8px; padding: 0 8px; font-size: 12px; white-space: nowrap; align-items: center; border-bottom: 1px solid #f3f4f6; }
.log-row > span { overflow: hidden; text-overflow: ellipsis; }
.log-row .t { color: var(--muted); text-align: right; font-variant-numeric: tabular-nums; }
.log-row .type { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--accent); }
.log-row.k-state .type { color: var(--active); font-weight: 600; }
.log-row.k-created .type { color: var(--muted); }
.log-row .detail { color: var(--muted); }
.empty-note { color: var(--muted); padding: 8px 10px; }
`;
