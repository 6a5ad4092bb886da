/**
 * The inspector page's DOM helpers: elements by id, new elements with text (never HTML: all
 * run data is shown as text), and virtual lists that keep only the rows in view in the DOM.
 */

/** The page's element with this id (the page's HTML has them all). */
export function $(id: string): HTMLElement {
  return document.getElementById(id)!;
}

/** The page's element with this id, of a known kind. */
export function $as<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** A new element with a class and text content. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string | null, text?: unknown): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  return e;
}

/** Scroll metrics of a virtual list. */
export interface ListMetrics {
  top: number;
  h: number;
  sh: number;
}

/** Scroll metrics of the virtual lists, read once per frame before any DOM write (no forced layouts). */
export const metrics: Record<string, ListMetrics> = {};

/** Reads the virtual lists' scroll metrics (at the start of a frame). */
export function readMetrics(): void {
  ['tree', 'lanes', 'log'].forEach((id) => {
    const c = $(id);
    metrics[id] = { top: c.scrollTop, h: c.clientHeight, sh: c.scrollHeight };
  });
}

/**
 * Shows rows `make(i)` of a list of `count` rows of `rowH` pixels in `container`: only those in
 * view (from `top`, or where it is scrolled), and a few either side.
 */
export function vlist(container: HTMLElement, count: number, rowH: number, make: (i: number) => HTMLElement, top?: number): void {
  let spacer = container.firstChild as HTMLElement | null;
  if (spacer?.className !== 'spacer') {
    container.textContent = '';
    spacer = el('div', 'spacer');
    spacer.appendChild(el('div', 'window'));
    container.appendChild(spacer);
  }
  spacer.style.height = count * rowH + 'px';
  const m = metrics[container.id] || { top: container.scrollTop, h: container.clientHeight };
  if (top == null) top = m.top;
  const h = m.h || 400;
  const start = Math.max(0, Math.floor(top / rowH) - 5),
    end = Math.min(count, Math.ceil((top + h) / rowH) + 5);
  const win = spacer.firstChild as HTMLElement;
  win.style.transform = 'translateY(' + start * rowH + 'px)';
  const frag = document.createDocumentFragment();
  for (let i = start; i < end; i++) {
    const row = make(i);
    row.style.height = rowH + 'px';
    frag.appendChild(row);
  }
  win.replaceChildren(frag);
}
