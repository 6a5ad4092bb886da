import type { RunEvent } from '../../events.ts';

/** Shows a run's progress: fed every run event, finished once the run ends. */
export interface ProgressView {
  onEvent(event: RunEvent): void;
  /** Stops any redrawing and leaves the terminal clean. */
  finish(): void;
}

/** A view that shows nothing (`--quiet`). */
export const silentView: ProgressView = { onEvent() {}, finish() {} };
