/**
 * `--otlp` and `OTEL_EXPORTER_OTLP_ENDPOINT`: the built command (a child process) runs the
 * research preset against the simulator and sends its spans over OTLP/HTTP (JSON) to a receiver
 * this test starts on loopback; what arrives is parsed and checked — names, parent links, the
 * service, headers — after a done run, a Ctrl-C, and with a collector that is not there.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../src/simulator/index.ts';
import { runNode } from './support.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'fanfold.js');
const KEY = 'sk-ant-otlp-cli-test-key-do-not-print';

/** A span as OTLP/JSON writes it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
  events?: Array<{ name: string }>;
}

/** A loopback OTLP/HTTP receiver: every request's path, headers and spans. */
interface Receiver {
  url: string;
  requests: Array<{ path: string; headers: IncomingHttpHeaders; body: string }>;
  spans(): OtlpSpan[];
  serviceNames(): string[];
  close(): Promise<void>;
}

let sim: Simulator | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  receiver = undefined;
});

async function simulator(options: SimulatorOptions = {}): Promise<Record<string, string>> {
  sim = await startSimulator({ latency: { firstTokenMs: 0, tokensPerSecond: Infinity }, ...options });
  return { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: sim.url };
}

async function startReceiver(): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', headers: request.headers, body });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver = server;
  const payloads = () =>
    requests.map(
      (request) => JSON.parse(request.body) as { resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }> }> },
    );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    spans: () => payloads().flatMap((payload) => payload.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))),
    serviceNames: () =>
      [
        ...new Set(payloads().flatMap((payload) => payload.resourceSpans.map((resource) => resource.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value['stringValue']))),
      ] as string[],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value ? (value['stringValue'] ?? value['intValue'] ?? value['boolValue'] ?? value['arrayValue']) : undefined;
};

/** One root, every other span's parent among those that arrived, all in its trace. */
function expectOneTree(spans: OtlpSpan[]): OtlpSpan {
  const ids = new Set(spans.map((span) => span.spanId));
  const roots = spans.filter((span) => !span.parentSpanId);
  expect(roots.map((span) => span.name)).toEqual(['invoke_agent fanfold']);
  for (const span of spans) {
    expect(span.traceId).toBe(roots[0]!.traceId);
    if (span.parentSpanId) expect(ids.has(span.parentSpanId), `parent of ${span.name}`).toBe(true);
  }
  return roots[0]!;
}

describe('what importing fanfold loads', () => {
  it('@opentelemetry/api, and no SDK or exporter (the CLI imports those only for --otlp)', async () => {
    const index = join(import.meta.dirname, '..', 'dist', 'src', 'index.js');
    // A resolve hook that prints every @opentelemetry package the import graph asks for.
    const hook = 'export async function resolve(specifier, context, next) { if (specifier.startsWith("@opentelemetry/")) console.log(specifier); return next(specifier, context); }';
    const script = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)})); await import(${JSON.stringify(index)});`;
    const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect([...new Set(stdout.trim().split('\n'))]).toEqual(['@opentelemetry/api']);
  });
});

describe('fanfold --otlp', () => {
  it("research: the run's spans reach the collector before exit — names, parents, service, headers; no key anywhere", async () => {
    const env = await simulator();
    const collector = await startReceiver();
    const { code, stdout, stderr } = await runNode([BIN, 'research', 'tidal power', '--json', '--no-checkpoint', '--otlp', collector.url], {
      ...env,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=abc%20123',
    });
    expect(code).toBe(0);
    expect(stderr).toContain(`Tracing: the run's spans go to ${collector.url}/v1/traces (OTLP/HTTP).`);
    const result = JSON.parse(stdout) as { status: string; modelCalls: number };
    expect(result.status).toBe('done');

    expect(collector.requests.length).toBeGreaterThan(0);
    for (const request of collector.requests) {
      expect(request.path).toBe('/v1/traces');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-collector-token']).toBe('abc 123');
    }
    expect(collector.serviceNames()).toEqual(['fanfold']);
    const spans = collector.spans();
    const root = expectOneTree(spans);
    expect(attribute(root, 'fanfold.status')).toBe('done');
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const agents = spans
      .filter((span) => span.parentSpanId === root.spanId)
      .map((span) => span.name)
      .sort();
    expect(agents).toEqual(['invoke_agent historical', 'invoke_agent societal', 'invoke_agent synthesizer', 'invoke_agent technical']);
    const chats = spans.filter((span) => attribute(span, 'gen_ai.operation.name') === 'chat');
    expect(chats).toHaveLength(result.modelCalls);
    for (const chat of chats) expect(byId.get(chat.parentSpanId!)!.name).toMatch(/^invoke_agent /);
    const tools = spans.filter((span) => span.name.startsWith('execute_tool '));
    expect(tools.length).toBeGreaterThanOrEqual(3);
    for (const tool of tools) expect(byId.get(tool.parentSpanId!)!.name).toMatch(/^chat /);
    for (const text of [stdout, stderr, ...collector.requests.map((request) => request.body)]) expect(text).not.toContain(KEY);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT without the flag; OTEL_SERVICE_NAME names the service', async () => {
    const env = await simulator();
    const collector = await startReceiver();
    const { code } = await runNode([BIN, 'research', 'tidal power', '--quiet', '--no-tools', '--no-checkpoint'], {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`,
      OTEL_SERVICE_NAME: 'research-bot',
    });
    expect(code).toBe(0);
    expect(collector.requests.map((request) => request.path)).toContain('/v1/traces');
    expect(collector.serviceNames()).toEqual(['research-bot']);
    // No tools: the run, three specialists and the synthesizer, a chat each.
    expect(collector.spans()).toHaveLength(9);
    expectOneTree(collector.spans());
  });

  it("Ctrl-C: the cancelled run's spans, every one ended, are flushed before the exit", async () => {
    const env = await simulator({ faults: [{ match: { caller: /technical|societal/ }, fault: { type: 'hang' } }] });
    const collector = await startReceiver();
    const { code, stderr } = await runNode([BIN, 'research', 'x', '--quiet', '--no-tools', '--no-checkpoint', '--otlp', collector.url], env, (child) => {
      void sim!.waitFor((request) => request.caller === 'historical', 'ended').then(() => sim!.waitFor((request) => request.caller === 'societal').then(() => child.kill('SIGINT')));
    });
    expect(code).toBe(130);
    expect(stderr).toContain('Interrupted');
    const spans = collector.spans();
    const root = expectOneTree(spans);
    expect(attribute(root, 'fanfold.status')).toBe('cancelled');
    expect(root.status?.code).toBe(2);
    const agent = (name: string) => spans.find((span) => span.name === `invoke_agent ${name}`)!;
    expect(attribute(agent('historical'), 'fanfold.status')).toBe('fulfilled');
    for (const name of ['technical', 'societal']) {
      expect(attribute(agent(name), 'fanfold.status')).toBe('skipped');
      expect(agent(name).events?.map((event) => event.name)).toEqual(['fanfold.cancelled']);
    }
    // Their calls in flight ended with them, cancelled.
    const cut = spans.filter((span) => attribute(span, 'gen_ai.operation.name') === 'chat' && attribute(span, 'error.type') === 'cancelled');
    expect(cut).toHaveLength(2);
  });

  it("a collector that is not there: a warning naming it, no key, and the run's own exit code", async () => {
    const env = await simulator();
    const collector = await startReceiver();
    const gone = collector.url;
    await collector.close();
    receiver = undefined;
    // The exporter retries a collector that is down until its timeout: a short one keeps this quick.
    const { code, stdout, stderr } = await runNode([BIN, 'research', 'tidal power', '--quiet', '--no-tools', '--no-checkpoint', '--otlp', `${gone}/v1/traces`], {
      ...env,
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
    });
    expect(code).toBe(0);
    expect(stdout).toContain('Historical context');
    expect(stderr).toMatch(new RegExp(`warning: could not export the run's spans to ${gone.replace(/[.]/g, '\\.')}/v1/traces: `));
    expect(stderr).not.toContain(KEY);
  });

  it('a bad endpoint is a usage error before anything runs', async () => {
    const env = await simulator();
    const flag = await runNode([BIN, 'research', 'x', '--otlp', 'localhost:4318'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--otlp <url>' argument 'localhost:4318' is invalid. expected an http(s) URL such as http://localhost:4318, got \"localhost:4318\"");
    const variable = await runNode([BIN, 'research', 'x', '--no-checkpoint'], { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
    expect(variable.code).toBe(2);
    expect(variable.stderr).toContain('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://localhost:4318, got "collector:4318"');
    expect(sim!.count()).toBe(0);
  });
});
