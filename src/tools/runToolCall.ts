/**
 * Runs one client tool call for a specialist's loop and always settles with a `tool_result`:
 * a tool that is unknown, gets input that fails its schema, throws or times out yields an
 * error result (`is_error`) whose text tells the model what went wrong, so the loop goes on.
 */
import type { Clock } from '../clock.ts';
import { FanfoldError } from '../errors.ts';
import type { ToolResultBlock } from '../providers/provider.ts';
import { errorResult, type ToolCallRequest } from '../actors/agentLoop.ts';
import type { ToolContext, ToolDefinition, ToolOutput } from './tool.ts';

/** How a call ended. */
export interface ToolCallOutcome {
  result: ToolResultBlock;
  /** Why it failed, for events; `null` when it succeeded. */
  error: string | null;
}

/** A call in flight: its outcome, and how to stop it (the run stopped the specialist). */
export interface RunningToolCall {
  outcome: Promise<ToolCallOutcome>;
  /** Aborts the tool's signal; the outcome then never settles. */
  abort(reason: unknown): void;
}

/** What {@link runToolCall} needs besides the call. */
export interface ToolCallEnvironment {
  clock: Clock;
  /** The policy's `toolTimeoutMs` (a tool's own `timeoutMs` wins); `null` for none. */
  timeoutMs: number | null;
  specialist: { id: string; angle: string };
  task: string;
  turn: number;
  /** Names of the client tools the specialist has, for the unknown-tool message. */
  available: readonly string[];
}

/** A tool's output as result content: text and blocks as they are, other JSON as its text. */
export function toResultContent(output: ToolOutput | undefined): ToolResultBlock['content'] {
  if (typeof output === 'string') return output;
  if (Array.isArray(output) && output.every((item) => item && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string')) return output as ToolResultBlock['content'];
  if (output === undefined) return '';
  return JSON.stringify(output);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Starts a call.
 *
 * @example
 * const call = runToolCall({ id, name, input }, toolbox.byName.get(name), env);
 * const { result } = await call.outcome;
 */
export function runToolCall(call: ToolCallRequest, tool: ToolDefinition | undefined, env: ToolCallEnvironment): RunningToolCall {
  const fail = (error: string): RunningToolCall => ({ outcome: Promise.resolve({ result: errorResult(call.id, error), error }), abort() {} });
  if (!tool) {
    const names = env.available.length > 0 ? env.available.map((name) => `"${name}"`).join(', ') : 'none';
    return fail(`There is no tool named "${call.name}". The tools you can call are: ${names}.`);
  }
  let input: unknown;
  try {
    input = tool.parse(call.input);
  } catch (error) {
    return fail(`Invalid input for the tool "${call.name}": ${messageOf(error)}. Fix the input and call it again.`);
  }
  const controller = new AbortController();
  const timeoutMs = tool.timeoutMs ?? env.timeoutMs;
  let timer: unknown = null;
  let settled = false;
  let timedOut = false;
  const outcome = new Promise<ToolCallOutcome>((resolve) => {
    // Stopped from outside (not by its timeout): nobody waits for it any more.
    const finish = (value: ToolCallOutcome) => {
      if (settled || (controller.signal.aborted && !timedOut)) return;
      settled = true;
      if (timer !== null) env.clock.clearTimeout(timer);
      resolve(value);
    };
    if (timeoutMs !== null) {
      timer = env.clock.setTimeout(() => {
        timedOut = true;
        const error = `The tool "${call.name}" did not finish within ${timeoutMs} ms and was stopped.`;
        controller.abort(new FanfoldError('tool', error));
        finish({ result: errorResult(call.id, error), error });
      }, timeoutMs);
    }
    const context: ToolContext = { signal: controller.signal, specialist: env.specialist, task: env.task, callId: call.id, turn: env.turn };
    let running: Promise<ToolOutput>;
    try {
      running = Promise.resolve(tool.run(input, context));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (output) => finish({ result: { type: 'tool_result', tool_use_id: call.id, content: toResultContent(output) }, error: null }),
      (error: unknown) => {
        const message = `The tool "${call.name}" failed: ${messageOf(error)}`;
        finish({ result: errorResult(call.id, message), error: message });
      },
    );
  });
  return {
    outcome,
    abort(reason) {
      if (timer !== null) env.clock.clearTimeout(timer);
      controller.abort(reason);
    },
  };
}
