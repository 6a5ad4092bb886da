/**
 * Reading Message Batches calls: which endpoint a method and path name, and the create body and
 * list query validated the way the API validates them, with its limits as named constants (so a
 * batch client can split its work before the API would refuse it).
 */
import { isRecord } from './isRecord.ts';
import { parseMessagesBody, type ParsedMessagesRequest } from './request.ts';

/** The Message Batches collection: `POST` creates a batch, `GET` lists them. */
export const BATCHES_PATH = '/v1/messages/batches';

/** Most requests one batch may hold (the API's limit). */
export const MAX_BATCH_REQUESTS = 100_000;

/** Largest create body the API takes, in bytes (256 MB; a Messages call is limited to 32 MB). */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/** What a `custom_id` must match: 1–64 letters, digits, `_` or `-`, unique within its batch. */
export const CUSTOM_ID_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** The list's page size when `limit` is not given. */
export const DEFAULT_BATCH_LIST_LIMIT = 20;
/** The largest `limit` the list takes. */
export const MAX_BATCH_LIST_LIMIT = 1000;

/** One request of a create body, validated. */
export interface BatchItemInput {
  customId: string;
  request: ParsedMessagesRequest;
}

/** `GET /v1/messages/batches` paging, validated. */
export interface BatchListQuery {
  limit: number;
  beforeId: string | null;
  afterId: string | null;
}

/** A batch endpoint, with what it was called with. */
export type BatchCall = { op: 'create'; items: BatchItemInput[] } | { op: 'list'; query: BatchListQuery } | { op: 'retrieve' | 'cancel' | 'results' | 'delete'; id: string };

/** Which batch endpoint a method and path name (the body and query are read later). */
export type BatchRoute = { op: 'create' } | { op: 'list' } | { op: 'retrieve' | 'cancel' | 'results' | 'delete'; id: string } | { error: 404 | 405 };

/** Whether a path belongs to the Message Batches API. */
export function isBatchPath(path: string): boolean {
  return path === BATCHES_PATH || path.startsWith(`${BATCHES_PATH}/`);
}

/** The endpoint for a method and a batch path, or the status a wrong one gets. */
export function routeBatch(method: string, path: string): BatchRoute {
  if (path === BATCHES_PATH) {
    if (method === 'POST') return { op: 'create' };
    return method === 'GET' ? { op: 'list' } : { error: 405 };
  }
  const [rawId, action, ...rest] = path.slice(BATCHES_PATH.length + 1).split('/');
  if (!rawId || rest.length > 0) return { error: 404 };
  let id: string;
  try {
    id = decodeURIComponent(rawId); // the SDK encodes the id into the path
  } catch {
    return { error: 404 };
  }
  switch (action) {
    case undefined:
      if (method === 'GET') return { op: 'retrieve', id };
      return method === 'DELETE' ? { op: 'delete', id } : { error: 405 };
    case 'cancel':
      return method === 'POST' ? { op: 'cancel', id } : { error: 405 };
    case 'results':
      return method === 'GET' ? { op: 'results', id } : { error: 405 };
    default:
      return { error: 404 };
  }
}

/** A params error under its request's path: `requests.3.params.max_tokens: Field required`. */
function paramsMessage(index: number, message: string): string {
  return /^[a-z_]+(\.[\w-]+)*: /.test(message) ? `requests.${index}.params.${message}` : `requests.${index}.params: ${message}`;
}

/**
 * Validates a create body: `requests` a list of 1 to {@link MAX_BATCH_REQUESTS}, each with a
 * `custom_id` matching {@link CUSTOM_ID_PATTERN} and unique in the batch, and `params` that
 * `POST /v1/messages` would take, without `stream: true`. The first problem is the message of
 * the 400, as with the API's validation.
 */
export function parseBatchCreate(body: unknown): { ok: true; items: BatchItemInput[] } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  if (!isRecord(body)) return fail('Request body must be a JSON object');
  const requests = body['requests'];
  if (requests === undefined) return fail('requests: Field required');
  if (!Array.isArray(requests)) return fail('requests: Input should be a valid list');
  if (requests.length === 0) return fail('requests: List should have at least 1 item after validation, not 0');
  // Counted before anything else is read: a body over the limit is refused without parsing its items.
  if (requests.length > MAX_BATCH_REQUESTS) return fail(`requests: List should have at most ${MAX_BATCH_REQUESTS} items after validation, not ${requests.length}`);
  const seen = new Set<string>();
  const items: BatchItemInput[] = [];
  for (const [index, entry] of requests.entries()) {
    if (!isRecord(entry)) return fail(`requests.${index}: Input should be a valid dictionary`);
    const customId = entry['custom_id'];
    if (customId === undefined) return fail(`requests.${index}.custom_id: Field required`);
    if (typeof customId !== 'string') return fail(`requests.${index}.custom_id: Input should be a valid string`);
    if (!CUSTOM_ID_PATTERN.test(customId)) return fail(`requests.${index}.custom_id: String should match pattern '${CUSTOM_ID_PATTERN.source}'`);
    if (seen.has(customId)) return fail(`requests.${index}.custom_id: Duplicate custom_id ${JSON.stringify(customId)}: each request in a batch needs a unique custom_id`);
    seen.add(customId);
    const params = entry['params'];
    if (params === undefined) return fail(`requests.${index}.params: Field required`);
    if (!isRecord(params)) return fail(`requests.${index}.params: Input should be a valid dictionary`);
    const parsed = parseMessagesBody(params, 'create');
    if (!parsed.ok) return fail(paramsMessage(index, parsed.message));
    // A batch answers with results, never a stream.
    if (parsed.request.stream) return fail(`requests.${index}.params.stream: Streaming is not supported for requests in a Message Batch`);
    items.push({ customId, request: parsed.request });
  }
  return { ok: true, items };
}

/** Validates the list's query: `limit` 1–1000 (default 20), at most one of `before_id` and `after_id`. */
export function parseBatchListQuery(query: URLSearchParams): { ok: true; query: BatchListQuery } | { ok: false; message: string } {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? DEFAULT_BATCH_LIST_LIMIT : Number(rawLimit);
  if (rawLimit !== null && (rawLimit.trim() === '' || !Number.isInteger(limit))) return { ok: false, message: 'limit: Input should be a valid integer' };
  if (limit < 1 || limit > MAX_BATCH_LIST_LIMIT) return { ok: false, message: `limit: Input should be between 1 and ${MAX_BATCH_LIST_LIMIT}, got ${limit}` };
  const beforeId = query.get('before_id') || null;
  const afterId = query.get('after_id') || null;
  if (beforeId !== null && afterId !== null) return { ok: false, message: 'Only one of before_id and after_id may be given' };
  return { ok: true, query: { limit, beforeId, afterId } };
}
