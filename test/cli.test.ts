/**
 * The `fanfold` command, run as a child process (the built bin, as a user runs it). Model calls
 * go to a simulator: the built-in one when no key is set, or one the test starts and points
 * `ANTHROPIC_BASE_URL` at (with a key set, the CLI treats it as the real API).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonRunResult } from '../src/cli/jsonResult.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';
import { runNode, watchStdout, type ProcessRun } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
const KEY = 'sk-ant-cli-test-key-do-not-print';

/** Runs the built CLI. */
function fanfold(args: string[], env: Record<string, string> = {}, onSpawn?: Parameters<typeof runNode>[2]): Promise<ProcessRun> {
  return runNode([BIN, ...args], env, onSpawn);
}

let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function simulator(options: SimulatorOptions = {}): Promise<{ server: Simulator; env: Record<string, string> }> {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity }, ...options });
  return { server: sim, env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: sim.url } };
}

/** Writes a file in this test's temporary folder. */
async function tempFile(name: string, text: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fanfold-cli-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const appFile = (yaml: string) => tempFile('app.yaml', yaml);

describe('fanfold CLI', () => {
  it('--version and --help exit 0', async () => {
    const version = await fanfold(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await fanfold(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['research', 'run', 'simulate']) expect(help.stdout).toContain(command);
    expect(help.stdout).toContain('Exit codes');
    const researchHelp = await fanfold(['research', '--help']);
    for (const option of ['--json', '--deadline', '--concurrency', '--model', '--simulate', '--quiet']) expect(researchHelp.stdout).toContain(option);
  });

  it('bad usage exits 2 with a message saying what was expected', async () => {
    const none = await fanfold([]);
    expect(none.code).toBe(2);
    const unknown = await fanfold(['research', 'x', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
    const zero = await fanfold(['research', 'x', '--concurrency', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('expected an integer from 1 and up, got "0"');
    const deadline = await fanfold(['research', 'x', '--deadline', 'soon']);
    expect(deadline.code).toBe(2);
    expect(deadline.stderr).toMatch(/expected a duration.*got "soon"/);
  });

  it('research --json, offline: says it is simulated, prints the structured result, exits 0', async () => {
    const { code, stdout, stderr } = await fanfold(['research', 'nuclear', 'fusion', '--json']);
    expect(code).toBe(0);
    expect(stderr.split('\n')[0]).toMatch(/^SIMULATED: offline run against fanfold's built-in simulator at http:\/\/127\.0\.0\.1:\d+/);
    const result = JSON.parse(stdout) as JsonRunResult;
    // Each explorer: a search turn (paused) and a fetch-and-write turn; then the synthesis.
    expect(result).toMatchObject({ status: 'done', backend: 'simulator', task: 'nuclear fusion', modelCalls: 7, error: null, missing: [] });
    expect(result.specialists.map((entry) => entry.id)).toEqual(['historical', 'technical', 'societal']);
    for (const entry of [...result.specialists, result.synthesizer!]) {
      expect(entry).toMatchObject({ status: 'fulfilled', model: 'claude-sonnet-4-6', error: null });
      expect(entry.usage.inputTokens).toBeGreaterThan(0);
      expect(entry.usage.outputTokens).toBeGreaterThan(0);
      expect(entry.costUsd).toBeGreaterThan(0);
      expect(entry.elapsedMs).toBeGreaterThan(0);
    }
    expect(result.synthesizer).toMatchObject({ attempts: 1, turns: 1, toolCalls: [] });
    for (const entry of result.specialists) {
      expect(entry).toMatchObject({ attempts: 2, turns: 2, stopReason: 'end_turn', loopLimit: null });
      expect(entry.toolCalls!.map((call) => [call.name, call.server, call.isError])).toEqual([
        ['web_search', true, false],
        ['web_fetch', true, false],
      ]);
      expect(entry.usage.serverToolUse).toEqual({ webSearchRequests: 1, webFetchRequests: 1 });
      const words = entry.output!.trim().split(/\s+/).length;
      expect(words).toBeGreaterThanOrEqual(150);
      expect(words).toBeLessThanOrEqual(205);
      expect(entry.output).toMatch(/https:\/\/[a-z0-9.-]+\.fanfold-sim\.example\//);
    }
    // Four sections, and the sources the explorers found, cited.
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## Historical context', '## Technical details', '## Societal impact', '## Cross-cutting synthesis', '## Sources']);
    expect(result.synthesis).toMatch(/^1\. \[Simulated\] .+ — https:\/\/[a-z0-9.-]+\.fanfold-sim\.example\//m);
    const sum = [...result.specialists, result.synthesizer!].reduce((total, entry) => total + entry.usage.outputTokens, 0);
    expect(result.usage.outputTokens).toBe(sum);
    expect(result.costUsd).toBeCloseTo(
      [...result.specialists, result.synthesizer!].reduce((total, entry) => total + entry.costUsd!, 0),
      6,
    );
    // Three searches at $10 per 1,000 are in the cost.
    expect(result.usage.serverToolUse).toEqual({ webSearchRequests: 3, webFetchRequests: 3 });
  });

  it('research --no-tools: one call per specialist, four sections', async () => {
    const { server, env } = await simulator();
    const { code, stdout } = await fanfold(['research', 'nuclear', 'fusion', '--json', '--no-tools', '--no-checkpoint'], env);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result).toMatchObject({ status: 'done', modelCalls: 4 });
    for (const entry of result.specialists) expect(entry).toMatchObject({ attempts: 1, turns: 1, toolCalls: [] });
    expect(result.synthesis!.match(/^## .+$/gm)).toEqual(['## Historical context', '## Technical details', '## Societal impact', '## Cross-cutting synthesis']);
    expect(server.requests.every((request) => !request.text.includes('web_search'))).toBe(true);
  });

  it('research without a terminal: plain progress lines, then the report', async () => {
    const { server, env } = await simulator();
    const { code, stdout } = await fanfold(['research', 'tidal power', '--model', 'claude-haiku-4-5', '--concurrency', '1'], env);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`Calling the Anthropic API at ${server.url} (ANTHROPIC_API_KEY is set).`);
    for (const id of ['historical', 'technical', 'societal', 'synthesis']) {
      expect(stdout).toMatch(new RegExp(`^\\[\\s*\\d+\\.\\ds\\] ${id} started on claude-haiku-4-5$`, 'm'));
      // Explorers: a search turn and a fetch-and-write turn; the synthesis: one call.
      const detail = id === 'synthesis' ? '1 attempt, \\d+ output tokens' : '2 model calls, \\d+ output tokens, 2 turns, 2 tool calls';
      expect(stdout).toMatch(new RegExp(`^\\[\\s*\\d+\\.\\ds\\] ${id} done in \\d+\\.\\ds: ${detail}$`, 'm'));
    }
    for (const id of ['historical', 'technical', 'societal']) {
      expect(stdout).toMatch(new RegExp(`^\\[\\s*\\d+\\.\\ds\\] ${id} calls web_search \\(server tool\\): \\{"query":`, 'm'));
      expect(stdout).toMatch(new RegExp(`^\\[\\s*\\d+\\.\\ds\\] ${id} web_fetch done in \\d+\\.\\ds$`, 'm'));
    }
    expect(stdout).toContain('## Cross-cutting synthesis');
    expect(stdout).toMatch(/DONE · wall \d+\.\ds · slowest specialist/);
    // --model and --concurrency reached the run: every call on haiku, never two at once.
    expect(server.requests.every((request) => request.model === 'claude-haiku-4-5')).toBe(true);
    const calls = [...server.requests].sort((a, b) => a.receivedAt - b.receivedAt);
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.receivedAt).toBeGreaterThanOrEqual(calls[i - 1]!.endedAt!);
    expect(stdout).not.toContain(KEY);
  });

  it('run <app.yaml>: a failed specialist makes it partial (exit 3) without losing the others', async () => {
    const { server, env } = await simulator({
      faults: [{ match: { caller: 'vendor' }, fault: { type: 'http_error', status: 400, errorType: 'invalid_request_error', message: 'prompt is too long' } }],
    });
    const { code, stdout, stderr } = await fanfold(['run', 'examples/apps/market-scan.yaml', '--json'], env);
    expect(code).toBe(3);
    expect(stderr).toContain(server.url);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result.status).toBe('partial');
    const byId = Object.fromEntries(result.specialists.map((entry) => [entry.id, entry]));
    expect(byId['news']).toMatchObject({ status: 'fulfilled', model: 'claude-haiku-4-5' });
    expect(byId['academic']).toMatchObject({ status: 'fulfilled', model: 'claude-sonnet-4-6' });
    expect(byId['vendor']).toMatchObject({ status: 'rejected', attempts: 1, error: { kind: 'bad_request', status: 400 } });
    expect(byId['vendor']!.error!.message).toContain('prompt is too long');
    expect(result.missing.map((entry) => entry.id)).toEqual(['vendor']);
    expect(result.synthesizer).toMatchObject({ status: 'fulfilled', model: 'claude-opus-4-7' });
    expect(result.synthesis).toContain('vendor');
  });

  it('a rejected key fails the run (exit 1) with a message a person can act on, and the key is never printed', async () => {
    const { server, env } = await simulator({ apiKey: 'sk-the-right-key' });
    const { code, stdout, stderr } = await fanfold(['research', 'x', '--json'], env);
    expect(code).toBe(1);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result.status).toBe('failed');
    expect(result.specialists[0]!.error!.message).toMatch(/^ANTHROPIC_API_KEY was rejected \(401\)/);
    expect(server.count()).toBe(3);
    expect(stdout + stderr).not.toContain(KEY);
  });

  it('a bad app file exits 2 naming the file and the path, before any model is called', async () => {
    const { server, env } = await simulator();
    const path = await appFile('task: t\nagents:\n  - { id: a, timeout: forever }\nlead:\n  specialists: [a, b]\n');
    const { code, stdout, stderr } = await fanfold(['run', path], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Invalid fanfold config in ${path}`);
    expect(stderr).toMatch(/agents\[0\]\.timeout: expected a duration.*got "forever"/);
    expect(server.count()).toBe(0);
    const missing = await fanfold(['run', join(dir!, 'nope.yaml')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });

  it('--deadline stops a straggler: the synthesis uses what arrived (exit 3)', async () => {
    const { server, env } = await simulator({ faults: [{ match: { caller: 'societal' }, fault: { type: 'hang' } }] });
    const { code, stdout } = await fanfold(['research', 'x', '--json', '--deadline', '1s'], env);
    expect(code).toBe(3);
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result.specialists[2]).toMatchObject({ id: 'societal', status: 'timedOut' });
    expect(result.synthesis).not.toBeNull();
    const hung = await server.waitFor((request) => request.caller === 'societal', 'ended');
    expect(hung.outcome).toBe('client_closed');
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s cancels the run, reports what finished, exits %i', async (signal, exitCode) => {
    const { server, env } = await simulator({ faults: [{ match: { caller: /technical|societal/ }, fault: { type: 'hang' } }] });
    const run = fanfold(['research', 'x', '--json'], env, (child) => {
      // Historical's last turn (after its search and fetch) has ended: it is done.
      void server
        .waitFor((request) => request.caller === 'historical' && request.turn === 2, 'ended')
        .then(() => server.waitFor((request) => request.caller === 'societal').then(() => child.kill(signal)));
    });
    const { code, stdout, stderr } = await run;
    expect(code).toBe(exitCode);
    expect(stderr).toContain('Interrupted');
    const result = JSON.parse(stdout) as JsonRunResult;
    expect(result.status).toBe('cancelled');
    expect(result.specialists[0]).toMatchObject({ id: 'historical', status: 'fulfilled' });
    expect(result.specialists[0]!.output).toBeTruthy();
  });

  it('simulate: serves the Messages API until Ctrl-C, for any client pointed at its URL', async () => {
    let url: Promise<string> | undefined;
    const run = fanfold(['simulate', '--first-token-ms', '0'], {}, (child) => {
      url = watchStdout(child, /listening on (http:\/\/127\.0\.0\.1:\d+)/).then((match) => match[1]!);
      void url.then(async (baseURL) => {
        const client = new Anthropic({ apiKey: 'any-key', baseURL, maxRetries: 0 });
        const message = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Task: tides\n\nYour angle: History' }] });
        expect(message.content[0]).toMatchObject({ type: 'text' });
        child.kill('SIGINT');
      });
    });
    const { code, stdout } = await run;
    expect(code).toBe(0);
    expect(stdout).toContain(`ANTHROPIC_BASE_URL=${await url!}`);
    expect(stdout).toContain('Served 1 request; stopping.');
  });
});

describe('fanfold CLI edge cases', () => {
  it('--record to an unwritable path: exit 2 before any model call', async () => {
    const { server, env } = await simulator();
    const { code, stdout, stderr } = await fanfold(['research', 'x', '--json', '--record', '/nonexistent-dir/run.jsonl'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--record: cannot write the recording /nonexistent-dir/run.jsonl');
    expect(server.count()).toBe(0);
  });

  it('--quiet: a failed run still says why (on stderr)', async () => {
    const { env } = await simulator({ apiKey: 'sk-ant-the-right-key' });
    const { code, stdout, stderr } = await fanfold(['research', 'x', '--quiet'], env);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('Run failed: quorum of 1 can no longer be met');
    expect(stderr).toMatch(/^Missing historical \(Historical context\): failed after 1 attempt: ANTHROPIC_API_KEY was rejected \(401\)/m);
  });

  it('--json: stdout is only the JSON document even with ANTHROPIC_LOG=info', async () => {
    const { env } = await simulator();
    const { code, stdout, stderr } = await fanfold(['research', 'x', '--json'], { ...env, ANTHROPIC_LOG: 'info' });
    expect(code).toBe(0);
    expect(() => JSON.parse(stdout)).not.toThrow();
    // The SDK's log lines went to stderr instead, without the key.
    expect(stderr).toMatch(/v1\/messages/);
    expect(stderr).not.toContain(KEY);
  });

  it('a key with a newline in it: exit 2 before any call, and the key is not printed', async () => {
    const { env } = await simulator();
    const key = 'sk-ant-api03-LINEONE\nsk-ant-api03-LINETWO';
    const { code, stdout, stderr } = await fanfold(['research', 'x', '--json'], { ...env, ANTHROPIC_API_KEY: key });
    expect(code).toBe(2);
    expect(stderr).toContain('ANTHROPIC_API_KEY contains spaces, line breaks or other characters a key cannot have');
    expect(stdout + stderr).not.toContain('LINEONE');
    expect(sim!.count()).toBe(0);
  });

  it('an app-file timeout that rounds to 0 ms: exit 2 naming the path in the file', async () => {
    const app = await tempFile('app.yaml', 'task: t\nagents:\n  - { id: a, timeout: 0.4ms }\nlead: { specialists: [a] }\n');
    const { code, stderr } = await fanfold(['run', app, '--simulate']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/agents\[0\]\.timeout: expected a duration/);
  });

  it('simulate --faults: an unknown fault type is a usage error, not silently ignored', async () => {
    // `rate_limited` is fanfold's error kind; the fault is called `rate_limit`.
    const faults = await tempFile('faults.yaml', '- { fault: { type: rate_limited } }\n');
    const { code, stdout, stderr } = await fanfold(['simulate', '--faults', faults]);
    expect(stdout).not.toContain('listening on');
    expect(code).toBe(2);
    expect(stderr).toContain('[0].fault.type: expected one of rate_limit, overloaded');
    expect(stderr).toContain('got "rate_limited"');
  });

  it('an empty --model is a usage error, not "use the default"', async () => {
    const { code, stderr } = await fanfold(['research', 'x', '--model', '']);
    expect(code).toBe(2);
    expect(stderr).toContain('expected a non-empty value');
  });

  it('a malformed ANTHROPIC_BASE_URL is a config error before any call', async () => {
    const { code, stderr } = await fanfold(['research', 'x'], { ANTHROPIC_API_KEY: 'sk-ant-x', ANTHROPIC_BASE_URL: 'localhost:47811' });
    expect(code).toBe(2);
    expect(stderr).toContain('ANTHROPIC_BASE_URL must be an http(s) URL');
  });
});
