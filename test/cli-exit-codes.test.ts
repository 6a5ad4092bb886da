/**
 * The exit-code table through the real command (the built bin, as a user runs it): one run per
 * error code the CLI can end with, and the run-id rule on every option that takes a run id.
 * Offline: `--simulate` and no key; nothing listens on the Restate ingress given.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RUN_ID_RULE } from '../src/runId.ts';
import { runNode, type ProcessRun } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
/** Port 9 (discard) on loopback: nothing answers, so the ingress cannot be reached. */
const NO_INGRESS = 'http://127.0.0.1:9';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

function fanfold(args: string[]): Promise<ProcessRun> {
  return runNode([BIN, ...args]);
}

async function store(): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fanfold-exit-'));
  return dir;
}

describe('fanfold exit codes by error code', () => {
  it('config: an app file that is not there exits 2, its message as is', async () => {
    const { code, stdout, stderr } = await fanfold(['run', join(await store(), 'nope.yaml'), '--simulate']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Invalid fanfold config in .*nope\.yaml/);
  });

  it('usage: restate-research without a topic exits 2', async () => {
    const { code, stderr } = await fanfold(['restate-research', '--ingress', NO_INGRESS]);
    expect(code).toBe(2);
    expect(stderr).toContain('restate-research needs a topic');
  });

  it('checkpoint: resuming a run the store does not have exits 2', async () => {
    const runs = await store();
    const { code, stderr } = await fanfold(['resume', 'nope', '--store', runs]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Cannot resume from .*nope.*: no run "nope"/);
  });

  it('budget: a budget the run cannot fit exits 2 before any model call', async () => {
    const { code, stdout, stderr } = await fanfold(['research', 'tides', '--simulate', '--json', '--budget', '0.000001', '--store', await store()]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Refused before any call \(research\): .* over its budget of \$0\.000001/m);
  });

  it('restate: an ingress that cannot be reached exits 1', async () => {
    const { code, stderr } = await fanfold(['restate-research', 'tides', '--ingress', NO_INGRESS, '--run-id', 'tides-1']);
    expect(code).toBe(1);
    expect(stderr).toContain(`fanfold: cannot reach the Restate ingress at ${NO_INGRESS}`);
  });
});

describe('fanfold refuses a bad run id with the one rule (exit 2)', () => {
  it.each([
    ['run --run-id', (runs: string) => ['research', 'tides', '--simulate', '--store', runs, '--run-id', '../escape'], '../escape'],
    ['resume <run-id>', (runs: string) => ['resume', '.hidden', '--store', runs], '.hidden'],
    ['restate-research --run-id', () => ['restate-research', 'tides', '--ingress', NO_INGRESS, '--run-id', 'fanOut'], 'fanOut'],
  ])('%s', async (_where, args, runId) => {
    const { code, stdout, stderr } = await fanfold(args(await store()));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Invalid run id "${runId}": use ${RUN_ID_RULE}`);
  });
});
