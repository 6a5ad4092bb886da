/**
 * MCP tools inside runs: the fixture server (test/fixtures/mcp-server.mjs) as a real child
 * process over stdio, and over Streamable HTTP on 127.0.0.1, used by specialists' loops. A
 * server is started once per run (not per specialist), its tools listed once, and stopped when
 * the run ends; its `env` never shows up in results or events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, runFanOut, startMcpServers, type FanOutConfig, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { record } from './support.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/mcp-server.mjs', import.meta.url));
const SECRET = 'sk-ant-fixture-env-secret-000111222';

let dir: string;
let children: ChildProcess[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanfold-mcp-run-'));
  children = [];
});
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const log = (name: string) => join(dir, `${name}.log`);
function events(name: string): Array<{ pid: number; event: string; tool?: string }> {
  try {
    return readFileSync(log(name), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { pid: number; event: string; tool?: string });
  } catch {
    return [];
  }
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Turn 1 calls `uses`, turn 2 quotes every result it got back. */
function callThenQuote(uses: NonNullable<ScriptedReply['toolUse']>) {
  return (request: ModelRequest): ScriptedReply => {
    if (request.messages.length === 1) return { toolUse: uses };
    const last = request.messages.at(-1)!.content as Array<{ type: string; content?: unknown; is_error?: boolean }>;
    return {
      text: last
        .filter((block) => block.type === 'tool_result')
        .map((block) => `${block.is_error ? 'ERR ' : ''}${JSON.stringify(block.content)}`)
        .join(' | '),
    };
  };
}

const stdioServer = (name: string, extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [FIXTURE], env: { MCP_FIXTURE_LOG: log(name), FIXTURE_SECRET: SECRET }, ...extra });

describe('MCP tools in a run', () => {
  it('starts a stdio server once for all specialists, lists its tools once, and stops it when the run ends', async () => {
    const provider = createScriptedProvider({
      reply: callThenQuote([
        { name: 'echo', input: { text: 'hello' } },
        { name: 'add', input: { a: 2, b: 3 } },
      ]),
    });
    const config: FanOutConfig = {
      task: 'mcp',
      mcp: { fixture: stdioServer('fixture', { allowedTools: ['echo', 'add'] }) },
      tools: ['fixture'],
      specialists: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
      synthesizer: { run: async () => 'folded' },
    };
    const run = runFanOut(config, { provider });
    const seen = record(run);
    const result = await run.result;
    expect(result.status).toBe('done');
    for (const outcome of result.outcomes) {
      expect(outcome.output).toBe('[{"type":"text","text":"hello"}] | [{"type":"text","text":"5"}]');
      expect(outcome.toolCalls!.map((call) => [call.name, call.isError])).toEqual([
        ['echo', false],
        ['add', false],
      ]);
    }
    // Offered exactly the allowed tools, with the server's schemas.
    expect(provider.calls[0]!.request.tools!.map((tool) => tool.name)).toEqual(['echo', 'add']);
    const starts = events('fixture').filter((event) => event.event === 'start');
    expect(starts).toHaveLength(1);
    expect(events('fixture').filter((event) => event.event === 'list').length).toBeGreaterThanOrEqual(1);
    expect(events('fixture').filter((event) => event.event === 'call')).toHaveLength(6);
    // Stopped when the run ended.
    expect(alive(starts[0]!.pid)).toBe(false);
    // Its env is nowhere.
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(seen)).not.toContain(SECRET);
    expect(JSON.stringify(run.actor.getPersistedSnapshot())).not.toContain(SECRET);
  });

  it('one tool by "<server>.<tool>", over Streamable HTTP', async () => {
    const child = spawn(process.execPath, [FIXTURE, 'http'], { env: { ...process.env, MCP_FIXTURE_LOG: log('web') }, stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(child);
    const port = await new Promise<number>((resolve) => {
      let text = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) resolve((JSON.parse(text.split('\n')[0]!) as { port: number }).port);
      });
    });
    const provider = createScriptedProvider({ reply: callThenQuote([{ name: 'echo', input: { text: 'over http' } }]) });
    const run = runFanOut(
      { task: 'mcp', mcp: { web: { url: `http://127.0.0.1:${port}/mcp` } }, specialists: [{ id: 'a', tools: ['web.echo'] }], synthesizer: { run: async () => 'folded' } },
      { provider },
    );
    const result = await run.result;
    expect(result.outcomes[0]!.output).toBe('[{"type":"text","text":"over http"}]');
    expect(provider.calls[0]!.request.tools!.map((tool) => tool.name)).toEqual(['echo']);
  });

  it('a server that fails to start is a ConfigError before any model call, naming it with its stderr', async () => {
    const provider = createScriptedProvider({});
    const config: FanOutConfig = {
      task: 'mcp',
      mcp: { broken: { command: process.execPath, args: [FIXTURE, 'fail-start'], env: { FIXTURE_SECRET: SECRET } } },
      specialists: [{ id: 'a', tools: ['broken'] }],
    };
    const error = await startMcpServers(config, { source: 'app.yaml' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^Invalid fanfold config in app\.yaml:\n {2}- mcp\.broken: the MCP server failed to start: it exited with code 1 .*its stderr ended with:\n/s);
    expect((error as ConfigError).message).not.toContain(SECRET);
    // From the run API: the result rejects with the same error, and nothing was called.
    const rejected = await runFanOut(config, { provider }).result.catch((caught: unknown) => caught);
    expect(rejected).toBeInstanceOf(ConfigError);
    expect(provider.calls).toHaveLength(0);
  });

  it('a "<server>.<tool>" the server does not offer is a ConfigError naming its path, before any call', async () => {
    const provider = createScriptedProvider({});
    const config: FanOutConfig = { task: 'mcp', mcp: { fixture: stdioServer('fixture2') }, specialists: [{ id: 'a', tools: ['fixture.nope'] }] };
    const error = (await runFanOut(config, { provider }).result.catch((caught: unknown) => caught)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([{ path: 'specialists[0].tools[0]', message: expect.stringMatching(/^the MCP server "fixture" has no tool "nope" \(it offers "echo", "add", /) }]);
    expect(provider.calls).toHaveLength(0);
    // And its process is gone.
    const start = events('fixture2').find((event) => event.event === 'start')!;
    expect(alive(start.pid)).toBe(false);
  });

  it('a server that dies mid-run turns its tools into error results; the run goes on', async () => {
    const provider = createScriptedProvider({
      reply: (request) => {
        const turn = request.messages.filter((message) => message.role === 'assistant').length + 1;
        if (turn === 1) return { toolUse: [{ name: 'crash', input: {} }] };
        if (turn === 2) return { toolUse: [{ name: 'echo', input: { text: 'anyone?' } }] };
        return callThenQuote([])(request);
      },
    });
    const run = runFanOut({ task: 'mcp', mcp: { fixture: stdioServer('fixture3') }, tools: ['fixture'], specialists: [{ id: 'a' }], synthesizer: { run: async () => 'folded' } }, { provider });
    const result = await run.result;
    expect(result.status).toBe('done');
    const outcome = result.outcomes[0]!;
    expect(outcome.status).toBe('fulfilled');
    expect(outcome.toolCalls!.map((call) => [call.name, call.isError])).toEqual([
      ['crash', true],
      ['echo', true],
    ]);
    expect(outcome.output).toMatch(/^ERR ".*MCP server \\"fixture\\" is not running/);
  });
});
