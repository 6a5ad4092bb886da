/**
 * The inspector page's entry point (bundled into the `/app.js` the inspector server serves; see
 * scripts/build-inspector-page.ts): connects to the server's `/ui` websocket, folds the wire
 * messages into the model, and re-renders at most once per animation frame. Long lists (actors,
 * lanes, events) are virtualised: only the rows in view are in the DOM.
 */
import { renderChart } from './chart.ts';
import { $, readMetrics } from './dom.ts';
import { renderHeader } from './header.ts';
import { renderTimeline } from './lanes.ts';
import { renderLog } from './log.ts';
import { ingest, resetModel, S, stats, type Model } from './model.ts';
import { addNotice, noticeText, type Frame } from './notices.ts';
import { feed, invalidate, setRenderer } from './schedule.ts';
import * as TX from './transcript.ts';
import { openDetails, renderTree, TRANSCRIPT_SHOWN } from './tree.ts';
import { attemptsOf, cache, clearCache, derive, rootOf, stateText, type Lane } from './view.ts';

/** What the page offers tests and the curious, as `window.fanfoldInspector`. */
export interface InspectorPageApi {
  stats: typeof stats;
  model(): Model;
  /** A plain-text digest of what the page shows for the selected run, or null. */
  digest(): { root: string; state: string; status: string; history: string[]; actors: string[]; lanes: string[]; synthesis: string | null; slowest: string | null; peak: number } | null;
  /** The transcript the details pane shows for an actor (by key, or by name), or null. */
  transcript(keyOrName: string): { view: TX.TranscriptView | null; outcome: TX.LoopSummary | null; marks: ReturnType<typeof TX.marks> | null } | null;
  budget(): { chars: number; max: number; trimmed: number; queued: number };
}

declare global {
  interface Window {
    fanfoldInspector: InspectorPageApi;
  }
}

function render(): void {
  const t = performance.now();
  readMetrics();
  part('derive', derive);
  part('header', renderHeader);
  part('chart', renderChart);
  part('tree', renderTree);
  part('timeline', renderTimeline);
  part('log', renderLog);
  const ms = performance.now() - t;
  stats.renders++;
  stats.lastRenderMs = ms;
  stats.totalRenderMs += ms;
  if (ms > stats.maxRenderMs) stats.maxRenderMs = ms;
}

/** Runs one part of a render, keeping its slowest time. */
function part(name: string, fn: () => void): void {
  const t = performance.now();
  fn();
  const ms = performance.now() - t;
  if (!(stats.parts[name]! >= ms)) stats.parts[name] = ms;
}

setRenderer(render);

// ---------- interaction ----------
/** The value of the control an event came from. */
const controlValue = (e: Event): string => (e.target as HTMLSelectElement | HTMLInputElement).value;

$('root-select').addEventListener('change', (e) => {
  S.rootSel = controlValue(e);
  S.follow = S.rootSel === S.roots[S.roots.length - 1];
  S.selActor = null;
  S.logActor = '';
  cache.key = '';
  invalidate();
});
$('lane-sort').addEventListener('change', (e) => {
  S.laneSort = controlValue(e);
  cache.key = '';
  invalidate();
});
$('log-actor').addEventListener('change', (e) => {
  S.logActor = controlValue(e);
  invalidate();
});
$('log-text').addEventListener('input', (e) => {
  S.logText = controlValue(e);
  invalidate();
});
['tree', 'lanes', 'log'].forEach((id) => {
  $(id).addEventListener('scroll', invalidate, { passive: true });
});
window.addEventListener('resize', invalidate);
$('tree').addEventListener('click', (e) => {
  const t = e.target as Element | null;
  const toggle = t?.getAttribute?.('data-toggle');
  if (toggle) {
    if (S.collapsed.has(toggle)) S.collapsed.delete(toggle);
    else S.collapsed.add(toggle);
    cache.key = '';
    invalidate();
    return;
  }
  const row = t?.closest ? t.closest('.tree-row') : null;
  const key = row ? row.getAttribute('data-key') : null;
  if (!key) return;
  S.selActor = S.selActor === key ? null : key;
  S.logActor = S.selActor || '';
  cache.chartKey = '';
  cache.detailsKey = '';
  cache.optionsKey = '';
  openDetails();
  invalidate();
});
// Lanes and the synthesis lane select their own actor, by its unique key (names repeat across sub-leads).
function onLaneClick(e: Event): void {
  const t = e.target as Element | null;
  const row = t?.closest ? t.closest('.lane') : null;
  const key = row ? row.getAttribute('data-key') : null;
  if (!key || !S.actors.has(key)) return;
  S.selActor = key;
  S.logActor = key;
  cache.detailsKey = '';
  cache.chartKey = '';
  cache.optionsKey = '';
  openDetails();
  cache.reveal = key;
  invalidate();
}
$('lanes').addEventListener('click', onLaneClick);
$('synthesis-lane').addEventListener('click', onLaneClick);
// Live bars grow while the run is active.
setInterval(() => {
  const r = rootOf();
  if (r && r.status === 'active' && !feed.loading) invalidate();
}, 250);

// ---------- connection ----------
const conn = $('conn');
let retryMs = 500,
  moreTimer: ReturnType<typeof setTimeout> | undefined;

function connect(): void {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ui');
  ws.onopen = () => {
    retryMs = 500;
    stats.connectedAt = performance.now();
    conn.textContent = 'live';
    conn.className = 'conn live';
  };
  ws.onmessage = (msg: MessageEvent) => {
    let data: unknown;
    try {
      data = JSON.parse(String(msg.data));
    } catch {
      return;
    }
    if (!data || typeof data !== 'object') return;
    const frame = data as Frame & { more?: unknown; messages?: unknown };
    const notice = noticeText(frame);
    if (notice != null) {
      addNotice(frame, notice);
    } else if (frame.t === 'hello') {
      // The server sends everything from the start after this: begin from a clean model.
      resetModel();
      clearCache();
      invalidate();
    } else if (frame.t === 'batch' && Array.isArray(frame.messages)) {
      if (!stats.firstDataAt) stats.firstDataAt = performance.now();
      stats.batches++;
      stats.lastBatchAt = performance.now();
      const ti = performance.now();
      for (const message of frame.messages as unknown[]) ingest(message);
      stats.ingestMs += performance.now() - ti;
      conn.textContent = 'live · ' + stats.messages + ' messages';
      // More history follows at once: render after the last chunk (or soon, if it is slow to come).
      clearTimeout(moreTimer);
      feed.loading = !!frame.more;
      if (feed.loading)
        moreTimer = setTimeout(() => {
          feed.loading = false;
          invalidate();
        }, 1000);
      else invalidate();
    }
  };
  ws.onclose = () => {
    conn.textContent = 'disconnected — retrying';
    conn.className = 'conn down';
    setTimeout(connect, retryMs);
    retryMs = Math.min(5000, retryMs * 2);
  };
}
connect();

window.fanfoldInspector = {
  stats: stats,
  model: () => S,
  digest: () => {
    derive();
    const root = rootOf();
    if (!root) return null;
    const L = cache.lanes;
    const laneText = (l: Lane): string => {
      const tx = l.a.tx;
      return (
        l.label +
        ' ' +
        l.st +
        ' attempts=' +
        attemptsOf(l.a) +
        ' error=' +
        (l.error || '-') +
        ' retries=' +
        l.a.retries.length +
        ' dur=' +
        l.dur +
        (tx ? ' tools=' + tx.total.calls + ' failed=' + tx.total.errors + ' turns=' + tx.total.turns : '')
      );
    };
    return {
      root: root.name,
      state: root.valueStr,
      status: root.status,
      history: root.history.map((h) => h.v),
      actors: cache.rows.map((r) => r.depth + ' ' + r.a.name + ' ' + r.a.kind + ' ' + stateText(r.a)),
      lanes: L ? L.list.map(laneText) : [],
      synthesis: L?.synth ? laneText(L.synth) : null,
      slowest: L?.slowest ? L.slowest.label : null,
      peak: L ? L.peak : 0,
    };
  },
  transcript: (keyOrName) => {
    let a = S.actors.get(keyOrName);
    if (!a)
      S.actors.forEach((x) => {
        if (!a && x.name === keyOrName && !x.superseded) a = x;
      });
    if (!a) return null;
    return { view: a.tx ? TX.view(a.tx, TRANSCRIPT_SHOWN) : null, outcome: a.loopSum, marks: a.tx ? TX.marks(a.tx) : null };
  },
  budget: () => ({ chars: S.txBudget.chars, max: S.txBudget.max, trimmed: S.txBudget.trimmed, queued: S.txBudget.queue.length - S.txBudget.head }),
};
