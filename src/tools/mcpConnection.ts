/**
 * One MCP server of a run, over the official SDK's `Client`: started (a child process over
 * stdio, or a Streamable HTTP session), its tools listed once, then called until it is closed
 * or dies.
 *
 * - Starting is bounded by `startTimeoutMs`; any failure closes what was started and throws an
 *   {@link McpStartError} whose message says why (the command was not found, it exited, it never
 *   answered `initialize`, HTTP refused or answered 4xx/5xx…) with, for stdio, the tail of its
 *   stderr.
 * - A server that dies mid-run (its process exits, its HTTP session breaks) fails its calls in
 *   flight at once and every later call with `MCP server "<name>" is not running (…)`.
 * - `close()` ends a stdio child (stdin closed, then SIGTERM after 2 s, then SIGKILL), in
 *   whatever state it is, and never rejects.
 * - Text made from what a server did is scrubbed of its `env` / `headers` values first.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Clock } from '../clock.ts';
import { isStdioServer, type McpServerConfig } from './mcpConfig.ts';
import { assignToolNames } from './mcpNames.ts';
import { FanfoldError } from '../errors.ts';
import { createRedactor, longestSecret, type Redactor } from './mcpRedact.ts';
import { StderrTail } from './mcpStderr.ts';
import { mcpToolDefinition, type McpToolDefinition } from './mcpToolDefinition.ts';

/** The default of `startTimeoutMs`. */
export const DEFAULT_START_TIMEOUT_MS = 30_000;
/** How long a stdio child has to exit after its stdin is closed, before SIGTERM (and 1 s later SIGKILL). */
export const STOP_GRACE_MS = 2_000;
/**
 * The SDK's own request timeout, set as far out as a timer goes (~24.8 days): the tool loop owns
 * call timeouts (it aborts the call's signal), and starting has its own timer.
 */
const NO_TIMEOUT = 2_147_483_647;
const PING_TIMEOUT_MS = 5_000;

/** What starting a server needs. */
export interface ConnectOptions {
  clientName: string;
  clientVersion: string;
  /** Times `startTimeoutMs`. */
  clock: Clock;
}

/** A server did not start (code `config`): the config path to blame and what a person reads. Already scrubbed. */
export class McpStartError extends FanfoldError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('config', message);
    this.name = 'McpStartError';
    this.path = path;
  }
}

/** A started server. */
export interface McpConnection {
  readonly name: string;
  /** Its tools (after `allowedTools`), in the server's order. */
  readonly tools: readonly McpToolDefinition[];
  /** Stops it; idempotent, never rejects. */
  close(): Promise<void>;
}

/**
 * Starts the server `name` and lists its tools; rejects with an {@link McpStartError}.
 *
 * @example
 * const github = await connectMcpServer('github', { command: 'github-mcp' }, { clientName: 'fanfold', clientVersion: '0.1.0', clock: systemClock });
 * github.tools.map((tool) => tool.name);
 * await github.close();
 */
export async function connectMcpServer(name: string, config: McpServerConfig, options: ConnectOptions): Promise<McpConnection> {
  let connection: Connection;
  try {
    connection = new Connection(name, config, options);
  } catch (error) {
    // A config the schema would have refused (a URL that does not parse, say).
    const secrets = Object.values((isStdioServer(config) ? config.env : config.headers) ?? {});
    throw new McpStartError(`mcp.${name}`, `the MCP server failed to start: ${createRedactor(secrets)(messageOf(error))}`);
  }
  await connection.start(config.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, options.clock);
  return connection;
}

class StartTimeout extends Error {}
class Died extends Error {}
class AllowedToolsError extends Error {}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function describeExit(exit: Exit): string {
  return exit.code !== null ? `exited with code ${exit.code}` : `exited on signal ${exit.signal ?? 'unknown'}`;
}

function quoteList(names: readonly string[], max = 20): string {
  const shown = names
    .slice(0, max)
    .map((name) => JSON.stringify(name))
    .join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed|terminated|network|socket/i.test(error.message);
}

/** A transport error that may mean the HTTP session is gone (checked with a ping before believing it). */
function isStreamBreak(error: unknown): boolean {
  if (isNetworkError(error) || (error instanceof StreamableHTTPError && error.code === 404)) return true;
  return error instanceof Error && /^(SSE stream disconnected|Failed to reconnect SSE stream|Maximum reconnection attempts)/.test(error.message);
}

/** A call failure that means the HTTP session is gone. */
function isSessionBreak(error: unknown): boolean {
  return isNetworkError(error) || (error instanceof StreamableHTTPError && error.code === 404);
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof McpError && error.code === ErrorCode.ConnectionClosed;
}

/** Resolves after `promise` settles or `ms` pass, whichever comes first. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

class Connection implements McpConnection {
  tools: readonly McpToolDefinition[] = [];
  private state: 'starting' | 'running' | 'dead' = 'starting';
  private deadReason = '';
  /** Aborted when the server dies or is closed: calls in flight reject at once. */
  private readonly death = new AbortController();
  private readonly client: Client;
  private readonly stdio: StdioClientTransport | null = null;
  private readonly http: StreamableHTTPClientTransport | null = null;
  private readonly stderr: StderrTail | null = null;
  private readonly redact: Redactor;
  private child: ChildProcess | null = null;
  private exit: Exit | null = null;
  private readonly exitWaiters = new Set<() => void>();
  private phase: 'initialize' | 'list' = 'initialize';
  private lastError: unknown = null;
  private closing: Promise<void> | null = null;
  private probing = false;

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    options: ConnectOptions,
  ) {
    const secrets = Object.values((isStdioServer(config) ? config.env : config.headers) ?? {});
    this.redact = createRedactor(secrets);
    this.client = new Client({ name: options.clientName, version: options.clientVersion });
    this.client.onerror = (error) => this.onTransportError(error);
    this.client.onclose = () => {
      if (this.closing === null) this.die(this.exit ? describeExit(this.exit) : 'its connection closed');
    };
    if (isStdioServer(config)) {
      const transport = new StdioClientTransport({
        command: config.command,
        args: config.args ?? [],
        // Never logged: it may hold credentials.
        env: { ...getDefaultEnvironment(), ...config.env },
        ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
        stderr: 'pipe',
      });
      this.stderr = new StderrTail(longestSecret(secrets));
      // A PassThrough that exists before the process: nothing it writes early is lost.
      this.stderr.attach(transport.stderr as Readable);
      const start = transport.start.bind(transport);
      transport.start = () => {
        const started = start();
        // The SDK keeps the child private; it is spawned synchronously inside start(). Its exit
        // code, and killing it if it will not stop, need it.
        this.watch((transport as unknown as { _process?: ChildProcess })._process);
        return started;
      };
      this.stdio = transport;
    } else {
      this.http = new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: { ...config.headers } } });
    }
  }

  private watch(child: ChildProcess | undefined): void {
    if (!child) return;
    this.child = child;
    child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      for (const wake of this.exitWaiters) wake();
      this.exitWaiters.clear();
      if (this.closing === null) this.die(describeExit(this.exit));
    });
  }

  private die(reason: string): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.deadReason = reason;
    this.death.abort();
  }

  /** Resolves `true` once the child has exited, `false` after `ms`. */
  private exited(ms: number): Promise<boolean> {
    if (this.exit) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.exitWaiters.delete(wake);
        resolve(false);
      }, ms);
      this.exitWaiters.add(wake);
    });
  }

  private childAlive(): boolean {
    const child = this.child;
    return child !== null && child.pid !== undefined && this.exit === null && child.exitCode === null && child.signalCode === null;
  }

  private onTransportError(error: Error): void {
    this.lastError = error;
    if (this.http && this.state === 'running' && this.closing === null && isStreamBreak(error)) this.probe();
  }

  /** A stream of the HTTP session broke: a ping tells a dead server from a hiccup. */
  private probe(): void {
    if (this.probing) return;
    this.probing = true;
    this.client.ping({ timeout: PING_TIMEOUT_MS }).then(
      () => {
        this.probing = false;
      },
      (error: unknown) => {
        this.probing = false;
        if (this.state === 'running' && this.closing === null) this.breakSession(error);
      },
    );
  }

  private breakSession(error: unknown): void {
    const ended = error instanceof StreamableHTTPError && error.code === 404;
    this.die(`its HTTP session ${ended ? 'ended' : 'broke'}: ${this.describeHttpError(error)}`);
    void this.client.close().catch(() => {});
  }

  private describeHttpError(error: unknown): string {
    if (error instanceof StreamableHTTPError) {
      const body = error.message
        .replace(/^Streamable HTTP error: /, '')
        .replace(/^Error POSTing to endpoint: /, '')
        .replace(/\s+/g, ' ')
        .trim();
      const cut = body.length > 300 ? `${body.slice(0, 300)}…` : body;
      return `it answered HTTP ${error.code ?? '?'}${cut !== '' && cut !== 'null' ? `: ${cut}` : ''}`;
    }
    if (isNetworkError(error)) {
      const cause = (error as { cause?: unknown }).cause;
      const detail = cause instanceof Error ? cause.message || (cause as NodeJS.ErrnoException).code || cause.name : '';
      const origin = this.http ? new URL((this.config as { url: string }).url).origin : '';
      return `it could not be reached at ${origin} (${detail || messageOf(error)})`;
    }
    return messageOf(error);
  }

  private async notRunning(): Promise<Error> {
    const stopped = this.deadReason === 'it was stopped';
    if (this.stderr && !stopped && this.exit) await this.stderr.settled(250);
    const tail = this.stderr && !stopped ? this.stderr.suffix(this.redact) : '';
    return new FanfoldError('tool', `${this.redact(`MCP server "${this.name}" is not running (${this.deadReason})`)}${tail}`);
  }

  /** Calls the tool `tool` (its MCP name). */
  async call(tool: string, input: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    if (this.state !== 'running') throw await this.notRunning();
    const death = this.death.signal;
    let onDeath = () => {};
    const died = new Promise<never>((_, reject) => {
      onDeath = () => reject(new Died());
      death.addEventListener('abort', onDeath, { once: true });
    });
    try {
      const calling = this.client.callTool({ name: tool, arguments: input }, undefined, { signal, timeout: NO_TIMEOUT, resetTimeoutOnProgress: true });
      return (await Promise.race([calling, died])) as CallToolResult;
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new FanfoldError('tool', 'the call was cancelled');
      if (this.http && this.state === 'running' && isSessionBreak(error)) this.breakSession(error);
      if (this.state === 'running' && isConnectionClosed(error)) this.die(this.exit ? describeExit(this.exit) : 'its connection closed');
      if (this.state !== 'running') throw await this.notRunning();
      throw new FanfoldError('tool', this.redact(this.http ? this.describeHttpError(error) : messageOf(error)));
    } finally {
      death.removeEventListener('abort', onDeath);
    }
  }

  /** Connects and lists the tools within `ms`; on failure closes everything and throws an {@link McpStartError}. */
  async start(ms: number, clock: Clock): Promise<void> {
    const controller = new AbortController();
    let timer: unknown = null;
    const timedOut = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(new StartTimeout()), ms);
    });
    const died = new Promise<never>((_, reject) => {
      if (this.death.signal.aborted) reject(new Died());
      else this.death.signal.addEventListener('abort', () => reject(new Died()), { once: true });
    });
    let failed: { error: unknown } | null = null;
    const establishing = this.establish(controller.signal).catch((error: unknown) => {
      failed = { error };
      throw error;
    });
    try {
      await Promise.race([establishing, timedOut, died]);
    } catch (caught) {
      let error = caught;
      // The connection closing (the SDK closes it when `initialize` fails) can come first: the
      // request's own error says more.
      if (error instanceof Died) {
        await within(establishing, 200);
        error = (failed as { error: unknown } | null)?.error ?? error;
      }
      controller.abort();
      let path = `mcp.${this.name}`;
      let message: string;
      if (error instanceof AllowedToolsError) {
        path = `mcp.${this.name}.allowedTools`;
        message = this.redact(error.message);
        await this.close();
      } else {
        // Decided before closing: closing makes the child exit in its own way.
        const reason = this.redact(await this.startFailure(error, ms));
        await this.close();
        message = `the MCP server failed to start: ${reason}${this.stderr ? this.stderr.suffix(this.redact) : ''}`;
      }
      throw new McpStartError(path, message);
    } finally {
      if (timer !== null) clock.clearTimeout(timer);
    }
  }

  private async establish(signal: AbortSignal): Promise<void> {
    this.phase = 'initialize';
    await this.client.connect(this.stdio ?? this.http!, { signal, timeout: NO_TIMEOUT });
    this.phase = 'list';
    const listed = await this.listTools(signal);
    const tools = this.definitions(listed);
    if (this.state !== 'starting') throw new Died();
    this.tools = Object.freeze(tools);
    this.state = 'running';
  }

  /** Every page of `tools/list`. */
  private async listTools(signal: AbortSignal): Promise<Tool[]> {
    const tools: Tool[] = [];
    const cursors = new Set<string>();
    let cursor: string | undefined;
    for (;;) {
      const page = await this.client.listTools(cursor === undefined ? undefined : { cursor }, { signal, timeout: NO_TIMEOUT });
      tools.push(...page.tools);
      if (page.nextCursor === undefined || page.nextCursor === '') return tools;
      if (cursors.has(page.nextCursor) || cursors.size >= 1_000) throw new FanfoldError('tool', `its tools/list pages did not end (cursor ${JSON.stringify(page.nextCursor)} again)`);
      cursors.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  private definitions(listed: readonly Tool[]): McpToolDefinition[] {
    const seen = new Set<string>();
    const unique = listed.filter((tool) => !seen.has(tool.name) && seen.add(tool.name));
    const names = assignToolNames(unique.map((tool) => tool.name));
    let picked = unique.map((tool, index) => ({ tool, name: names[index]! }));
    const allowed = this.config.allowedTools;
    if (allowed) {
      const unknown = allowed.filter((entry) => !picked.some(({ tool, name }) => tool.name === entry || name === entry));
      if (unknown.length > 0) {
        const has = unique.length > 0 ? `its tools are ${quoteList(unique.map((tool) => tool.name))}` : 'it has no tools';
        throw new AllowedToolsError(`allowedTools names ${unknown.length === 1 ? 'a tool' : 'tools'} the MCP server does not have: ${quoteList(unknown)} (${has})`);
      }
      const wanted = new Set(allowed);
      picked = picked.filter(({ tool, name }) => wanted.has(tool.name) || wanted.has(name));
    }
    return picked.map(({ tool, name }) => mcpToolDefinition(this.name, tool, name, (original, input, signal) => this.call(original, input, signal), this.redact));
  }

  /** Why starting failed, in words (not yet scrubbed). */
  private async startFailure(error: unknown, ms: number): Promise<string> {
    const before = this.phase === 'initialize' ? 'before it answered `initialize`' : 'before it listed its tools';
    if (error instanceof StartTimeout) {
      const what = this.phase === 'initialize' ? `it did not answer \`initialize\` within ${ms} ms` : `it did not list its tools within ${ms} ms`;
      return this.lastError ? `${what} (the last error: ${messageOf(this.lastError)})` : what;
    }
    if (this.stdio) {
      const config = this.config as { command: string; cwd?: string };
      const spawn = error as NodeJS.ErrnoException;
      if (typeof spawn.syscall === 'string' && spawn.syscall.startsWith('spawn')) {
        if (spawn.code === 'ENOENT' && config.cwd !== undefined && !existsSync(config.cwd)) return `its working directory ${JSON.stringify(config.cwd)} does not exist`;
        if (spawn.code === 'ENOENT') return `the command ${JSON.stringify(config.command)} was not found${config.command.includes('/') ? '' : ' on PATH'}`;
        if (spawn.code === 'EACCES') return `the command ${JSON.stringify(config.command)} is not executable`;
        return `the command ${JSON.stringify(config.command)} could not be started: ${messageOf(error)}`;
      }
      if (this.exit || error instanceof Died || isConnectionClosed(error)) {
        if (await this.exited(500)) return `it ${describeExit(this.exit!)} ${before}`;
        return `its connection closed ${before}`;
      }
    } else if (error instanceof StreamableHTTPError || isNetworkError(error)) {
      return this.describeHttpError(error);
    }
    return `${this.phase === 'initialize' ? '`initialize`' : 'listing its tools'} failed: ${messageOf(error)}`;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown().catch(() => {});
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.die('it was stopped');
    if (this.stdio) {
      // Ends its stdin, the polite way to ask a stdio server to stop.
      const closed = this.client.close().catch(() => {});
      if (this.childAlive() && !(await this.exited(STOP_GRACE_MS))) {
        this.kill('SIGTERM');
        if (!(await this.exited(1_000))) {
          this.kill('SIGKILL');
          await this.exited(2_000);
        }
      }
      await within(closed, 500);
    } else if (this.http) {
      await within(this.http.terminateSession(), 1_000);
      await within(this.client.close(), 1_000);
    }
  }

  private kill(signal: NodeJS.Signals): void {
    try {
      this.child?.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
