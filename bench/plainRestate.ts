/**
 * The plain-Restate fan-out `npm run bench:restate` measures fanfold against: what the engine
 * itself costs for the same work, written directly on the Restate SDK with nothing of fanfold's.
 * One handler splits N calls into chunk invocations of `chunkSize`, each chunk runs its calls as
 * journaled steps (`ctx.run`) awaited with `RestatePromise.all`, and one more call follows (the
 * synthesis). Every call goes to the same scripted provider as fanfold's.
 */
import * as restate from '@restatedev/restate-sdk';
import type { ModelProvider } from '../src/index.ts';

/** The baseline's service names. */
export const PLAIN_FAN_OUT = 'plainFanOut';
const PLAIN_CHUNK = 'plainChunk';

interface PlainRequest {
  n: number;
  chunkSize: number;
}

/** One model call, as fanfold's specialists make it (a request, the text back). */
async function call(provider: ModelProvider, id: string): Promise<string> {
  const response = await provider.stream(
    { model: 'bench-model', maxTokens: 64, system: 'bench', messages: [{ role: 'user', content: 'bench' }] },
    { signal: new AbortController().signal, caller: { id, attempt: 1 } },
  );
  return response.text;
}

/** The two services of the baseline, bound to a provider. */
export function createPlainRestateServices(provider: ModelProvider) {
  const chunk = restate.service({
    name: PLAIN_CHUNK,
    handlers: {
      run: async (ctx: restate.Context, ids: string[]): Promise<string[]> => restate.RestatePromise.all(ids.map((id) => ctx.run(id, () => call(provider, id)))),
    },
  });
  const fanOut = restate.service({
    name: PLAIN_FAN_OUT,
    handlers: {
      run: async (ctx: restate.Context, { n, chunkSize }: PlainRequest): Promise<number> => {
        const answers: Array<restate.RestatePromise<string[]>> = [];
        for (let from = 0; from < n; from += chunkSize) {
          const ids = Array.from({ length: Math.min(chunkSize, n - from) }, (_, i) => `s${from + i}`);
          answers.push(ctx.serviceClient(chunk).run(ids));
        }
        const findings = (await restate.RestatePromise.all(answers)).flat();
        await ctx.run('synthesis', () => call(provider, 'synthesizer'));
        return findings.length;
      },
    },
  });
  return [chunk, fanOut] as const;
}
