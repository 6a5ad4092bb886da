/**
 * The CLI's one exit-code table: every error code and run status maps to the exit code the
 * README documents, and errors that are not fanfold's are `internal`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ERROR_EXIT_CODES, EXIT, exitCodeOf, exitCodeOfError, STATUS_EXIT_CODES } from '../src/cli/exitCodes.ts';
import { CheckpointError } from '../src/checkpoint/format.ts';
import { ConfigError, FANFOLD_ERROR_CODES, FanfoldError, ProviderError, type FanfoldErrorCode } from '../src/errors.ts';
import { RestateIngressError } from '../src/restate/client.ts';

/** The README's exit-code table: exit code → the error codes its last column lists. */
function documentedTable(): Map<number, FanfoldErrorCode[]> {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('| Exit | When | Error codes |');
  expect(start).toBeGreaterThan(-1);
  const rows = readme.slice(start).split('\n').slice(2);
  const table = new Map<number, FanfoldErrorCode[]>();
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const cells = row.split('|').map((cell) => cell.trim());
    const exit = Number(/`(\d+)`/.exec(cells[1]!)![1]);
    const codes = [...cells[3]!.matchAll(/`([a-z_]+)`/g)].map((match) => match[1] as FanfoldErrorCode).filter((code) => FANFOLD_ERROR_CODES.includes(code));
    table.set(exit, codes);
  }
  return table;
}

describe('the exit-code table', () => {
  it.each([
    ['config', 2],
    ['usage', 2],
    ['budget', 2],
    ['checkpoint', 2],
    ['provider', 1],
    ['tool', 1],
    ['restate', 1],
    ['internal', 1],
  ] as const)('a %s error exits %i', (code, exit) => {
    expect(ERROR_EXIT_CODES[code]).toBe(exit);
    expect(exitCodeOfError(new FanfoldError(code, 'x'))).toBe(exit);
  });

  it('covers every error code, each listed once in the README table with the same exit code', () => {
    expect(Object.keys(ERROR_EXIT_CODES).sort()).toEqual([...FANFOLD_ERROR_CODES].sort());
    const documented = documentedTable();
    const listed = [...documented.values()].flat();
    expect(listed.sort()).toEqual([...FANFOLD_ERROR_CODES].sort());
    for (const [exit, codes] of documented) for (const code of codes) expect([code, ERROR_EXIT_CODES[code]]).toEqual([code, exit]);
    expect([...documented.keys()].sort((a, b) => a - b)).toEqual([EXIT.done, EXIT.failed, EXIT.usage, EXIT.partial, EXIT.interrupted]);
  });

  it.each([
    ['done', 0],
    ['partial', 3],
    ['failed', 1],
    ['cancelled', 1],
  ] as const)('a run that ended %s exits %i', (status, exit) => {
    expect(STATUS_EXIT_CODES[status]).toBe(exit);
    expect(exitCodeOf(status, null)).toBe(exit);
  });

  it('a run a signal cancelled exits 130 (SIGINT) or 143 (SIGTERM); one that finished anyway keeps its status', () => {
    expect(exitCodeOf('cancelled', 'SIGINT')).toBe(130);
    expect(exitCodeOf('cancelled', 'SIGTERM')).toBe(143);
    expect(exitCodeOf('done', 'SIGINT')).toBe(0);
  });

  it('subclasses exit by their code; commander by its own; anything else as internal', () => {
    expect(exitCodeOfError(new ConfigError('f', [{ path: 'a', message: 'b' }]))).toBe(2);
    expect(exitCodeOfError(new CheckpointError('f', 'gone'))).toBe(2);
    expect(exitCodeOfError(new ProviderError('server', 'boom'))).toBe(1);
    expect(exitCodeOfError(new RestateIngressError(0, 'unreachable'))).toBe(1);
    expect(exitCodeOfError(new CommanderError(0, 'commander.helpDisplayed', ''))).toBe(0);
    expect(exitCodeOfError(new CommanderError(1, 'commander.unknownOption', ''))).toBe(2);
    expect(exitCodeOfError(new TypeError('not ours'))).toBe(ERROR_EXIT_CODES.internal);
    expect(exitCodeOfError('a string')).toBe(1);
  });
});
