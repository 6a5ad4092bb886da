/**
 * fanfold's local, offline inspector: a loopback server and page that show a run's lead
 * statechart, actor tree, per-specialist timeline and event log live; recordings of runs as
 * JSONL and their replay; and helpers for the Stately inspector (`@statelyai/inspect`).
 *
 * @example
 * import { startInspectorServer, combineInspectors, createInspectionRecorder } from 'fanfold/inspector';
 * const inspector = await startInspectorServer();
 * const recorder = createInspectionRecorder('run.jsonl');
 * console.log(`Inspector: ${inspector.url}`);
 * const run = runFanOut(config, { provider, inspect: combineInspectors(inspector.inspect, recorder.inspect) });
 * await run.result;
 * await recorder.close();
 */
export { startInspectorServer, isLoopbackHost } from './server.ts';
export { createInspectionRecorder, readRecording } from './recorder.ts';
export { aggregateLightChildren, AGGREGATE_INTERVAL_MS } from './aggregate.ts';
export {
  toWireMessage,
  normalizeWireMessage,
  wireMessageProblem,
  serializeWireMessage,
  compactJson,
  compactSnapshot,
  redactSecrets,
  isSecretKey,
  isTokenEvent,
  filterInspection,
  combineInspectors,
  WIRE_VERSION,
  SNAPSHOT_LIMITS,
  EVENT_LIMITS,
  DEFINITION_LIMITS,
  MAX_MESSAGE_BYTES,
  MAX_FIELD_LENGTH,
} from './wire.ts';

export type { InspectorServer, InspectorServerOptions, InspectorServerStats, InspectorNotice } from './server.ts';
export type { InspectionRecorder } from './recorder.ts';
export type {
  WireMessage,
  WireActorMessage,
  WireEventMessage,
  WireSnapshotMessage,
  CompactLimits,
  FilterInspectionOptions,
  InspectionObserver,
} from './wire.ts';
