/**
 * fanfold's errors: one base class with a closed set of codes, and the subclasses each throw
 * with their own code.
 */
import { describe, expect, it } from 'vitest';
import { BudgetExceededError, CheckpointError, ConfigError, FANFOLD_ERROR_CODES, FanfoldError, ProviderError, toFanfoldError } from '../src/index.ts';
import { McpStartError } from '../src/tools/mcpConnection.ts';
import { RestateIngressError } from '../src/restate/client.ts';

describe('FanfoldError', () => {
  it('every subclass is a FanfoldError with its code', () => {
    const spend = { usd: 1, inputTokens: 1, outputTokens: 1 };
    const cases: [FanfoldError, string][] = [
      [new ConfigError('f', [{ path: 'a', message: 'b' }]), 'config'],
      [new ProviderError('server', 'boom'), 'provider'],
      [new CheckpointError('f', 'gone'), 'checkpoint'],
      [new BudgetExceededError('run', { firstCalls: { ...spend, calls: 1, counted: 1 }, reserve: spend, total: spend }, { usd: 0.5, inputTokens: null, outputTokens: null }), 'budget'],
      [new RestateIngressError(503, 'down'), 'restate'],
      [new McpStartError('mcp.x', 'no such command'), 'config'],
    ];
    for (const [error, code] of cases) {
      expect(error, error.name).toBeInstanceOf(FanfoldError);
      expect(error.code, error.name).toBe(code);
      expect(FANFOLD_ERROR_CODES).toContain(error.code);
    }
  });

  it('toFanfoldError hands a FanfoldError on as it is, and anything else as internal with its cause', () => {
    const config = new FanfoldError('config', 'bad');
    expect(toFanfoldError(config)).toBe(config);
    const bug = new TypeError('x is undefined');
    expect(toFanfoldError(bug)).toMatchObject({ name: 'FanfoldError', code: 'internal', message: 'x is undefined', cause: bug });
    expect(toFanfoldError('thrown string')).toMatchObject({ code: 'internal', message: 'thrown string' });
  });
});
