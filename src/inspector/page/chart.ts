/**
 * The inspector page's statechart: the selected machine (or the run's root) drawn as nested
 * state boxes with their transitions and invoked actors, the current states highlighted, and
 * the path of states it went through.
 */
import { $, el } from './dom.ts';
import { fmtMs } from './format.ts';
import { S, type Actor, type MachineNode } from './model.ts';
import { cache, rootOf } from './view.ts';

/** A transition as the chart lists it. */
interface Transition {
  ev: string;
  targets: string[];
  guard: string;
}

/** The machine to draw: the selected actor if it is one, else the run's root. */
function chartActor(): Actor | null {
  const root = rootOf();
  const sel = S.selActor ? S.actors.get(S.selActor) : undefined;
  return sel?.isMachine ? sel : root;
}

/** Draws the statechart panel (only when its machine or state changed). */
export function renderChart(): void {
  const a = chartActor();
  const chart = $('chart'),
    nameEl = $('machine-name'),
    stateEl = $('machine-state'),
    pathEl = $('state-path');
  const key = a ? a.key + '|' + a.valueStr + '|' + a.status + '|' + a.history.length : '';
  if (key === cache.chartKey) return;
  cache.chartKey = key;
  chart.textContent = '';
  if (!a) {
    nameEl.textContent = '';
    stateEl.textContent = '';
    pathEl.textContent = '';
    return;
  }
  nameEl.textContent = a.name;
  const final = a.status === 'done';
  stateEl.textContent = a.valueStr || a.status;
  stateEl.className = 'pill' + (final ? ' final ' + a.valueStr : '') + (a.status === 'error' ? ' error' : a.status === 'stopped' ? ' stopped' : '');
  pathEl.textContent = '';
  const t0 = a.history.length ? a.history[0]!.t : a.createdT;
  if (!a.history.length && a.valueStr) pathEl.appendChild(el('span', 'cur', a.valueStr));
  a.history.forEach((h, i) => {
    if (i) pathEl.appendChild(document.createTextNode(' → '));
    const s = el('span', i === a.history.length - 1 ? 'cur' : null, h.v);
    s.title = '+' + fmtMs(h.t - t0) + (h.ev ? ' on ' + h.ev : '');
    pathEl.appendChild(s);
  });
  if (!a.def?.states) {
    chart.appendChild(el('div', 'empty', '"' + a.name + '" is not a state machine (' + a.kind + '): no statechart to show.'));
    return;
  }
  const active = new Set(['']);
  (function walk(v: unknown, prefix: string): void {
    if (typeof v === 'string') {
      active.add(prefix ? prefix + '.' + v : v);
      return;
    }
    if (v && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      for (const k in obj) {
        const p = prefix ? prefix + '.' + k : k;
        active.add(p);
        walk(obj[k], p);
      }
    }
  })(a.value, '');
  chart.appendChild(stateBox(a.def, String(a.def.id || a.name), '', active, a.def.initial, true));
}

function guardName(g: unknown): string {
  if (!g) return '';
  if (typeof g === 'string') return g;
  if (typeof g === 'object' && (g as { type?: unknown }).type) return String((g as { type?: unknown }).type);
  return '';
}

/** An invoke entry of a state's config. */
type Invoke = { id?: unknown; src?: unknown; onDone?: unknown; onError?: unknown } | null;

function invokesOf(node: MachineNode): Invoke[] {
  return node.invoke ? ((Array.isArray(node.invoke) ? node.invoke : [node.invoke]) as Invoke[]) : [];
}

function transitionsOf(node: MachineNode): Transition[] {
  const list: Transition[] = [];
  function add(label: string, t: unknown): void {
    if (t == null) return;
    if (Array.isArray(t)) {
      t.forEach((x: unknown) => {
        add(label, x);
      });
      return;
    }
    if (typeof t === 'string') t = { target: t };
    if (typeof t !== 'object') return;
    const tr = t as { target?: unknown; guard?: unknown };
    const targets: unknown[] = tr.target == null ? [] : Array.isArray(tr.target) ? tr.target : [tr.target];
    list.push({ ev: label, targets: targets.map((x) => String(x).replace(/^\./, '')), guard: guardName(tr.guard) });
  }
  if (node.on && typeof node.on === 'object') {
    const on = node.on as Record<string, unknown>;
    for (const k in on) add(k, on[k]);
  }
  if (node.always) add('always', node.always);
  if (node.after && typeof node.after === 'object') {
    const after = node.after as Record<string, unknown>;
    for (const d in after) add('after ' + d + (/^\d+$/.test(d) ? ' ms' : ''), after[d]);
  }
  invokesOf(node).forEach((i) => {
    if (!i || typeof i !== 'object') return;
    const name = String(i.id || (typeof i.src === 'string' ? i.src : 'invoked'));
    add('done: ' + name, i.onDone);
    add('error: ' + name, i.onError);
  });
  if (node.onDone) add('done', node.onDone);
  return list;
}

function stateBox(node: MachineNode, name: string, path: string, active: Set<string>, parentInitial: unknown, isRoot: boolean): HTMLElement {
  const on = active.has(path);
  const box = el('div', 'state' + (isRoot ? ' root' : '') + (on ? ' active' : '') + (node.type === 'final' ? ' final' : ''));
  box.setAttribute('data-state', path || name);
  const head = el('div', 'state-head');
  head.appendChild(el('span', 'state-name', name));
  if (!isRoot && parentInitial === name) head.appendChild(el('span', 'badge', 'initial'));
  if (node.type === 'final') head.appendChild(el('span', 'badge', 'final'));
  if (node.type === 'parallel') head.appendChild(el('span', 'badge', 'parallel'));
  if (node.type === 'history') head.appendChild(el('span', 'badge', 'history'));
  if (on && !isRoot) head.appendChild(el('span', 'badge now', 'current'));
  box.appendChild(head);
  const inv = invokesOf(node);
  if (inv.length) {
    const ivs = el('ul', 'invokes');
    inv.forEach((i) => {
      if (i && typeof i === 'object') ivs.appendChild(el('li', null, 'invokes ' + (typeof i.src === 'string' ? i.src : 'actor') + (i.id && i.id !== i.src ? ' as ' + String(i.id) : '')));
    });
    box.appendChild(ivs);
  }
  const trs = transitionsOf(node);
  if (trs.length) {
    const ul = el('ul', 'transitions');
    trs.forEach((t) => {
      const li = el('li');
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
    const kids = el('div', 'substates' + (node.type === 'parallel' ? ' parallel' : ''));
    for (const k in node.states) {
      const child = node.states[k];
      if (child && typeof child === 'object') kids.appendChild(stateBox(child as MachineNode, k, path ? path + '.' + k : k, active, node.initial, false));
    }
    box.appendChild(kids);
  }
  return box;
}
