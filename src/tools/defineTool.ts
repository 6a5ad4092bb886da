/**
 * `defineTool`: a client tool from a zod schema. The SDK's `betaZodTool` helper turns the
 * schema into the JSON Schema the model sees and parses the model's input with it; fanfold
 * adds the run context (signal, specialist) and error messages a model can act on.
 */
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import type { z } from 'zod';
import { FanfoldError } from '../errors.ts';
import { TOOL_NAME_PATTERN, type ToolContext, type ToolDefinition, type ToolOutput } from './tool.ts';

/** Options of {@link defineTool}. */
export interface DefineToolOptions<Schema extends z.ZodType> {
  /** As the model calls it: letters, digits, `_` and `-`, at most 64. */
  name: string;
  /** What it does and when to use it. */
  description: string;
  /** The input's schema: a `z.object(...)`. */
  input: Schema;
  run(input: z.infer<Schema>, context: ToolContext): Promise<ToolOutput> | ToolOutput;
  /** This tool's timeout in ms, instead of the policy's `toolTimeoutMs` (default 60 s). */
  timeoutMs?: number;
}

/**
 * Defines a client tool for specialists.
 *
 * @example
 * const lookup = defineTool({
 *   name: 'lookup_paper',
 *   description: 'Find a paper by DOI and return its title and abstract.',
 *   input: z.object({ doi: z.string() }),
 *   run: async ({ doi }, { signal }) => (await fetch(`https://doi.org/${doi}`, { signal })).text(),
 * });
 * runFanOut({ task, specialists: [{ id: 'academic', tools: [lookup, 'web_search'] }] }, { provider });
 */
export function defineTool<Schema extends z.ZodType>(options: DefineToolOptions<Schema>): ToolDefinition<z.infer<Schema>> {
  if (typeof options.name !== 'string' || !TOOL_NAME_PATTERN.test(options.name)) {
    throw new FanfoldError('config', `Expected \`name\` to be 1-64 letters, digits, "_" or "-", got ${JSON.stringify(options.name)}`);
  }
  if (typeof options.description !== 'string' || options.description.trim() === '') {
    throw new FanfoldError('config', `Expected \`description\` of tool "${options.name}" to be a non-empty string`);
  }
  if (typeof options.run !== 'function') throw new FanfoldError('config', `Expected \`run\` of tool "${options.name}" to be a function`);
  if (options.timeoutMs !== undefined && !(Number.isInteger(options.timeoutMs) && options.timeoutMs >= 1)) {
    throw new FanfoldError('config', `Expected \`timeoutMs\` of tool "${options.name}" to be an integer from 1 and up, got ${options.timeoutMs}`);
  }
  // Throws for a schema that is not an object ("must be an object, but got string").
  const helper = betaZodTool({ name: options.name, description: options.description, inputSchema: options.input as never, run: () => '' });
  // `$schema` is noise to the model and costs tokens on every call.
  const { type: _type, $schema: _dialect, ...schema } = (helper as unknown as { input_schema: unknown }).input_schema as { type: string; $schema?: string; [key: string]: unknown };
  return {
    kind: 'fanfold.tool',
    name: options.name,
    description: options.description,
    inputSchema: { type: 'object', ...schema },
    parse: (input) => {
      const parsed = options.input.safeParse(input);
      if (parsed.success) return parsed.data;
      throw new FanfoldError('tool', parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(input)'}: ${issue.message}`).join('; '));
    },
    run: options.run,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
}
