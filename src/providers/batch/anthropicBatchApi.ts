/**
 * The Message Batches port on the Anthropic SDK (`client.messages.batches`): entries carry the
 * params a streamed call would send, results come back as the provider port's responses, and
 * errors map to the same kinds as a streamed call's. Every call is made with `maxRetries: 0`:
 * the SDK retries 409, 5xx and dropped connections, and a create retried after its answer was
 * lost would submit a second batch (billed twice). A poll that fails is simply made again later.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { ProviderError } from '../../errors.ts';
import { kindOfApiErrorType, toProviderError } from '../anthropicErrors.ts';
import { toModelResponse, toParams } from '../anthropicParams.ts';
import type { BatchEntry, BatchItemResult, BatchState, MessageBatchApi } from './batchApi.ts';

/** What the adapter needs besides the client. */
export interface AnthropicBatchApiOptions {
  /** As the streaming provider's: the same prompt-cache breakpoints in batched requests. */
  promptCaching: boolean;
  /** For error messages. */
  baseURL: string;
  /** Removed from any error message. */
  secret?: string;
}

/**
 * The batch endpoints of an SDK client.
 *
 * @example
 * const batches = createAnthropicBatchApi(new Anthropic({ apiKey }), { promptCaching: true, baseURL: ANTHROPIC_API_URL });
 * const created = await batches.create([{ customId: 'a_1', params: batches.encode(request) }]);
 */
export function createAnthropicBatchApi(client: Anthropic, options: AnthropicBatchApiOptions): MessageBatchApi {
  const { baseURL, promptCaching } = options;
  /** A batch endpoint's failure as a `ProviderError` of a batched call. */
  const failure = (what: string, error: unknown, aborted = false, model = 'the batch'): ProviderError => {
    const mapped = toProviderError(error, { model, baseURL, aborted, ...(options.secret ? { secret: options.secret } : {}) });
    return new ProviderError(mapped.kind, `${what}: ${mapped.message}`, {
      ...(mapped.status !== undefined ? { status: mapped.status } : {}),
      ...(mapped.retryAfterMs !== undefined ? { retryAfterMs: mapped.retryAfterMs } : {}),
      batch: true,
      cause: error,
    });
  };
  const state = (batch: Anthropic.Messages.Batches.MessageBatch): BatchState => ({ id: batch.id, status: batch.processing_status, counts: { ...batch.request_counts } });
  return {
    encode: (request) => toParams(request, promptCaching),
    async create(entries: readonly BatchEntry[], { signal } = {}) {
      const requests = entries.map((entry) => ({ custom_id: entry.customId, params: entry.params as Anthropic.MessageCreateParamsNonStreaming }));
      try {
        return state(await client.messages.batches.create({ requests }, { maxRetries: 0, ...(signal ? { signal } : {}) }));
      } catch (error) {
        const model = (entries[0]?.params as { model?: string } | undefined)?.model;
        throw failure(`the batch of ${entries.length} request${entries.length === 1 ? '' : 's'} could not be created`, error, signal?.aborted ?? false, model);
      }
    },
    async retrieve(id) {
      try {
        return state(await client.messages.batches.retrieve(id, {}, { maxRetries: 0 }));
      } catch (error) {
        throw failure(`batch ${id} could not be polled`, error);
      }
    },
    async cancel(id) {
      try {
        return state(await client.messages.batches.cancel(id, {}, { maxRetries: 0 }));
      } catch (error) {
        throw failure(`batch ${id} could not be canceled`, error);
      }
    },
    async *results(id): AsyncGenerator<BatchItemResult> {
      let lines: AsyncIterable<Anthropic.Messages.Batches.MessageBatchIndividualResponse>;
      try {
        // It retrieves the batch, then reads its (absolute) `results_url` as JSON lines.
        lines = await client.messages.batches.results(id, {}, { maxRetries: 0 });
      } catch (error) {
        throw failure(`the results of batch ${id} could not be read`, error);
      }
      try {
        for await (const line of lines) yield toItemResult(line);
      } catch (error) {
        throw failure(`the results of batch ${id} were cut short`, error);
      }
    },
  };
}

/** One line of a results file as the port's result. */
function toItemResult(line: Anthropic.Messages.Batches.MessageBatchIndividualResponse): BatchItemResult {
  const customId = line.custom_id;
  const result = line.result;
  switch (result.type) {
    case 'succeeded':
      return { customId, type: 'succeeded', response: toModelResponse(result.message) };
    case 'errored': {
      const body = result.error as { error?: { type?: unknown; message?: unknown } } | undefined;
      const type = typeof body?.error?.type === 'string' ? body.error.type : 'api_error';
      const message = typeof body?.error?.message === 'string' && body.error.message ? body.error.message : 'no details';
      return { customId, type: 'errored', error: new ProviderError(kindOfApiErrorType(type), `the batch request errored (${type}): ${message}`, { batch: true }) };
    }
    default:
      return { customId, type: result.type };
  }
}
