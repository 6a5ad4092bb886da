/**
 * The one run-id rule (src/runId.ts): what it accepts and refuses, and that every entry point a
 * run id comes in through refuses a bad one with the same `config` error naming the id and the
 * rule. The CLI's `--run-id` and `resume <run-id>` are run as the real command in
 * cli-exit-codes.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileCheckpointStore, FanfoldError, newRunId, resumeFanOut, runFanOut, type FanOutConfig } from '../src/index.ts';
import { checkRunId, isValidRunId, MAX_RUN_ID_LENGTH, RESERVED_RUN_IDS, RUN_ID_RULE } from '../src/runId.ts';
import { startRestateRun, getRestateSnapshot, sendRestateRun } from '../src/restate/client.ts';
import { createScriptedProvider } from '../src/testing.ts';

/** What `checkRunId` threw for `runId`, or `null`. */
function refusal(runId: unknown): FanfoldError | null {
  try {
    checkRunId(runId);
    return null;
  } catch (error) {
    return error as FanfoldError;
  }
}

const ruleMessage = (runId: string) => `Invalid run id "${runId}": use ${RUN_ID_RULE}`;

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the run-id rule', () => {
  it.each(['a', 'fusion-1', 'A.b_c-9', '20250301-120000-abc123', 'x'.repeat(MAX_RUN_ID_LENGTH), 'deadline-2', 'FanOut'])('accepts %j', (runId) => {
    expect(isValidRunId(runId)).toBe(true);
    expect(refusal(runId)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(MAX_RUN_ID_LENGTH + 1)],
    ['a path', '../etc'],
    ['a slash', 'a/b'],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-rf'],
    ['a space', 'bad id'],
    ['a non-ASCII letter', 'café'],
    ['a reserved id', 'fanOut'],
    ['a reserved id', 'synthesizer'],
  ])('refuses %s (%j) with a config error naming the id and the rule', (_why, runId) => {
    expect(isValidRunId(runId)).toBe(false);
    const error = refusal(runId);
    expect(error).toBeInstanceOf(FanfoldError);
    expect(error!.code).toBe('config');
    expect(error!.message).toBe(ruleMessage(runId));
  });

  it('refuses what is not a string', () => {
    expect(isValidRunId(42)).toBe(false);
    expect(refusal(undefined)?.message).toBe(`Invalid run id undefined: use ${RUN_ID_RULE}`);
  });

  it('the rule names every reserved id', () => {
    for (const id of RESERVED_RUN_IDS) expect(RUN_ID_RULE).toContain(id);
  });

  it('newRunId follows the rule and sorts by start time', () => {
    const early = newRunId(new Date('2025-03-01T12:00:00.250Z'));
    const late = newRunId(new Date('2025-03-01T12:00:01Z'));
    expect(early).toMatch(/^20250301-120000-[0-9a-f]{6}$/);
    expect(isValidRunId(early)).toBe(true);
    expect([late, early].sort()).toEqual([early, late]);
    expect(newRunId()).not.toBe(newRunId());
  });
});

describe('every entry point uses the rule', () => {
  const config: FanOutConfig = { task: 't', model: 'm', specialists: [{ id: 'a' }] };
  const store = () => createFileCheckpointStore((dir ??= mkdtempSync(join(tmpdir(), 'fanfold-run-id-'))));

  it('runFanOut: a bad checkpoint run id, before any call', () => {
    const provider = createScriptedProvider();
    expect(() => runFanOut(config, { provider, checkpoint: { store: store(), runId: 'synthesizer' } })).toThrow(ruleMessage('synthesizer'));
    expect(provider.calls).toHaveLength(0);
  });

  it('resumeFanOut and the file store', () => {
    const files = store();
    expect(() => resumeFanOut('../etc', { store: files })).toThrow(ruleMessage('../etc'));
    expect(() => files.load('a/b')).toThrow(ruleMessage('a/b'));
    expect(() => files.acquire('.x')).toThrow(ruleMessage('.x'));
  });

  it('the Restate client, before it calls the ingress', async () => {
    // Port 9 (discard) has no ingress: a checked id never gets as far as a request.
    const ingress = 'http://127.0.0.1:9';
    await expect(startRestateRun(ingress, 'bad id!', config)).rejects.toThrow(ruleMessage('bad id!'));
    await expect(getRestateSnapshot(ingress, 'deadline')).rejects.toThrow(ruleMessage('deadline'));
    await expect(sendRestateRun(ingress, 'x'.repeat(101), { type: 'run.deadline' })).rejects.toThrow(ruleMessage('x'.repeat(101)));
    // A good id does reach the (missing) ingress: the error is then a `restate` one.
    await expect(getRestateSnapshot(ingress, 'fusion-1')).rejects.toMatchObject({ name: 'RestateIngressError', code: 'restate', status: 0 });
  });
});
