/**
 * The inspector page's event log: the selected run's events and state changes (a virtual list
 * that follows the tail unless the reader scrolled up), filtered by actor and by text.
 */
import { $, $as, el, metrics, vlist } from './dom.ts';
import { fmtMs } from './format.ts';
import { S } from './model.ts';
import { invalidate } from './schedule.ts';
import { cache, pathOf, rootOf } from './view.ts';

/** Height of a log row, px. */
const LOG_H = 18;

/** Draws the log panel and its actor filter. */
export function renderLog(): void {
  const root = rootOf();
  const sel = $as<HTMLSelectElement>('log-actor');
  // Options: the actors of the selected run.
  // Rebuilt when the run or the selection changes, and at most once a second while actors arrive.
  const optKey = S.rootSel + '|' + cache.rows.length + '|' + S.logActor,
    nowMs = performance.now();
  const urgent = cache.optionsKey.split('|')[0] !== String(S.rootSel) || cache.optionsKey.split('|')[2] !== S.logActor;
  if (optKey !== cache.optionsKey && document.activeElement !== sel && (urgent || nowMs - (cache.optionsAt || 0) > 1000 || !S.log.length)) {
    cache.optionsKey = optKey;
    cache.optionsAt = nowMs;
    clearTimeout(cache.optionsRetry);
    const frag = document.createDocumentFragment();
    const all = el('option', null, 'all actors');
    all.value = '';
    frag.appendChild(all);
    cache.rows.forEach((r) => {
      const o = el('option', null, pathOf(r.a) + ' (' + r.a.kind + ')');
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
  const logKey = S.log.length + '|' + S.rootSel + '|' + S.logActor + '|' + S.logText;
  if (logKey !== cache.logKey) {
    cache.logKey = logKey;
    const text = S.logText.toLowerCase(),
      want = S.logActor,
      rk = root ? root.key : null;
    cache.log = S.log.filter((e) => {
      if (e.root !== rk) return false;
      if (want && e.key !== want) return false;
      if (text && (e.type + ' ' + e.detail).toLowerCase().indexOf(text) === -1) return false;
      return true;
    });
  }
  const list = cache.log;
  $('log-count').textContent = list.length + ' shown';
  const t0 = root ? root.createdT : 0;
  const logEl = $('log'),
    lm = metrics.log!;
  const atBottom = lm.top + lm.h >= lm.sh - LOG_H * 2;
  const makeRow = (i: number): HTMLElement => {
    const e = list[i]!,
      a = S.actors.get(e.key),
      src = e.src ? S.actors.get(e.src) : undefined;
    const row = el('div', 'log-row k-' + e.kind);
    row.setAttribute('data-actor', a ? a.name : e.key);
    row.setAttribute('data-key', e.key);
    row.appendChild(el('span', 't', '+' + fmtMs(e.t - t0)));
    const who = el('span', 'actor', (src ? pathOf(src) + ' → ' : '') + (a ? pathOf(a) : e.key));
    who.title = who.textContent ?? '';
    row.appendChild(who);
    row.appendChild(el('span', 'type', e.type));
    const d = el('span', 'detail', e.detail);
    d.title = e.detail;
    row.appendChild(d);
    return row;
  };
  // Follow the tail unless the reader scrolled up.
  const total = list.length * LOG_H;
  if (atBottom && total > lm.h) {
    const tail = total - lm.h;
    vlist(logEl, list.length, LOG_H, makeRow, tail);
    logEl.scrollTop = tail;
    lm.top = tail;
  } else {
    vlist(logEl, list.length, LOG_H, makeRow);
  }
}
