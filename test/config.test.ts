import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_POLICY, FanfoldError, SYNTHESIZER_ID, normalizeConfig, runFanOut } from '../src/index.ts';
import { createScriptedProvider } from '../src/testing.ts';

/** Runs `fn`, expecting it to throw a ConfigError, and returns it. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const specialists = [{ id: 'historical' }, { id: 'technical' }, { id: 'societal' }];

describe('config validation', () => {
  it('names the source, the path, what was expected and what was got', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'historical' }, { id: 'technical', policy: { retry: { maxAttempts: 0 } } }] }, 'app.yaml'));
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(FanfoldError);
    expect(error.code).toBe('config');
    expect(error.source).toBe('app.yaml');
    expect(error.message).toContain('app.yaml');
    expect(error.message).toContain('specialists[1].policy.retry.maxAttempts');
    expect(error.message).toMatch(/expected an integer from 1 and up, got 0/);
    expect(error.issues).toEqual([{ path: 'specialists[1].policy.retry.maxAttempts', message: 'expected an integer from 1 and up, got 0' }]);
  });

  it('shows a value of the wrong type as it was written', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'historical' }, { id: 'technical', policy: { retry: { maxAttempts: 'three' } } }] }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'specialists[1].policy.retry.maxAttempts', message: expect.stringMatching(/^expected .*got "three"$/) }]);
  });

  it('is thrown by runFanOut before anything runs, naming the source given in its options', () => {
    const provider = createScriptedProvider();
    const error = configErrorOf(() => runFanOut({ task: 'fusion', specialists: [{ id: 'historical', maxTokens: -5 }] }, { provider, source: 'app.yaml' }));
    expect(error.source).toBe('app.yaml');
    expect(error.message).toContain('app.yaml');
    expect(error.message).toContain('specialists[0].maxTokens');
    expect(error.message).toContain('got -5');
    expect(provider.calls).toHaveLength(0);
  });

  it('calls the source "run config" when none is given', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a' }], deadlineMs: 0 }));
    expect(error.source).toBe('run config');
    expect(error.message).toContain('run config');
    expect(error.issues).toEqual([{ path: 'deadlineMs', message: expect.stringContaining('got 0') }]);
  });

  it('lists every invalid path, not just the first', () => {
    const error = configErrorOf(() => normalizeConfig({ task: '', specialists: [{ id: 'a', policy: { onFailure: 'panic', fallbackOn: ['nope'] } }], deadlineMs: -1 }, 'app.yaml'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['deadlineMs', 'specialists[0].policy.fallbackOn[0]', 'specialists[0].policy.onFailure', 'task']);
    expect(error.issues.find((issue) => issue.path === 'specialists[0].policy.onFailure')?.message).toBe('expected "skip" or "escalate", got "panic"');
    for (const issue of error.issues) expect(error.message).toContain(issue.path);
  });

  it('rejects duplicate specialist ids, pointing at the second one', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'specialists[2].id', message: expect.stringContaining('"a"') }]);
    expect(error.issues[0]!.message).toMatch(/unique/);
  });

  it('rejects the reserved id "synthesizer"', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a' }, { id: SYNTHESIZER_ID }] }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'specialists[1].id', message: expect.stringMatching(/"synthesizer" is reserved/) }]);
  });

  it('rejects unknown keys, naming them (a typo is not silently ignored)', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a', modle: 'claude-haiku-4-5' }], colour: 'blue' }, 'app.yaml'));
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { path: 'specialists[0]', message: 'unknown key "modle"' },
        { path: '', message: 'unknown key "colour"' },
      ]),
    );
    expect(error.issues).toHaveLength(2);
    expect(error.message).toContain('(root): unknown key "colour"');
  });

  it('rejects unknown keys inside a policy', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a' }], policy: { retry: { maxAttempt: 5 } } }));
    expect(error.issues).toEqual([{ path: 'policy.retry', message: 'unknown key "maxAttempt"' }]);
  });

  it('rejects a quorum larger than the number of specialists', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists, quorum: 4 }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'quorum', message: expect.stringMatching(/at most 3.*got 4/) }]);
  });

  it('rejects maxConcurrency 0', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists, maxConcurrency: 0 }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'maxConcurrency', message: 'expected an integer from 1 and up, got 0' }]);
  });

  it('rejects a config without specialists', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [] }, 'app.yaml'));
    expect(error.issues).toEqual([{ path: 'specialists', message: expect.stringMatching(/at least one specialist/) }]);
  });

  it('rejects a non-function run', () => {
    const error = configErrorOf(() => normalizeConfig({ task: 'fusion', specialists: [{ id: 'a', run: 'fetch()' }] }));
    expect(error.issues).toEqual([{ path: 'specialists[0].run', message: 'expected a function, got "fetch()"' }]);
  });
});

describe('config defaults', () => {
  const { input, tasks } = normalizeConfig({ task: 'fusion', specialists: [{ id: 'historical' }, { id: 'technical', angle: 'Technical details' }] });

  it('applies run-wide defaults: deadline 300 s, quorum 1, no concurrency limit', () => {
    expect(input).toMatchObject({ task: 'fusion', deadlineMs: 300_000, quorum: 1, maxConcurrency: null });
    expect(tasks.size).toBe(0);
  });

  it('gives each specialist the default model, policy, token limit and its id as angle', () => {
    expect(input.specialists[0]).toEqual({
      id: 'historical',
      angle: 'historical',
      kind: 'model',
      taskKey: null,
      models: ['claude-sonnet-4-6'],
      system: null,
      instructions: null,
      maxTokens: 1024,
      policy: DEFAULT_POLICY,
      tools: [],
    });
    expect(input.specialists[1]).toMatchObject({ id: 'technical', angle: 'Technical details' });
  });

  it('builds the synthesizer with the same defaults under the reserved id', () => {
    expect(input.synthesizer).toMatchObject({
      id: SYNTHESIZER_ID,
      angle: 'Synthesis',
      kind: 'model',
      models: ['claude-sonnet-4-6'],
      maxTokens: 1024,
      policy: DEFAULT_POLICY,
    });
  });

  it('layers a specialist policy over the run policy over the default, retry field by field', () => {
    const { input: layered } = normalizeConfig({
      task: 'fusion',
      model: 'claude-opus-4-1',
      policy: { retry: { maxAttempts: 5 }, fallbackModels: ['claude-haiku-4-5'] },
      specialists: [{ id: 'a' }, { id: 'b', model: 'claude-sonnet-4-6', policy: { retry: { initialDelayMs: 10 }, onFailure: 'escalate' } }],
    });
    expect(layered.specialists[0]!.models).toEqual(['claude-opus-4-1', 'claude-haiku-4-5']);
    expect(layered.specialists[0]!.policy.retry).toEqual({ ...DEFAULT_POLICY.retry, maxAttempts: 5 });
    expect(layered.specialists[1]!.models).toEqual(['claude-sonnet-4-6', 'claude-haiku-4-5']);
    expect(layered.specialists[1]!.policy).toEqual({
      ...DEFAULT_POLICY,
      retry: { ...DEFAULT_POLICY.retry, maxAttempts: 5, initialDelayMs: 10 },
      fallbackModels: ['claude-haiku-4-5'],
      onFailure: 'escalate',
    });
  });

  it('moves task functions into the registry and out of the JSON input', () => {
    const fetchStatus = async () => 'ok';
    const { input: withTask, tasks: registry } = normalizeConfig({ task: 'fusion', specialists: [{ id: 'status', run: fetchStatus }] });
    expect(withTask.specialists[0]).toMatchObject({ kind: 'task', models: [], taskKey: '["status"]' });
    expect(registry.get(withTask.specialists[0]!.taskKey!)).toBe(fetchStatus);
    expect(JSON.parse(JSON.stringify(withTask))).toEqual(withTask);
  });
});
