/**
 * Plain text of what the inspector page shows: durations, clock times, state values, errors.
 * Pure functions of their arguments.
 */

/** Wall-clock times outside 2000..2100 (ms since the epoch) are not trusted: one absurd
 * createdAt would stretch the time axis to Infinity. */
export const WALL_MIN = 946684800000,
  WALL_MAX = 4102444800000;

/** The length of a list the wire cut short (its last item says `…N more`). */
export function arrLen(a: unknown): number {
  if (!Array.isArray(a)) return 0;
  const last: unknown = a[a.length - 1];
  if (typeof last === 'string') {
    const m = /^…(\d+) more$/.exec(last);
    if (m) return a.length - 1 + Number(m[1]);
  }
  return a.length;
}

/** An XState state value as a dotted path, e.g. `running.fanOut` or `{a, b.c}` (parallel states). */
export function stateString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const parts: string[] = [];
    const obj = v as Record<string, unknown>;
    for (const k in obj) {
      const sub = stateString(obj[k]);
      parts.push(sub ? k + '.' + sub : k);
    }
    return parts.length === 1 ? parts[0]! : '{' + parts.join(', ') + '}';
  }
  return '';
}

/** One line of an error as the wire carries it: `kind: message`, or its JSON. */
export function errText(e: unknown): string {
  if (!e) return '';
  if (typeof e === 'string') return e;
  const err = e as { message?: unknown; kind?: unknown };
  const msg = err.message != null ? String(err.message) : JSON.stringify(e);
  return err.kind ? err.kind + ': ' + msg : msg;
}

/** A time of the run's own clock (outcomes, progress): any finite number within the wall-clock
 * range's magnitude (a simulated clock starts at 0), else null. */
export function runTime(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= WALL_MAX ? x : null;
}

/** `hh:mm:ss` in the page's time zone. */
export function clock(t: number): string {
  const d = new Date(t),
    p = (n: number) => (n < 10 ? '0' : '') + n;
  return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
}

/** A duration: `850 ms`, `2.50 s`, `12.5 s`, `3 min 4 s`; empty if unknown. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
}

/** A round step (1, 2 or 5 times a power of ten) near `raw`, for axis ticks. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
