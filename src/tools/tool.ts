/**
 * A client tool: something a specialist's model may call, run by fanfold in the specialist's
 * loop. Tools defined in code ({@link defineTool}) and the tools of MCP servers both take this
 * shape, so the loop runs them alike.
 */
import type { ToolResultContent } from '../providers/provider.ts';

/** What a tool's `run` receives besides its input. */
export interface ToolContext {
  /**
   * Aborted when the call's own timeout (`toolTimeoutMs`) passes, the run's deadline passes,
   * the specialist is stopped or the run is cancelled. Pass it on to `fetch` and friends.
   */
  signal: AbortSignal;
  /** Which specialist called, with its angle. */
  specialist: { id: string; angle: string };
  /** The run's task. */
  task: string;
  /** The model's id for this call (`toolu_…`). */
  callId: string;
  /** The loop's turn, from 1. */
  turn: number;
}

/**
 * What a tool returns: text, content blocks (text, image, document), or any JSON value (sent
 * as its JSON text).
 */
export type ToolOutput = string | ToolResultContent[] | { [key: string]: unknown } | unknown[] | number | boolean | null;

/** A client tool, ready to offer to a model and to run. */
export interface ToolDefinition<Input = unknown> {
  /** Marks the object as a tool, so config validation can tell it from a misspelt name. */
  readonly kind: 'fanfold.tool';
  /** As the model calls it: `^[a-zA-Z0-9_-]{1,64}$`. */
  readonly name: string;
  /** What it does and when to use it: the model reads this. */
  readonly description: string;
  /** JSON Schema of the input (an object). */
  readonly inputSchema: { type: 'object'; [key: string]: unknown };
  /**
   * Checks the model's input; throws an `Error` whose message says what is wrong (the model
   * gets it as an error result and can try again).
   */
  parse(input: unknown): Input;
  run(input: Input, context: ToolContext): Promise<ToolOutput> | ToolOutput;
  /** This tool's own timeout in ms, instead of the policy's `toolTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Tool names the API accepts. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** True for an object made by {@link defineTool} (or shaped like one). */
export function isToolDefinition(value: unknown): value is ToolDefinition {
  if (!value || typeof value !== 'object') return false;
  const tool = value as Partial<ToolDefinition>;
  return tool.kind === 'fanfold.tool' && typeof tool.name === 'string' && typeof tool.run === 'function' && typeof tool.parse === 'function';
}
