/**
 * The inspector page's actor tree (a virtual list, collapsible) and the details pane under it:
 * the selected actor's snapshot as JSON and, for a specialist that used tools, its transcript.
 */
import { $, $as, el, metrics, vlist } from './dom.ts';
import { errText, fmtMs } from './format.ts';
import { S, type Actor } from './model.ts';
import * as TX from './transcript.ts';
import { attemptsOf, cache, nowFor, pathOf, rootOf, skewOf, spanOf, stateText, statusOf, tokensOf } from './view.ts';

/** Height of a tree row, px. */
export const ROW_H = 20;
/** Transcript entries (turns and tool calls) shown for the selected specialist, at most. */
export const TRANSCRIPT_SHOWN = 100;

/** Draws the rows in view (and the details pane). */
export function renderTree(): void {
  const rows = cache.rows;
  if (cache.reveal) {
    // Selected from a lane: bring its row into the tree's view.
    const want = cache.reveal,
      tm = metrics.tree;
    cache.reveal = null;
    for (let ri = 0; ri < rows.length; ri++) {
      if (rows[ri]!.a.key !== want) continue;
      const y = ri * ROW_H;
      if (tm && (y < tm.top || y + ROW_H > tm.top + tm.h)) {
        const top = Math.max(0, y - Math.floor(tm.h / 2));
        $('tree').scrollTop = top;
        tm.top = $('tree').scrollTop;
      }
      break;
    }
  }
  $('tree-count').textContent = rows.length ? rows.length + ' actors' : '';
  const root = rootOf();
  const skew = skewOf(root),
    now = root ? nowFor(root) : 0;
  vlist($('tree'), rows.length, ROW_H, (i) => {
    const r = rows[i]!,
      a = r.a;
    const row = el('div', 'tree-row st-' + statusOf(a) + (S.selActor === a.key ? ' selected' : ''));
    row.setAttribute('data-actor', a.name);
    row.setAttribute('data-key', a.key);
    row.setAttribute('data-kind', a.kind);
    const name = el('span', 'name');
    name.style.paddingLeft = r.depth * 14 + 'px';
    const tg = el('span', 'toggle', a.children.length ? (S.collapsed.has(a.key) ? '▸' : '▾') : '');
    tg.setAttribute('data-toggle', a.key);
    name.appendChild(tg);
    name.appendChild(document.createTextNode(a.name + (a.children.length && S.collapsed.has(a.key) ? ' (' + a.children.length + ')' : '')));
    name.title = a.name + ' — ' + a.sid;
    row.appendChild(name);
    row.appendChild(el('span', 'kind', a.kind));
    row.appendChild(el('span', 'st', stateText(a)));
    const att = attemptsOf(a);
    row.appendChild(el('span', 'attempts', att == null ? '' : att));
    const sp = spanOf(a, skew, now);
    row.appendChild(el('span', 'elapsed', sp.start != null ? fmtMs(sp.end! - sp.start) : ''));
    row.appendChild(el('span', 'tokens', tokensOf(a)));
    const et = a.error && a.outcome !== 'fulfilled' ? errText(a.error) : '';
    const er = el('span', 'err', et);
    er.title = et;
    row.appendChild(er);
    return row;
  });
  renderDetails();
}

function renderDetails(): void {
  const a = S.selActor ? (S.actors.get(S.selActor) ?? null) : null;
  renderTranscript(a);
  const key = a ? a.key + '|' + S.version : '';
  if (key === cache.detailsKey) return;
  cache.detailsKey = key;
  $('details-name').textContent = a ? pathOf(a) + ' (' + a.kind + ', ' + a.sid + ')' : 'none (click a row)';
  if (!a) {
    $('details').textContent = '';
    return;
  }
  const info = { state: stateText(a), status: a.status, error: a.error || undefined, retries: a.retries.length ? a.retries : undefined, snapshot: a.snap };
  const text = JSON.stringify(info, null, 2);
  $('details').textContent = text.length > 20000 ? text.slice(0, 20000) + '\n…' : text;
}

/** The selected specialist's loop: each turn, its tool calls under it, the outcome's summary. All text. */
function renderTranscript(a: Actor | null): void {
  const box = $('transcript');
  const sum = a ? a.loopSum : null,
    tx = a ? a.tx : null;
  const key = a && (tx || sum) ? a.key + '|' + (tx ? tx.v : 0) + '|' + (a.outcome || '') + '|' + a.status + '|' + (sum ? JSON.stringify(sum) : '') : '';
  if (key === cache.transcriptKey) return;
  cache.transcriptKey = key;
  if (!key || !a) {
    box.textContent = '';
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const frag = document.createDocumentFragment();
  const v = tx ? TX.view(tx, TRANSCRIPT_SHOWN) : null;
  const head = el('div', 'tx-summary');
  head.setAttribute('data-testid', 'transcript-summary');
  const parts: string[] = [];
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
    parts.push(
      v.total.calls + (v.total.calls === 1 ? ' tool call' : ' tool calls') + (v.total.errors ? ' (' + v.total.errors + ' failed)' : '') + (v.total.running ? ', ' + v.total.running + ' running' : ''),
    );
  }
  head.textContent = 'Transcript · ' + parts.join(' · ');
  frag.appendChild(head);
  if (v?.earlier) {
    const note = el(
      'div',
      'tx-earlier',
      '…' +
        v.earlier +
        ' earlier ' +
        (v.earlier === 1 ? 'entry' : 'entries') +
        (v.earlierTurns || v.earlierCalls ? ' (not kept: ' + v.earlierTurns + ' turns, ' + v.earlierCalls + ' tool calls' + (v.earlierErrors ? ', ' + v.earlierErrors + ' failed' : '') + ')' : ''),
    );
    note.setAttribute('data-testid', 'transcript-earlier');
    frag.appendChild(note);
  }
  if (v)
    v.turns.forEach((g) => {
      const turn = el('div', 'tx-turn' + (g.seen ? '' : ' pending'));
      turn.setAttribute('data-turn', String(g.turn));
      const h = ['turn ' + g.turn];
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
      g.calls.forEach((c) => {
        const call = el('div', 'tx-call ' + (c.server ? 'server' : 'client') + (c.isError ? ' error' : '') + (c.running ? ' running' : ''));
        call.setAttribute('data-tool', c.tool);
        const ch = [c.tool, (c.server ? 'server' : 'client') + ' tool'];
        if (c.ms != null) ch.push(fmtMs(c.ms));
        ch.push(c.running ? 'running' : !c.done ? 'never finished' : c.isError ? 'error' : 'ok');
        call.appendChild(el('div', 'tx-call-head', ch.join(' · ')));
        const field = (label: string, text: string | null, cls: string): void => {
          if (text == null || text === '') return;
          const f = el('div', 'tx-field');
          f.appendChild(el('span', 'tx-label', label));
          f.appendChild(el('pre', cls, text));
          call.appendChild(f);
        };
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
export function openDetails(): void {
  const d = $as<HTMLDetailsElement>('details-box'),
    a = S.selActor ? S.actors.get(S.selActor) : undefined;
  if (d && a && (a.tx || a.loopSum?.toolCalls)) d.open = true;
}
