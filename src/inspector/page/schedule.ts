/**
 * When the inspector page renders: at most once per animation frame (or every 100 ms while the
 * tab is hidden), after {@link invalidate}. The renderer is set by `main.ts`, so the parts that
 * ask for a render need not import it.
 */

let scheduled = false;
let renderer: () => void = () => {};

/** Whether more history is coming at once: the page waits for it before rendering. */
export const feed = { loading: false };

/** Sets what a render does. */
export function setRenderer(render: () => void): void {
  renderer = render;
}

/** Asks for a render soon (many asks, one render). */
export function invalidate(): void {
  if (scheduled) return;
  scheduled = true;
  if (document.hidden) setTimeout(run, 100);
  else requestAnimationFrame(run);
}

function run(): void {
  scheduled = false;
  renderer();
}
