/**
 * MCP servers against real processes: the fixture server (test/fixtures/mcp-server.mjs, built
 * with the official SDK) over stdio as a child process, and over Streamable HTTP on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.ts';
import { openMcpServers, type McpServers, type McpToolDefinition, type OpenMcpServersOptions } from '../src/tools/mcp.ts';
import type { McpServerConfig, McpStdioServerConfig } from '../src/tools/mcpConfig.ts';
import { assignToolNames, sanitizeToolName } from '../src/tools/mcpNames.ts';
import { createRedactor } from '../src/tools/mcpRedact.ts';
import type { ToolContext } from '../src/tools/tool.ts';
import type { McpToolSource } from '../src/tools/toolbox.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/mcp-server.mjs', import.meta.url));
const ALL_TOOLS = ['echo', 'add', 'slow', 'fail', 'crash', 'files_read', 'image', 'resource', 'stats', 'getenv'];

let dir: string;
let opened: McpServers[];
let children: ChildProcess[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanfold-mcp-'));
  opened = [];
  children = [];
});

afterEach(async () => {
  await Promise.all(opened.map((servers) => servers.close()));
  await Promise.all(children.map((child) => stopChild(child)));
  rmSync(dir, { recursive: true, force: true });
});

function logPath(name: string): string {
  return join(dir, `${name}.log`);
}

function stdio(name: string, extra: Partial<McpStdioServerConfig> = {}, mode?: string): McpStdioServerConfig {
  return { command: process.execPath, args: mode ? [FIXTURE, mode] : [FIXTURE], ...extra, env: { MCP_FIXTURE_LOG: logPath(name), ...extra.env } };
}

interface LogEvent {
  pid: number;
  event: string;
  tool?: string;
  cursor?: string | null;
}

function readLog(name: string): LogEvent[] {
  try {
    return readFileSync(logPath(name), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogEvent);
  } catch {
    return [];
  }
}

function pidOf(name: string): number {
  const start = readLog(name).find((event) => event.event === 'start');
  if (!start) throw new Error(`server ${name} logged no start`);
  return start.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function open(servers: Record<string, McpServerConfig>, options?: OpenMcpServersOptions): Promise<McpServers> {
  const result = await openMcpServers(servers, options);
  opened.push(result);
  return result;
}

async function openFailure(servers: Record<string, McpServerConfig>, options?: OpenMcpServersOptions): Promise<ConfigError> {
  try {
    const result = await openMcpServers(servers, options);
    opened.push(result);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected openMcpServers to reject');
}

function context(signal: AbortSignal = new AbortController().signal): ToolContext {
  return { signal, specialist: { id: 'researcher', angle: 'facts' }, task: 'test', callId: 'toolu_1', turn: 1 };
}

function tool(servers: McpServers, server: string, name: string): McpToolDefinition {
  const found = servers.tools(server)?.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no tool ${name} on ${server}`);
  return found;
}

async function call(servers: McpServers, server: string, name: string, input: unknown, signal?: AbortSignal): Promise<unknown> {
  const definition = tool(servers, server, name);
  return definition.run(definition.parse(input), context(signal));
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The fixture over Streamable HTTP, as a child process on 127.0.0.1. */
async function httpFixture(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, [FIXTURE, 'http'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr!.resume();
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`http fixture exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, pid: child.pid! };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('tool names', () => {
  it('keeps valid names and sanitizes the rest, unique per server', () => {
    expect(sanitizeToolName('files.read')).toBe('files_read');
    expect(sanitizeToolName('a/b c')).toBe('a_b_c');
    expect(sanitizeToolName('x'.repeat(100))).toHaveLength(64);
    expect(assignToolNames(['files.read', 'files_read', 'files/read', 'echo'])).toEqual(['files_read_2', 'files_read', 'files_read_3', 'echo']);
    expect(assignToolNames([`${'y'.repeat(70)}.a`, `${'y'.repeat(70)}.b`])).toEqual(['y'.repeat(64), `${'y'.repeat(62)}_2`]);
  });

  it('scrubs secret values, their encodings and credential-looking text', () => {
    const redact = createRedactor(['s3cr3t "value"', 'Bearer tok-1234567890', 'on']);
    expect(redact('a s3cr3t "value" b s3cr3t%20%22value%22 c {"v":"s3cr3t \\"value\\""}')).toBe('a [redacted] b [redacted] c {"v":"[redacted]"}');
    expect(redact('got tok-1234567890')).toBe('got [redacted]');
    expect(redact('key sk-ant-api03-abcdef is on')).toBe('key [redacted] is on');
  });
});

describe('openMcpServers over stdio', () => {
  it('lists every tool once, across pages, with schemas and sanitized names', async () => {
    const servers = await open({ fx: stdio('fx') });
    expect(servers.names).toEqual(['fx']);
    expect(servers.tools('nope')).toBeUndefined();
    const source: McpToolSource = servers;
    expect(source.tools('fx')).toBe(servers.tools('fx'));
    const tools = servers.tools('fx')!;
    expect(tools.map((definition) => definition.name)).toEqual(ALL_TOOLS);
    expect(tools.every((definition) => definition.kind === 'fanfold.tool' && definition.mcp.server === 'fx')).toBe(true);
    expect(tool(servers, 'fx', 'files_read').mcp).toEqual({ server: 'fx', tool: 'files.read' });
    const echo = tool(servers, 'fx', 'echo');
    expect(echo.description).toBe('Echoes the text back.');
    expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
    expect(echo.inputSchema).not.toHaveProperty('$schema');
    expect(tool(servers, 'fx', 'add').description).toBe('Add two numbers');
    expect(tool(servers, 'fx', 'image').inputSchema.type).toBe('object');

    await call(servers, 'fx', 'echo', { text: 'a' });
    await call(servers, 'fx', 'echo', { text: 'b' });
    const log = readLog('fx');
    // 10 tools in pages of 4: three tools/list requests, once.
    expect(log.filter((event) => event.event === 'list').map((event) => event.cursor)).toEqual([null, '4', '8']);
    expect(log.filter((event) => event.event === 'start')).toHaveLength(1);
    expect(log.filter((event) => event.event === 'call' && event.tool === 'echo')).toHaveLength(2);
  });

  it('offers only allowedTools, by MCP or sanitized name, in the server order', async () => {
    const servers = await open({ fx: stdio('fx', { allowedTools: ['files.read', 'echo', 'getenv'] }), fy: stdio('fy', { allowedTools: ['files_read'] }) });
    expect(servers.tools('fx')!.map((definition) => definition.name)).toEqual(['echo', 'files_read', 'getenv']);
    expect(servers.tools('fy')!.map((definition) => definition.mcp.tool)).toEqual(['files.read']);
  });

  it('fails for an allowedTools name the server does not have, and stops it', async () => {
    const error = await openFailure({ fx: stdio('fx', { allowedTools: ['echo', 'nope'] }) }, { source: 'app.yaml' });
    expect(error.source).toBe('app.yaml');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('mcp.fx.allowedTools');
    expect(error.issues[0]!.message).toContain('"nope"');
    expect(error.issues[0]!.message).toContain('"files.read"');
    expect(alive(pidOf('fx'))).toBe(false);
  });

  it('calls tools and converts their content', async () => {
    const servers = await open({ fx: stdio('fx', { env: { FIXTURE_VALUE: 'hello from env' } }) });
    expect(await call(servers, 'fx', 'echo', { text: 'hi' })).toEqual([{ type: 'text', text: 'hi' }]);
    expect(await call(servers, 'fx', 'add', { a: 2, b: 3 })).toEqual([{ type: 'text', text: '5' }]);
    expect(await call(servers, 'fx', 'files_read', { path: 'a.txt' })).toEqual([{ type: 'text', text: 'contents of a.txt' }]);
    expect(await call(servers, 'fx', 'getenv', { name: 'FIXTURE_VALUE' })).toEqual([{ type: 'text', text: 'hello from env' }]);
    const image = (await call(servers, 'fx', 'image', {})) as Array<Record<string, unknown>>;
    expect(image).toEqual([
      { type: 'text', text: 'a pixel:' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: expect.any(String) } },
    ]);
    expect(Object.getOwnPropertySymbols(image[1]!)).toEqual([]);
    expect(await call(servers, 'fx', 'resource', {})).toEqual([{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'the notes' } }]);
    // No content, only structuredContent: its JSON.
    const stats = JSON.parse((await call(servers, 'fx', 'stats', {})) as string) as { calls: Record<string, number>; pid: number };
    expect(stats.calls).toMatchObject({ echo: 1, add: 1, 'files.read': 1, stats: 1 });
    expect(stats.pid).toBe(pidOf('fx'));
  });

  it('parses any JSON object and leaves the rest to the server', async () => {
    const servers = await open({ fx: stdio('fx') });
    const echo = tool(servers, 'fx', 'echo');
    expect(echo.parse({ text: 'x', extra: 1 })).toEqual({ text: 'x', extra: 1 });
    expect(() => echo.parse([1])).toThrow('expected a JSON object of arguments for the MCP tool "echo", got an array');
    expect(() => echo.parse('text')).toThrow('got a string');
    expect(() => echo.parse(null)).toThrow('got null');
    // The server's own validation comes back as the tool's error.
    const error = await rejection(call(servers, 'fx', 'echo', { text: 5 }));
    expect(error.message).toMatch(/expected string/);
  });

  it('turns an isError result into a rejection with its text', async () => {
    const servers = await open({ fx: stdio('fx') });
    const error = await rejection(call(servers, 'fx', 'fail', { message: 'the index is missing' }));
    expect(error.message).toBe('the index is missing');
    expect(await call(servers, 'fx', 'echo', { text: 'still fine' })).toEqual([{ type: 'text', text: 'still fine' }]);
  });

  it('stops a slow call promptly when its signal aborts, and the server sees the cancellation', async () => {
    const servers = await open({ fx: stdio('fx') });
    const controller = new AbortController();
    const started = Date.now();
    const running = call(servers, 'fx', 'slow', { ms: 20_000 }, controller.signal);
    await until(() => readLog('fx').some((event) => event.event === 'call' && event.tool === 'slow'));
    controller.abort(new Error('The tool "slow" did not finish within 100 ms and was stopped.'));
    const error = await rejection(running);
    expect(error.message).toContain('did not finish within 100 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
    await until(() => readLog('fx').some((event) => event.event === 'cancelled' && event.tool === 'slow'));
    expect(readLog('fx').some((event) => event.event === 'done')).toBe(false);
    // The server goes on serving.
    expect(await call(servers, 'fx', 'slow', { ms: 10 })).toEqual([{ type: 'text', text: 'slept 10 ms' }]);
  });

  it('reports a command that does not exist, and stops the servers that did start', async () => {
    const error = await openFailure({ good: stdio('good'), nope: { command: 'fanfold-no-such-mcp-server', args: ['--x'] } });
    expect(error.issues).toEqual([{ path: 'mcp.nope', message: 'the MCP server failed to start: the command "fanfold-no-such-mcp-server" was not found on PATH' }]);
    expect(error.message).toContain('Invalid fanfold config in run config');
    await until(() => readLog('good').length > 0);
    expect(alive(pidOf('good'))).toBe(false);
  });

  it('reports a server that exits at start with the last lines of its stderr, scrubbed of env values', async () => {
    const secret = 'hunter2-super-secret-token';
    const error = await openFailure({ broken: stdio('broken', { env: { FIXTURE_SECRET: secret } }, 'fail-start') });
    expect(error.issues).toHaveLength(1);
    const [issue] = error.issues;
    expect(issue!.path).toBe('mcp.broken');
    expect(issue!.message).toMatch(/^the MCP server failed to start: it exited with code 1 before it answered `initialize`; its stderr ended with:\n {4}fixture: noise line 7\n/);
    const lines = issue!.message.split('\n').slice(1);
    expect(lines).toHaveLength(10);
    expect(lines.at(-2)).toBe('    fixture: cannot log in with token [redacted]');
    expect(lines.at(-1)).toBe('    fixture: giving up');
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toContain('hunter2');
  });

  it('gives up on a server that never answers initialize within startTimeoutMs, and kills it', async () => {
    const started = Date.now();
    const error = await openFailure({ mute: stdio('mute', { startTimeoutMs: 400 }, 'hang') });
    expect(error.issues[0]!.path).toBe('mcp.mute');
    expect(error.issues[0]!.message).toMatch(/^the MCP server failed to start: it did not answer `initialize` within 400 ms; its stderr ended with:\n {4}fixture: hanging/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(alive(pidOf('mute'))).toBe(false);
  });

  it('times the start on the given clock, 30 s by default', async () => {
    const asked: number[] = [];
    const clock = {
      setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
        asked.push(ms);
        return setTimeout(fn, 100);
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
    };
    const error = await openFailure({ mute: stdio('mute', {}, 'hang') }, { clock });
    expect(asked).toEqual([30_000]);
    expect(error.issues[0]!.message).toContain('it did not answer `initialize` within 30000 ms');
    expect(alive(pidOf('mute'))).toBe(false);
  });

  it('fails the tools of a server that crashes mid-run, at once, while the others keep working', async () => {
    const servers = await open({ a: stdio('a'), b: stdio('b') });
    const slow = rejection(call(servers, 'a', 'slow', { ms: 20_000 }));
    await until(() => readLog('a').some((event) => event.tool === 'slow'));
    const started = Date.now();
    const crash = await rejection(call(servers, 'a', 'crash', {}));
    expect(crash.message).toMatch(/^MCP server "a" is not running \(exited with code 3\); its stderr ended with:\n/);
    expect(crash.message).toContain('    fixture: crashing on request');
    const inFlight = await slow;
    expect(inFlight.message).toMatch(/^MCP server "a" is not running \(exited with code 3\)/);
    expect(Date.now() - started).toBeLessThan(2_000);
    const later = await rejection(call(servers, 'a', 'echo', { text: 'x' }));
    expect(later.message).toMatch(/^MCP server "a" is not running \(exited with code 3\)/);
    expect(await call(servers, 'b', 'echo', { text: 'b lives' })).toEqual([{ type: 'text', text: 'b lives' }]);
    await servers.close();
  });

  it('close() ends every child process, is idempotent, and later calls fail', async () => {
    const servers = await open({ a: stdio('a'), b: stdio('b') });
    const pids = [pidOf('a'), pidOf('b')];
    expect(pids.every(alive)).toBe(true);
    const first = servers.close();
    const second = servers.close();
    expect(second).toBe(first);
    await first;
    expect(pids.map(alive)).toEqual([false, false]);
    await servers.close();
    const error = await rejection(call(servers, 'a', 'echo', { text: 'x' }));
    expect(error.message).toBe('MCP server "a" is not running (it was stopped)');
  });

  it('close() stops calls in flight', async () => {
    const servers = await open({ a: stdio('a') });
    const slow = rejection(call(servers, 'a', 'slow', { ms: 20_000 }));
    await until(() => readLog('a').some((event) => event.tool === 'slow'));
    await servers.close();
    expect((await slow).message).toBe('MCP server "a" is not running (it was stopped)');
  });

  it('close() kills a child that ignores the end of stdin and SIGTERM', { timeout: 15_000 }, async () => {
    const servers = await open({ stubborn: stdio('stubborn', { env: { MCP_FIXTURE_IGNORE_SIGTERM: '1' } }) });
    const pid = pidOf('stubborn');
    const started = Date.now();
    await servers.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(alive(pid)).toBe(false);
  });

  it('resolves with no servers for an empty map', async () => {
    const servers = await open({});
    expect(servers.names).toEqual([]);
    await servers.close();
  });
});

describe('openMcpServers over Streamable HTTP', () => {
  it('lists and calls tools over a stateful session, and cancels a slow call', async () => {
    const fixture = await httpFixture({ MCP_FIXTURE_LOG: logPath('web') });
    const servers = await open({ web: { url: `${fixture.url}/mcp` } });
    expect(servers.tools('web')!.map((definition) => definition.name)).toEqual(ALL_TOOLS);
    expect(await call(servers, 'web', 'echo', { text: 'over http' })).toEqual([{ type: 'text', text: 'over http' }]);
    expect((await rejection(call(servers, 'web', 'fail', { message: 'http says no' }))).message).toBe('http says no');
    const controller = new AbortController();
    const slow = rejection(call(servers, 'web', 'slow', { ms: 20_000 }, controller.signal));
    await until(() => readLog('web').some((event) => event.tool === 'slow'));
    controller.abort(new Error('stopped by the loop'));
    expect((await slow).message).toBe('stopped by the loop');
    await until(() => readLog('web').some((event) => event.event === 'cancelled'));
    expect(readLog('web').filter((event) => event.event === 'list')).toHaveLength(3);
    await servers.close();
    expect(alive(fixture.pid)).toBe(true);
  });

  it('sends the configured headers', async () => {
    const fixture = await httpFixture({ MCP_FIXTURE_TOKEN: 'right-token-abcdef' });
    const servers = await open({ web: { url: `${fixture.url}/auth`, headers: { authorization: 'Bearer right-token-abcdef' } } });
    expect(await call(servers, 'web', 'add', { a: 1, b: 1 })).toEqual([{ type: 'text', text: '2' }]);
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const error = await openFailure({ web: { url: `http://127.0.0.1:${port}/mcp` } });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('mcp.web');
    expect(error.issues[0]!.message).toMatch(new RegExp(`^the MCP server failed to start: it could not be reached at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
  });

  it('reports an HTTP error status without the header values it was given', async () => {
    const fixture = await httpFixture({ MCP_FIXTURE_TOKEN: 'right-token-abcdef' });
    const secret = 'wrong-but-secret-0123456789';
    const error = await openFailure({ web: { url: `${fixture.url}/auth`, headers: { authorization: `Bearer ${secret}`, 'x-api-key': 'another-secret-value' } } });
    expect(error.issues[0]!.path).toBe('mcp.web');
    expect(error.issues[0]!.message).toMatch(/^the MCP server failed to start: it answered HTTP 401: unauthorized: bad credentials \[redacted\]$/);
    expect(error.message).not.toContain(secret);
    const notFound = await openFailure({ web: { url: `${fixture.url}/elsewhere` } });
    expect(notFound.issues[0]!.message).toBe('the MCP server failed to start: it answered HTTP 404: not found');
  });

  it('fails calls in flight at once when the server dies, then every later call', async () => {
    const fixture = await httpFixture({ MCP_FIXTURE_LOG: logPath('web') });
    const servers = await open({ web: { url: `${fixture.url}/mcp` }, local: stdio('local') });
    const slow = rejection(call(servers, 'web', 'slow', { ms: 20_000 }));
    await until(() => readLog('web').some((event) => event.tool === 'slow'));
    const started = Date.now();
    const crash = rejection(call(servers, 'web', 'crash', {}));
    const [inFlight, crashed] = await Promise.all([slow, crash]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(inFlight.message).toMatch(/^MCP server "web" is not running \(its HTTP session broke: /);
    expect(crashed.message).toMatch(/^MCP server "web" is not running \(its HTTP session broke: /);
    const later = await rejection(call(servers, 'web', 'echo', { text: 'x' }));
    expect(later.message).toMatch(/^MCP server "web" is not running/);
    expect(await call(servers, 'local', 'echo', { text: 'fine' })).toEqual([{ type: 'text', text: 'fine' }]);
  });
});
