/**
 * The inspector page's header: the run picker (every root actor seen) and the selected run's
 * one-line summary (state, specialists by status, elapsed time, error or missing findings).
 */
import { $, $as, el } from './dom.ts';
import { arrLen, clock, errText, fmtMs } from './format.ts';
import { S } from './model.ts';
import { cache, nowFor, rootOf, skewOf, spanOf } from './view.ts';

/** Draws the header. */
export function renderHeader(): void {
  const rootsKey = S.roots.length + '|' + S.rootSel + '|' + S.version;
  if (rootsKey !== cache.rootsKey) {
    cache.rootsKey = rootsKey;
    const sel = $as<HTMLSelectElement>('root-select');
    if (document.activeElement !== sel) {
      const frag = document.createDocumentFragment();
      S.roots.forEach((k) => {
        const a = S.actors.get(k)!;
        const o = el('option', null, a.name + ' (' + a.sid + ') · ' + clock(a.createdT) + ' · ' + (a.valueStr || a.status));
        o.value = k;
        if (k === S.rootSel) o.selected = true;
        frag.appendChild(o);
      });
      sel.replaceChildren(frag);
    }
  }
  const root = rootOf();
  const sum = $('summary');
  if (!root) {
    sum.textContent = 'waiting for an actor…';
    return;
  }
  const L = cache.lanes;
  const parts = [root.name + ': ' + (root.valueStr || root.status)];
  if (L?.top) {
    const c: string[] = [];
    for (const k in L.counts) c.push(L.counts[k] + ' ' + k);
    parts.push(L.top + (root.kind === 'lead' ? ' specialists' : ' actors') + ' (' + c.join(', ') + ')' + (L.total > L.top ? ' + ' + (L.total - L.top) + ' below' : ''));
  }
  const sp = spanOf(root, skewOf(root), nowFor(root));
  if (sp.start != null) parts.push(fmtMs(sp.end! - sp.start) + (root.status === 'active' ? ' so far' : ''));
  if (root.error) parts.push('error: ' + errText(root.error));
  else if (root.result && Array.isArray(root.result.missing) && root.result.missing.length) parts.push('missing: ' + arrLen(root.result.missing));
  sum.textContent = parts.join(' · ');
}
