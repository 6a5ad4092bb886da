/**
 * What the Restate runtime cannot run yet is refused before anything is sent: a `ConfigError`
 * naming each path (no ingress is contacted, so none is needed here).
 */
import { describe, expect, it } from 'vitest';
import { defineTool } from '../src/index.ts';
import { startRestateRun } from '../src/restate/index.ts';
import { z } from 'zod';

const lookup = defineTool({ name: 'lookup', description: 'looks up', input: z.object({ q: z.string() }), run: () => 'x' });

describe('startRestateRun refuses what Restate does not run yet', () => {
  it('names every path at once: a model lead, task functions, sub-leads (tools run there)', async () => {
    // A port nothing listens on: reaching the network would fail differently.
    const refused = startRestateRun('http://127.0.0.1:9', 'run-1', {
      task: 't',
      specialists: [{ id: 'explorer', tools: [lookup] }],
      lead: {},
    });
    await expect(refused).rejects.toThrow(/- lead: a model lead does not run on Restate yet/);
    const mixed = startRestateRun('http://127.0.0.1:9', 'run-2', {
      task: 't',
      specialists: [
        { id: 'a', run: async () => 'ok' },
        { id: 'b', specialists: [{ id: 'c' }] },
        { id: 'd', tools: ['web_search'] },
      ],
    });
    const error = await mixed.then(
      () => null,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).toMatch(/- specialists\[0\]: a `run` function cannot be sent to a Restate service\n {2}- specialists\[1\]: nested sub-leads do not run on Restate yet/);
    // Tools are no refusal any more: the agent service runs them.
    expect(error?.message).not.toMatch(/specialists\[2\]/);
  });

  it('batch mode: refused, naming `batch` (Restate journals each call as a step of its own)', async () => {
    const refused = startRestateRun('http://127.0.0.1:9', 'run-3', { task: 't', specialists: [{ id: 'a' }], batch: true });
    await expect(refused).rejects.toThrow(/- batch: batch mode does not run on Restate yet/);
  });
});
