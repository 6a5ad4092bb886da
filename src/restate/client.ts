/**
 * The client side of a Restate run: start it through the ingress, follow its events, await its
 * result. Plain HTTP against the ingress; no Restate SDK needed here.
 */
import { Observable } from 'rxjs';
import { normalizeConfig, type FanOutConfig, type LeadInput, type SpecialistSpec } from '../config.ts';
import { ConfigError, FanfoldError } from '../errors.ts';
import type { RunEvent } from '../events.ts';
import type { SpecialistOutcome } from '../outcome.ts';
import type { RunResult } from '../result.ts';
import { checkRunId } from '../runId.ts';
import { cleanResult, SnapshotEventDiffer, type LeadObjectSnapshot } from './snapshotEvents.ts';

/** The run-id rule (`src/runId.ts`), re-exported for `fanfold/restate`: a run's id is its lead object's key. */
export { checkRunId };

/** The lead objects' service name (as in `service.ts`, kept here so the client needs no SDK). */
const LEAD_SERVICE = 'fanfold';
/** What the lead's `create` answers for a key that holds a run (as `ALREADY_EXISTS` in `invocationClock.ts`). */
const ALREADY_EXISTS = 409;
/** The progress objects' service name (as in `progress.ts`). */
const PROGRESS_SERVICE = 'fanfoldProgress';

/** A Restate ingress error (code `restate`), with the HTTP status it came with (0: no response). */
export class RestateIngressError extends FanfoldError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('restate', message);
    this.name = 'RestateIngressError';
    this.status = status;
  }
}

/** Calls a handler of a run's lead object. */
async function callLead(ingressUrl: string, runId: string, handler: string, body?: unknown, service = LEAD_SERVICE): Promise<unknown> {
  const url = `${ingressUrl.replace(/\/+$/, '')}/${service}/${encodeURIComponent(runId)}/${handler}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? null) });
  } catch (error) {
    throw new RestateIngressError(0, `cannot reach the Restate ingress at ${ingressUrl}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // Not JSON: keep the text.
    }
    throw new RestateIngressError(response.status, `${handler} on run "${runId}" failed (HTTP ${response.status}): ${message}`);
  }
  return text === '' ? null : JSON.parse(text);
}

/**
 * Config paths of what the Restate runtime cannot run: task functions, nested sub-leads, a
 * model lead and batch mode. Tools run there (each specialist's loop in the agent service, with the tools
 * the service was given); a code tool travels as its name, so the config may hold it.
 */
function unsupportedPaths(input: LeadInput): string[] {
  const paths: string[] = [];
  const visit = (spec: SpecialistSpec, path: string) => {
    if (spec.kind === 'task') paths.push(`${path}: a \`run\` function cannot be sent to a Restate service`);
    if (spec.kind === 'fanOut') paths.push(`${path}: nested sub-leads do not run on Restate yet (large fan-outs are chunked automatically)`);
  };
  if (input.lead) paths.push('lead: a model lead does not run on Restate yet; run it in-process (`fanfold run`, `runFanOut`)');
  if (input.batch) paths.push('batch: batch mode does not run on Restate yet (each call is a journaled step there); run it in-process (`fanfold run --batch`, `runFanOut`)');
  input.specialists.forEach((spec, index) => visit(spec, `specialists[${index}]`));
  visit(input.synthesizer, 'synthesizer');
  return paths;
}

/** Options of {@link startRestateRun}. */
export interface StartRestateRunOptions {
  /** Names the config in validation errors. Default `'run config'`. */
  source?: string;
}

/**
 * Validates a config and starts it as run `runId` on a Restate ingress (e.g.
 * `http://127.0.0.1:8080`). Throws a `ConfigError` for an invalid config, or one the Restate
 * runtime cannot run, and a `FanfoldError` (code `config`) for a run id that breaks the
 * run-id rule or a run with that id that exists.
 *
 * @example
 * await startRestateRun('http://127.0.0.1:8080', 'fusion-1', { task: 'nuclear fusion', specialists: [{ id: 'technical' }] });
 */
export async function startRestateRun(ingressUrl: string, runId: string, config: FanOutConfig, options: StartRestateRunOptions = {}): Promise<void> {
  checkRunId(runId);
  const source = options.source ?? 'run config';
  const { input } = normalizeConfig(config, source);
  const unsupported = unsupportedPaths(input);
  if (unsupported.length > 0) {
    throw new ConfigError(
      source,
      unsupported.map((line) => ({ path: line.slice(0, line.indexOf(':')), message: line.slice(line.indexOf(':') + 2) })),
    );
  }

  // No `startedAt`: the service stamps it from its journaled clock, the one its deadline timer runs on.
  // The service refuses a key that holds a run (`create` would wipe it), in the same step.
  await callLead(ingressUrl, runId, 'create', { input }).catch((error: unknown) => {
    if (error instanceof RestateIngressError && error.status === ALREADY_EXISTS) {
      throw new FanfoldError('config', `A run with id "${runId}" already exists on ${ingressUrl}; choose another id`);
    }
    throw error;
  });
}

/** The lead object's current snapshot. */
export async function getRestateSnapshot(ingressUrl: string, runId: string): Promise<LeadObjectSnapshot> {
  checkRunId(runId);
  const snapshot = (await callLead(ingressUrl, runId, 'snapshot')) as LeadObjectSnapshot;
  if (snapshot.status !== 'active' || snapshot.context.outcomes.some((outcome) => outcome !== null)) return snapshot;
  // While the fan-out runs, the lead holds no outcomes yet: show what the chunks reported.
  const settled = (await callLead(ingressUrl, runId, 'read', undefined, PROGRESS_SERVICE)) as Array<{ index: number; outcome: SpecialistOutcome }> | null;
  if (!settled?.length) return snapshot;
  const outcomes = snapshot.context.outcomes.slice();
  for (const { index, outcome } of settled) outcomes[index] = outcome;
  return { ...snapshot, context: { ...snapshot.context, outcomes } };
}

/** Sends a command (`run.cancel`, `run.deadline`) to a run. */
export async function sendRestateRun(ingressUrl: string, runId: string, event: { type: 'run.cancel'; reason?: string } | { type: 'run.deadline' }): Promise<void> {
  checkRunId(runId);
  await callLead(ingressUrl, runId, 'send', { event });
}

/** Options of {@link followRestateRun}. */
export interface FollowOptions {
  /** Time between two snapshots, in ms. Default `250`. */
  pollMs?: number;
}

/**
 * The run's events, derived from its snapshots: the same `RunEvent`s as in-process, ending with
 * `run.finished`, except token events (Restate runs stream none). Events that happened before
 * the subscription are reported on the first snapshot.
 *
 * @example
 * followRestateRun(ingress, 'fusion-1').subscribe((event) => console.log(event.type));
 */
export function followRestateRun(ingressUrl: string, runId: string, options: FollowOptions = {}): Observable<RunEvent> {
  const pollMs = options.pollMs ?? 250;
  return new Observable<RunEvent>((subscriber) => {
    const differ = new SnapshotEventDiffer();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async () => {
      try {
        const snapshot = await getRestateSnapshot(ingressUrl, runId);
        if (stopped) return;
        for (const event of differ.next(snapshot)) subscriber.next(event);
        if (differ.done) return subscriber.complete();
        if (snapshot.status === 'error') return subscriber.error(new FanfoldError('restate', `run "${runId}" ended with an internal error on Restate`));
        timer = setTimeout(() => void poll(), pollMs);
      } catch (error) {
        if (!stopped) subscriber.error(error);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  });
}

/** How long one `waitFor` request waits on the server before it is asked again, in ms. */
const WAIT_FOR_MS = 30_000;

/**
 * Resolves with the run's result once it reaches a final state: the same `RunResult` shape as
 * the in-process runtime's. It waits on the server (the lead object's `waitFor`, asked again
 * every 30 s), so the snapshot — megabytes for a large run — travels once, at the end, instead of
 * on every poll. (`pollMs` is for `followRestateRun`; waiting here does not poll.)
 *
 * @example
 * const result = await awaitRestateRun(ingress, 'fusion-1');
 */
export async function awaitRestateRun(ingressUrl: string, runId: string, _options: FollowOptions = {}): Promise<RunResult> {
  checkRunId(runId);
  for (;;) {
    let snapshot: LeadObjectSnapshot;
    try {
      snapshot = (await callLead(ingressUrl, runId, 'waitFor', { condition: 'done', timeout: WAIT_FOR_MS })) as LeadObjectSnapshot;
    } catch (error) {
      // 408: the wait timed out on the server, wait again; 412: the machine ended in an error.
      if (error instanceof RestateIngressError && error.status === 408) continue;
      if (error instanceof RestateIngressError && error.status === 412) throw new FanfoldError('restate', `run "${runId}" ended with an internal error on Restate`);
      throw error;
    }
    if (snapshot?.output) return cleanResult(snapshot.output);
    throw new FanfoldError('restate', `run "${runId}" ended without a result on Restate`);
  }
}
