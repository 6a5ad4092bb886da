/**
 * The server's own frames about the view (e.g. messages it dropped at its limits), shown in a
 * banner until dismissed, as text. Two shapes: `{"type":"@fanfold.notice","level":"warning",
 * "message":"…"}` and `{"t":"notice","id":"dropped","level":"warning","text":"…"}`; a notice with
 * an id replaces the one shown with the same id. Only top-level frames count: inside a batch, a
 * message of that type comes from an inspected app, not from the server.
 */
import { $, el } from './dom.ts';

/** A frame from the server, as far as notices read it. */
export interface Frame {
  type?: unknown;
  t?: unknown;
  message?: unknown;
  text?: unknown;
  level?: unknown;
  id?: unknown;
}

interface Notice {
  id: string | null;
  level: string;
  text: string;
  count: number;
}

const NOTICE_LEVELS = ['info', 'warning', 'error'],
  MAX_NOTICES = 5,
  NOTICE_CHARS = 1000;
const notices: Notice[] = [];

/** The notice's text if the frame is one, else null. */
export function noticeText(data: Frame): string | null {
  if (Array.isArray(data)) return null;
  const text = data.type === '@fanfold.notice' ? data.message : data.t === 'notice' ? data.text : undefined;
  if (text == null) return null;
  return typeof text === 'string' ? text : JSON.stringify(text);
}

/** Shows a notice (or counts it again, or replaces the one with its id). */
export function addNotice(data: Frame, text: string): void {
  const level = typeof data.level === 'string' && NOTICE_LEVELS.indexOf(data.level) >= 0 ? data.level : 'warning';
  const id = typeof data.id === 'string' || typeof data.id === 'number' ? String(data.id) : null;
  if (text.length > NOTICE_CHARS) text = text.slice(0, NOTICE_CHARS) + '…';
  const same = notices.filter((n) => (id != null ? n.id === id : n.id == null && n.level === level && n.text === text))[0];
  if (same && id != null) {
    same.level = level;
    same.text = text;
    notices.splice(notices.indexOf(same), 1);
    notices.push(same);
  }
  // The same notice again (e.g. after a reconnect): counted, not repeated.
  else if (same) {
    notices.splice(notices.indexOf(same), 1);
    same.count++;
    notices.push(same);
  } else notices.push({ id: id, level: level, text: text, count: 1 });
  if (notices.length > MAX_NOTICES) notices.splice(0, notices.length - MAX_NOTICES);
  renderNotices();
}

function renderNotices(): void {
  const box = $('notices');
  const frag = document.createDocumentFragment();
  notices.forEach((n) => {
    const row = el('div', 'notice level-' + n.level);
    row.setAttribute('data-level', n.level);
    if (n.id != null) row.setAttribute('data-id', n.id);
    row.appendChild(el('span', 'notice-level', n.level));
    row.appendChild(el('span', 'notice-text', n.text + (n.count > 1 ? ' (×' + n.count + ')' : '')));
    const close = el('button', 'notice-close', '×');
    close.type = 'button';
    close.title = 'Dismiss';
    close.setAttribute('aria-label', 'Dismiss this notice');
    close.addEventListener('click', () => {
      const i = notices.indexOf(n);
      if (i >= 0) notices.splice(i, 1);
      renderNotices();
    });
    row.appendChild(close);
    frag.appendChild(row);
  });
  box.replaceChildren(frag);
  box.hidden = notices.length === 0;
}
