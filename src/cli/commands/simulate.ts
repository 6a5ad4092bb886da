/**
 * `fanfold simulate` — runs the simulator as a server until stopped, so any client can point
 * `ANTHROPIC_BASE_URL` at it.
 */
import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ConfigError } from '../../errors.ts';
import { FAULT_TYPES, startSimulator, type FaultRule } from '../../simulator/index.ts';
import { EXIT } from '../exitCodes.ts';
import type { CliIO } from '../io.ts';
import { portOption, positiveIntOption } from '../options.ts';

interface SimulateOptions {
  port: number;
  firstTokenMs?: number;
  tokensPerSecond?: number;
  faults?: string;
  apiKey?: string;
}

/** Registers `simulate` on the program. */
export function simulateCommand(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('simulate')
    .description('Serve the Anthropic Messages API simulator on 127.0.0.1 until stopped (Ctrl-C)')
    .addOption(new Option('--port <port>', 'port to listen on (0: any free port)').default(0).argParser(portOption))
    .addOption(new Option('--first-token-ms <ms>', 'latency before the first token').argParser((value) => (value === '0' ? 0 : positiveIntOption(value))))
    .addOption(new Option('--tokens-per-second <n>', 'streaming speed').argParser(positiveIntOption))
    .option('--faults <file>', 'YAML/JSON list of fault rules, e.g. [{ match: { model: claude-opus-4-7 }, times: 2, fault: { type: overloaded } }]')
    .option('--api-key <key>', 'only accept this key (default: any non-empty key)')
    .action(async (options: SimulateOptions) => {
      const faults = options.faults ? await readFaults(options.faults) : [];
      const simulator = await startSimulator({
        port: options.port,
        faults,
        ...(options.apiKey ? { apiKey: options.apiKey } : {}),
        latency: {
          ...(options.firstTokenMs !== undefined ? { firstTokenMs: options.firstTokenMs } : {}),
          ...(options.tokensPerSecond !== undefined ? { tokensPerSecond: options.tokensPerSecond } : {}),
        },
      });
      io.stdout.write(`fanfold simulator listening on ${simulator.url}\n`);
      io.stdout.write(`Point a client at it:  ANTHROPIC_BASE_URL=${simulator.url} ANTHROPIC_API_KEY=${options.apiKey ? '<the key given with --api-key>' : 'any-key'}\n`);
      const stop = io.onInterrupt(() => {
        stop();
        io.stdout.write(`\nServed ${simulator.requests.length} request${simulator.requests.length === 1 ? '' : 's'}; stopping.\n`);
        void simulator.close().then(() => done(EXIT.done));
      });
    });
}

async function readFaults(path: string): Promise<FaultRule[]> {
  let parsed: unknown;
  try {
    parsed = parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the fault rules: ${(error as Error).message}` }]);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(path, [{ path: '', message: 'expected a list of fault rules' }]);
  const issues = parsed.flatMap((rule: unknown, index) => {
    const type = (rule as { fault?: { type?: unknown } } | null)?.fault?.type;
    return FAULT_TYPES.has(type as FaultRule['fault']['type'])
      ? []
      : [{ path: `[${index}].fault.type`, message: `expected one of ${[...FAULT_TYPES].join(', ')}, got ${JSON.stringify(type ?? null)}` }];
  });
  if (issues.length > 0) throw new ConfigError(path, issues);
  return parsed as FaultRule[];
}
