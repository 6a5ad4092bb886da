/**
 * Tools from the command line: app files with `tools` and `mcp`, and the research preset's web
 * tools, run as a user runs them (the built bin in a child process) against a simulator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { runNode, type ProcessRun } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
const FIXTURE = join(import.meta.dirname, 'fixtures', 'mcp-server.mjs');
const KEY = 'sk-ant-cli-tools-test-key-do-not-print';

function fanfold(args: string[], env: Record<string, string> = {}): Promise<ProcessRun> {
  return runNode([BIN, ...args], env);
}

let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A simulator the CLI calls as if it were the real API (a key and a base URL are set). */
async function simulator(): Promise<{ server: Simulator; env: Record<string, string> }> {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity } });
  return { server: sim, env: { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: sim.url } };
}

async function tempFile(name: string, text: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'fanfold-cli-tools-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('fanfold CLI with tools', () => {
  it('an app file with an unknown tool exits 2, naming the path, and makes no request', async () => {
    const { server, env } = await simulator();
    const file = await tempFile(
      'app.yaml',
      [
        'task: tidal power',
        'mcp:',
        '  docs: { command: node, args: [server.js] }',
        'agents:',
        '  - { id: scout, tools: [web_search, web_serach] }',
        '  - { id: reader, tools: [docs.read, wiki] }',
        '  - { id: writer, tools: [{ module: ./missing-tools.js, export: lookup }] }',
        'lead: { specialists: [scout, reader, writer] }',
      ].join('\n'),
    );
    const { code, stderr, stdout } = await fanfold(['run', file, '--no-checkpoint'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Invalid fanfold config in ${file}:`);
    expect(stderr).toContain('- agents[0].tools[1]: expected "web_search", "web_fetch", an MCP server of `mcp` ("docs") or "<server>.<tool>", or a tool made with defineTool, got "web_serach"');
    expect(stderr).toContain('- agents[1].tools[1]: expected "web_search", "web_fetch", an MCP server of `mcp` ("docs") or "<server>.<tool>", or a tool made with defineTool, got "wiki"');
    expect(stderr).toMatch(/- agents\[2\]\.tools\[0\]\.module: cannot import \.\/missing-tools\.js/);
    expect(server.requests).toHaveLength(0);
  });

  it("an MCP server that fails to start exits 2 with its name and stderr's last lines, and makes no request", async () => {
    const { server, env } = await simulator();
    const file = await tempFile(
      'app.yaml',
      [
        'task: tidal power',
        'mcp:',
        `  broken: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE)}, fail-start], env: { FIXTURE_SECRET: sk-ant-never-show-this-0123456789 } }`,
        'agents:',
        '  - { id: scout, tools: [broken] }',
        'lead: { specialists: [scout] }',
      ].join('\n'),
    );
    const { code, stderr } = await fanfold(['run', file, '--no-checkpoint'], env);
    expect(code).toBe(2);
    expect(stderr).toMatch(/- mcp\.broken: the MCP server failed to start: it exited with code 1 before it answered `initialize`; its stderr ended with:\n {4}fixture: /);
    expect(stderr).toContain('fixture: giving up');
    expect(stderr).not.toContain('sk-ant-never-show-this-0123456789');
    expect(server.requests).toHaveLength(0);
  });
});
