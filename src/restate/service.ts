/**
 * The Restate service: the lead machine as a virtual object (`fanfold`, one key per run), the
 * chunk service (`fanfoldChunk`) that runs the specialists, the agent service (`fanfoldAgent`)
 * that runs one tool-using specialist's loop with the service's tools, each run's stop signal
 * (`fanfoldStop`) and progress (`fanfoldProgress`), served over HTTP/2 for a Restate server to call. Run as many instances as
 * you like behind one address: chunk calls spread over all of them.
 */
import './polyfill.ts';
import * as restate from '@restatedev/restate-sdk';
import { xstate } from '@restatedev/xstate';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { leadMachine } from '../../machines/lead.ts';
import { leadActor } from '../core/leadActorSlots.ts';
import type { ModelProvider } from '../providers/provider.ts';
import { createChunkService } from './chunkService.ts';
import { createAgentService } from './agentService.ts';
import type { ToolDefinition } from '../tools/tool.ts';
import type { McpServers } from '../tools/mcp.ts';
import type { McpServerConfig } from '../tools/mcpConfig.ts';
import { restateDeadlineTimer } from './deadlineTimer.ts';
import { withJournaledClock } from './invocationClock.ts';
import { createRestateFanOut, DEFAULT_CHUNK_SIZE } from './fanOut.ts';
import { createRestateSpecialist } from './specialist.ts';
import { stopSignalObject } from './stopSignal.ts';
import { progressObject } from './progress.ts';

export { DEFAULT_CHUNK_SIZE } from './fanOut.ts';

/** The lead objects' service name: runs live at `/fanfold/<runId>/…` on the ingress. */
export const LEAD_SERVICE = 'fanfold';

/** Options of {@link createRestateServices}. */
export interface RestateServiceOptions {
  /** Backend for every model call. */
  provider: ModelProvider;
  /** Most specialists one chunk invocation runs. Default {@link DEFAULT_CHUNK_SIZE}. */
  chunkSize?: number;
  /**
   * Code tools (`defineTool`) of tool-using specialists, found by the name a config gives them:
   * a run's config sends only the names. Server tools (`web_search`, `web_fetch`) need nothing.
   */
  tools?: readonly ToolDefinition[];
  /** MCP servers already started (`openMcpServers`), for specialists' MCP tools; the caller stops them. */
  mcp?: McpServers;
}

/**
 * The lead machine with Restate-compatible actors: the fan-out as a promise actor over chunk
 * service calls, the synthesizer as a journaled promise actor, the deadline as a durable timer.
 */
export function createRestateLeadMachine({ provider, chunkSize = DEFAULT_CHUNK_SIZE }: RestateServiceOptions) {
  const chunkService = createChunkService(provider);
  const fanOut = createRestateFanOut({ chunkService, chunkSize });
  const specialist = createRestateSpecialist({ provider });
  // The lead is unchanged: only the implementations behind its actor keys differ.
  const machine = leadMachine.provide({
    actors: { fanOut: leadActor('fanOut', fanOut), specialist: leadActor('specialist', specialist), deadlineTimer: leadActor('deadlineTimer', restateDeadlineTimer) },
  });
  return { machine, chunkService };
}

/**
 * The lead's `startedAt` (and so its `deadlineAt`) from the service's journaled clock, the one
 * its deadline timer runs on, unless the caller gave one.
 */
function withStartedAt(request: unknown, now: number): unknown {
  const input = (request as { input?: Record<string, unknown> } | undefined)?.input;
  if (!input || typeof input !== 'object' || input['startedAt'] !== undefined) return request;
  return { ...(request as object), input: { ...input, startedAt: now } };
}

/** What the lead's `create` and `send` answer: where the run is, not its whole snapshot (`snapshot` and `waitFor` give that). */
function statusOnly(result: unknown): unknown {
  const { status, value } = (result ?? {}) as { status?: unknown; value?: unknown };
  return { status, value };
}

/** The virtual objects to bind to a Restate endpoint. */
export function createRestateServices(options: RestateServiceOptions) {
  const { machine, chunkService } = createRestateLeadMachine(options);
  const agentService = createAgentService({ provider: options.provider, tools: options.tools ?? [], mcp: options.mcp ?? null });
  return [
    withJournaledClock(xstate(LEAD_SERVICE, machine), { stampCreate: withStartedAt, lazyState: true, answer: statusOnly, refuseExisting: true }),
    chunkService,
    agentService,
    stopSignalObject,
    progressObject,
  ] as const;
}

/** Options of {@link serveRestate}. */
export interface ServeRestateOptions extends RestateServiceOptions {
  /** Port; default 9080 (0: any free port). */
  port?: number;
  /** Interface; default `127.0.0.1`. */
  host?: string;
  /** MCP servers to start for specialists' MCP tools (as a config's `mcp`), stopped by `close()`. */
  mcpServers?: Record<string, McpServerConfig>;
}

/** A running service endpoint. */
export interface RestateServiceHandle {
  /** Where the Restate server should reach it: register this with the admin API. */
  url: string;
  close(): Promise<void>;
}

/**
 * The SDK's default logger, quieter: the xstate adapter logs every relayed event at `info`.
 * `RESTATE_LOGGING` still chooses the level when set.
 */
const quietLogger: restate.LoggerTransport = (meta, message, ...rest) => {
  if (meta.replaying) return;
  const order = ['trace', 'debug', 'info', 'warn', 'error'];
  const wanted = order.indexOf((process.env['RESTATE_LOGGING'] ?? 'warn').toLowerCase());
  if (order.indexOf(meta.level) < (wanted < 0 ? 3 : wanted)) return;
  // "Not created yet" (404) is an expected answer, e.g. to the client's check before `create`.
  if (rest.some((arg) => arg instanceof restate.TerminalError && arg.code === 404)) return;
  console.error(`[restate ${meta.context?.invocationTarget ?? ''}] ${meta.level.toUpperCase()}:`, message, ...rest);
};

/**
 * Serves the fanfold services on HTTP/2 for a Restate server.
 *
 * @example
 * const service = await serveRestate({ provider, port: 9080 });
 * // curl http://127.0.0.1:9070/deployments --json '{"uri":"http://127.0.0.1:9080"}'
 */
export async function serveRestate(options: ServeRestateOptions): Promise<RestateServiceHandle> {
  // Loaded only when asked for: a service without MCP servers never loads the MCP client.
  const started =
    options.mcpServers && Object.keys(options.mcpServers).length > 0 ? await (await import('../tools/mcp.ts')).openMcpServers(options.mcpServers, { source: 'serveRestate mcpServers' }) : null;
  let endpoint = restate.endpoint().setLogger(quietLogger);
  for (const service of createRestateServices(started ? { ...options, mcp: started } : options)) endpoint = endpoint.bind(service);
  const server = http2.createServer(endpoint.http2Handler());
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 9080, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await started?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => void (started ? started.close() : Promise.resolve()).then(() => resolve()));
      }),
  };
}
