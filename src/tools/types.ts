/**
 * The plain-JSON records of a specialist's tool-use loop: which tools a specialist has (as the
 * lead machine's input holds them), what each tool call and each turn left behind, and the
 * steps a checkpoint journals so a resumed specialist continues where it was.
 */
import type { ContentBlock, ModelMessage, ToolResultBlock } from '../providers/provider.ts';
import type { Usage } from '../usage.ts';

/** The Anthropic server tools fanfold passes through to the API. */
export type ServerToolName = 'web_search' | 'web_fetch';

/**
 * One tool a specialist may use, as JSON (functions and MCP connections live outside the
 * machine, found by `key` or server name when the specialist runs).
 */
export type ToolSpec =
  /** A tool defined in code with `defineTool`; `key` finds it in the run's tool registry. */
  | { source: 'code'; name: string; key: string }
  /** Tools of an MCP server of the run: one (`tool`), or every tool it allows (`tool: null`). */
  | { source: 'mcp'; server: string; tool: string | null }
  /** An Anthropic server tool, run by the API. */
  | { source: 'server'; name: ServerToolName; maxUses: number | null; allowedDomains: string[] | null; blockedDomains: string[] | null }
  /** A model lead's `Agent` tool: its calls go to the lead machine, which spawns and joins specialists from these templates. */
  | { source: 'agent'; templates: string[] }
  /** The `report` tool: the specialist's confidence and sources, with its finding (offered when the run weighs findings). */
  | { source: 'report' };

/**
 * Which limit ended a tool-use loop (the model then had one last turn without tools):
 * `deadline` when the run's deadline passed while a model lead was still at work, `budget` when
 * the run's budget stopped its fan-out.
 */
export type LoopLimit = 'maxTurns' | 'maxToolCalls' | 'deadline' | 'budget';

/** One tool call, as an outcome keeps it. */
export interface ToolCallSummary {
  name: string;
  /** Wall time of the call on the run's clock; for a server tool, from its call to its result inside the stream. */
  ms: number;
  isError: boolean;
  /** `true` for a server tool (run by the API, inside a model call). */
  server?: true;
}

/** A finished model turn of a loop, as journaled: the assistant's content and what it cost. */
export interface ModelStep {
  kind: 'model';
  /** The turn it answered, from 1. A `pause_turn` continuation is a turn of its own. */
  turn: number;
  content: ContentBlock[];
  stopReason: string | null;
  model: string;
  /** Calls it took (1 plus its retries). */
  calls: number;
  usage: Usage;
  /** Server tool calls that ran inside it. */
  serverToolCalls: ToolCallSummary[];
}

/** A finished client tool call of a loop, as journaled: its result goes back to the model as is. */
export interface ToolStep {
  kind: 'tool';
  turn: number;
  name: string;
  result: ToolResultBlock;
  ms: number;
}

/** What a checkpoint journals of a running specialist's loop. */
export type LoopStep = ModelStep | ToolStep;

/** A specialist's conversation so far, rebuilt from its steps (see `agentLoop.ts`). */
export interface LoopTranscript {
  messages: ModelMessage[];
}
